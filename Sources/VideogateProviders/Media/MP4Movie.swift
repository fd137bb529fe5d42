import Foundation

/// What an MP4 or QuickTime file's own boxes say about it, read in Swift without running a tool:
/// the movie's duration and, per track, its handler, sample entry (codec), frame size and sample count.
///
/// Only the box headers at the top level are read from the file, with one seek each, and then the
/// whole `moov` box (at most `maxMovieBoxBytes`). Sample data (`mdat`) is never read.
/// ISO/IEC 14496-12 gives the box layouts used here.
struct MP4Movie: Equatable {
    /// One `trak` box.
    struct Track: Equatable {
        /// `hdlr`'s handler type: `vide`, `soun`, `text`, ...
        var handler: String
        /// The first `stsd` entry's four-character code (`avc1`, `hvc1`, `mp4a`, ...), nil when absent.
        var sampleEntry: String?
        /// Width and height from the visual sample entry (zero when the entry is not visual).
        var width: Int
        var height: Int
        /// `mdhd`'s timescale and duration.
        var timescale: UInt32
        var duration: UInt64
        /// `stsz`'s sample count.
        var sampleCount: UInt32
        /// The end of the furthest chunk's first byte, from `stco`/`co64` (0 without chunks).
        var lastChunkOffset: UInt64
    }

    /// `mvhd`'s timescale and duration.
    var timescale: UInt32
    var duration: UInt64
    /// True when the movie carries `mvex` (a fragmented MP4: samples live in `moof` boxes).
    var fragmented: Bool
    var tracks: [Track]
    /// Size of the file in bytes.
    var fileSize: UInt64

    /// Largest `moov` box read into memory (a normal one is a few kilobytes per minute of video).
    static let maxMovieBoxBytes = 32 << 20
    /// Most boxes walked at the top level (a fragmented file has two per fragment).
    static let maxTopLevelBoxes = 4_096

    /// Why a file could not be read as an MP4 movie.
    enum ReadError: Error, Equatable {
        /// The file could not be opened or read.
        case io(String)
        /// The boxes are not a well-formed MP4 (cut short, sizes that do not add up, no `moov`).
        case malformed(String)
    }

    /// The duration of the movie in seconds: `mvhd`'s, else the longest track's; nil when neither is set.
    var durationSeconds: Double? {
        if timescale > 0, duration > 0 { return Double(duration) / Double(timescale) }
        let longest = tracks.compactMap { $0.timescale > 0 && $0.duration > 0 ? Double($0.duration) / Double($0.timescale) : nil }.max()
        return longest
    }

    /// Reads the movie box of the file at `url`.
    static func read(_ url: URL) throws(ReadError) -> MP4Movie {
        let (movie, fileSize) = try movieBox(of: url)
        return try parse(movie: movie, fileSize: fileSize)
    }

    /// The body of the file's `moov` box and the file's size, walking the top-level box headers.
    static func movieBox(of url: URL) throws(ReadError) -> (body: [UInt8], fileSize: UInt64) {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io("cannot open \(url.lastPathComponent) (errno \(errno))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .io("cannot stat \(url.lastPathComponent) (errno \(errno))") }
        let fileSize = UInt64(status.st_size)
        var offset: UInt64 = 0
        var movie: [UInt8]?
        var boxes = 0
        while offset < fileSize {
            boxes += 1
            // A normal file has a handful; thousands of tiny ones would cost a read each.
            guard boxes <= maxTopLevelBoxes else { throw .malformed("more than \(maxTopLevelBoxes) boxes at the top level") }
            let header = try readBytes(descriptor, at: offset, count: Int(min(16, fileSize - offset)))
            guard header.count >= 8 else { throw .malformed("a box header is cut short at byte \(offset)") }
            var size = UInt64(BoxReader.uint32(header, 0))
            let type = BoxReader.fourCC(header, 4)
            var headerSize: UInt64 = 8
            if size == 1 {
                guard header.count >= 16 else { throw .malformed("a large box header is cut short at byte \(offset)") }
                size = BoxReader.uint64(header, 8)
                headerSize = 16
            } else if size == 0 {
                size = fileSize - offset
            }
            guard size >= headerSize, size <= fileSize - offset else {
                throw .malformed("box \(type) at byte \(offset) claims \(size) bytes, beyond the end of the file")
            }
            if type == "moov" {
                guard movie == nil else { throw .malformed("two moov boxes") }
                let bodySize = size - headerSize
                guard bodySize <= UInt64(maxMovieBoxBytes) else { throw .malformed("the moov box is larger than \(maxMovieBoxBytes) bytes") }
                movie = try readBytes(descriptor, at: offset + headerSize, count: Int(bodySize))
            }
            offset += size
        }
        guard let movie else { throw .malformed("no moov box") }
        return (movie, fileSize)
    }

    /// Parses the body of a `moov` box.
    static func parse(movie: [UInt8], fileSize: UInt64) throws(ReadError) -> MP4Movie {
        var result = MP4Movie(timescale: 0, duration: 0, fragmented: false, tracks: [], fileSize: fileSize)
        for box in try BoxReader.children(movie, 0..<movie.count) {
            switch box.type {
            case "mvhd":
                (result.timescale, result.duration) = try BoxReader.timing(movie, box.body)
            case "mvex":
                result.fragmented = true
            case "trak":
                result.tracks.append(try parseTrack(movie, box.body))
            default:
                break
            }
        }
        guard result.timescale > 0 else { throw .malformed("no movie header (mvhd)") }
        return result
    }

    private static func parseTrack(_ bytes: [UInt8], _ range: Range<Int>) throws(ReadError) -> Track {
        var track = Track(handler: "", sampleEntry: nil, width: 0, height: 0, timescale: 0, duration: 0, sampleCount: 0, lastChunkOffset: 0)
        guard let media = try BoxReader.child("mdia", of: bytes, range) else { return track }
        if let header = try BoxReader.child("mdhd", of: bytes, media) {
            (track.timescale, track.duration) = try BoxReader.timing(bytes, header)
        }
        if let handler = try BoxReader.child("hdlr", of: bytes, media) {
            // version and flags, pre_defined, then handler_type.
            guard handler.count >= 12 else { throw .malformed("hdlr is cut short") }
            track.handler = BoxReader.fourCC(bytes, handler.lowerBound + 8)
        }
        guard let information = try BoxReader.child("minf", of: bytes, media),
            let table = try BoxReader.child("stbl", of: bytes, information)
        else { return track }
        for box in try BoxReader.children(bytes, table) {
            let body = box.body
            switch box.type {
            case "stsd":
                // version and flags, entry_count, then the first sample entry box.
                guard body.count >= 8 else { throw .malformed("stsd is cut short") }
                guard BoxReader.uint32(bytes, body.lowerBound + 4) > 0 else { break }
                guard let entry = try BoxReader.children(bytes, body.lowerBound + 8..<body.upperBound).first else { break }
                track.sampleEntry = entry.type
                // SampleEntry: reserved(6) data_reference_index(2); VisualSampleEntry: pre_defined(2)
                // reserved(2) pre_defined(12), then width(2) height(2).
                if track.handler == "vide", entry.body.count >= 28 {
                    track.width = Int(BoxReader.uint16(bytes, entry.body.lowerBound + 24))
                    track.height = Int(BoxReader.uint16(bytes, entry.body.lowerBound + 26))
                }
            case "stsz", "stz2":
                // stsz: version and flags, sample_size, sample_count; stz2: version and flags, reserved and field_size, sample_count.
                guard body.count >= 12 else { throw .malformed("\(box.type) is cut short") }
                track.sampleCount = BoxReader.uint32(bytes, body.lowerBound + 8)
            case "stco", "co64":
                guard body.count >= 8 else { throw .malformed("\(box.type) is cut short") }
                let count = Int(BoxReader.uint32(bytes, body.lowerBound + 4))
                let width = box.type == "stco" ? 4 : 8
                guard count <= (body.count - 8) / width else { throw .malformed("\(box.type) lists more chunks than it holds") }
                for index in 0..<count {
                    let at = body.lowerBound + 8 + index * width
                    let chunk = width == 4 ? UInt64(BoxReader.uint32(bytes, at)) : BoxReader.uint64(bytes, at)
                    track.lastChunkOffset = max(track.lastChunkOffset, chunk)
                }
            default:
                break
            }
        }
        return track
    }

    private static func readBytes(_ descriptor: Int32, at offset: UInt64, count: Int) throws(ReadError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let read = buffer.withUnsafeMutableBytes { pointer in
                pread(descriptor, pointer.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if read < 0, errno == EINTR { continue }
            guard read > 0 else { throw .io(read == 0 ? "the file ended early" : "read failed (errno \(errno))") }
            filled += read
        }
        return buffer
    }
}

/// Reading big-endian fields and child boxes out of a byte array.
enum BoxReader {
    struct Box {
        var type: String
        /// The body, after the size, type and any large size.
        var body: Range<Int>
    }

    /// The boxes laid end to end in `range`; every one must fit inside it.
    static func children(_ bytes: [UInt8], _ range: Range<Int>) throws(MP4Movie.ReadError) -> [Box] {
        var boxes: [Box] = []
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard range.upperBound - offset >= 8 else { throw .malformed("a box header is cut short") }
            var size = UInt64(uint32(bytes, offset))
            var headerSize = 8
            if size == 1 {
                guard range.upperBound - offset >= 16 else { throw .malformed("a large box header is cut short") }
                size = uint64(bytes, offset + 8)
                headerSize = 16
            } else if size == 0 {
                size = UInt64(range.upperBound - offset)
            }
            guard size >= UInt64(headerSize), size <= UInt64(range.upperBound - offset) else {
                throw .malformed("box \(fourCC(bytes, offset + 4)) does not fit inside its parent")
            }
            boxes.append(Box(type: fourCC(bytes, offset + 4), body: offset + headerSize..<offset + Int(size)))
            offset += Int(size)
        }
        return boxes
    }

    /// The body of the first child of type `type` in `range`.
    static func child(_ type: String, of bytes: [UInt8], _ range: Range<Int>) throws(MP4Movie.ReadError) -> Range<Int>? {
        try children(bytes, range).first { $0.type == type }?.body
    }

    /// The timescale and duration of an `mvhd` or `mdhd` body (version 0 or 1).
    static func timing(_ bytes: [UInt8], _ body: Range<Int>) throws(MP4Movie.ReadError) -> (UInt32, UInt64) {
        guard body.count >= 4 else { throw .malformed("a media header is cut short") }
        if bytes[body.lowerBound] == 1 {
            // version and flags, creation_time(8), modification_time(8), timescale(4), duration(8).
            guard body.count >= 32 else { throw .malformed("a media header is cut short") }
            return (uint32(bytes, body.lowerBound + 20), uint64(bytes, body.lowerBound + 24))
        }
        // version and flags, creation_time(4), modification_time(4), timescale(4), duration(4).
        guard body.count >= 20 else { throw .malformed("a media header is cut short") }
        let duration = uint32(bytes, body.lowerBound + 16)
        // All ones means "unknown".
        return (uint32(bytes, body.lowerBound + 12), duration == .max ? 0 : UInt64(duration))
    }

    static func uint16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }

    static func uint32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    static func uint64(_ bytes: [UInt8], _ at: Int) -> UInt64 { UInt64(uint32(bytes, at)) << 32 | UInt64(uint32(bytes, at + 4)) }

    /// Four bytes as a type code; bytes outside printable ASCII become `?`.
    static func fourCC(_ bytes: [UInt8], _ at: Int) -> String {
        String(decoding: bytes[at..<at + 4].map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
