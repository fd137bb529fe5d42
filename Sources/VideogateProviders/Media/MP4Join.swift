import Foundation

/// Joins MP4 files of one video track each, encoded with the same settings, into one MP4 without
/// decoding anything: the samples of each part are copied in order into one `mdat`, and a new
/// `moov` (written before it, so that playback can start while downloading) lists them. The first
/// part's sample entry (`stsd`, with the codec configuration) serves all parts, so every part must
/// carry the same bytes there; parts with composition offsets (`ctts`, B-frames) are refused.
///
/// The sandbox uses it to put a title card in front of a cached clip: the alternative, ffmpeg's
/// concat demuxer with stream copy, costs a process start per video.
enum MP4Join {
    /// One input: a file, and how long its last sample lasts (nil: as its `stts` says).
    struct Part {
        var file: URL
        /// The duration given to the part's last sample, in seconds (a one-frame title card shown for 2 s).
        var lastSampleSeconds: Double?
    }

    enum JoinError: Error, Equatable, CustomStringConvertible {
        case unreadable(String)
        case incompatible(String)
        case io(String)

        var description: String {
            switch self {
            case .unreadable(let reason): "an MP4 part could not be read: \(reason)"
            case .incompatible(let reason): "the MP4 parts cannot be joined: \(reason)"
            case .io(let reason): "writing the joined MP4 failed: \(reason)"
            }
        }
    }

    /// The samples of one video track: where each lies in its file, how long it lasts, and which are key frames.
    struct Samples {
        var sampleEntry: [UInt8]
        var timescale: UInt32
        var trackHeader: [UInt8]
        var handler: [UInt8]
        var mediaHeader: [UInt8]
        var videoHeader: [UInt8]
        var dataInformation: [UInt8]
        var offsets: [UInt64] = []
        var sizes: [UInt32] = []
        var durations: [UInt32] = []
        /// 1-based numbers of the key frames; nil when every sample is one (no `stss`).
        var sync: [UInt32]?
    }

    /// Writes the parts, joined, to `destination` (replaced if present).
    static func join(_ parts: [Part], to destination: URL) throws(JoinError) {
        guard !parts.isEmpty else { throw .incompatible("no parts") }
        var tables: [Samples] = []
        for part in parts { tables.append(try samples(of: part.file)) }
        let base = tables[0]
        for table in tables.dropFirst() {
            guard table.sampleEntry == base.sampleEntry else { throw .incompatible("the sample entries (codec settings) differ") }
            guard table.timescale == base.timescale else { throw .incompatible("the media timescales differ") }
        }
        var sizes: [UInt32] = []
        var durations: [UInt32] = []
        var sync: [UInt32] = []
        var allSync = true
        for (index, table) in tables.enumerated() {
            var partDurations = table.durations
            if let seconds = parts[index].lastSampleSeconds, !partDurations.isEmpty {
                partDurations[partDurations.count - 1] = UInt32(max(1, (seconds * Double(base.timescale)).rounded()))
            }
            let start = UInt32(sizes.count)
            if let partSync = table.sync {
                allSync = false
                sync += partSync.map { $0 + start }
            } else {
                sync += (1...UInt32(max(1, table.sizes.count))).map { $0 + start }
            }
            sizes += table.sizes
            durations += partDurations
        }
        let totalData = sizes.reduce(UInt64(0)) { $0 + UInt64($1) }
        let mediaDuration = durations.reduce(UInt64(0)) { $0 + UInt64($1) }
        let fileType = box("ftyp", Array("isom".utf8) + be32(512) + Array("isomiso2avc1mp41".utf8))
        // The moov's size does not depend on the offsets it lists (fixed-width entries): build it
        // once to learn where the samples start, then again with the real offsets.
        let wide = totalData + 1_000_000 > UInt64(UInt32.max)
        func movie(dataStart: UInt64) -> [UInt8] {
            var offsets: [UInt64] = []
            offsets.reserveCapacity(sizes.count)
            var position = dataStart
            for size in sizes {
                offsets.append(position)
                position += UInt64(size)
            }
            return movieBox(
                base, durations: durations, sizes: sizes, offsets: offsets, wide: wide, sync: allSync ? nil : sync,
                mediaDuration: mediaDuration)
        }
        let headerSize = UInt64(fileType.count + movie(dataStart: 0).count)
        let largeData = totalData + 8 > UInt64(UInt32.max)
        let dataHeader = largeData ? be32(1) + Array("mdat".utf8) + be64(totalData + 16) : be32(UInt32(totalData + 8)) + Array("mdat".utf8)
        let head = fileType + movie(dataStart: headerSize + UInt64(dataHeader.count)) + dataHeader

        guard FileManager.default.createFile(atPath: destination.path, contents: Data(head)),
            let output = try? FileHandle(forWritingTo: destination)
        else { throw .io("cannot create \(destination.lastPathComponent)") }
        defer { try? output.close() }
        do {
            try output.seekToEnd()
            for (index, table) in tables.enumerated() {
                try copySamples(of: table, from: parts[index].file, to: output)
            }
        } catch let error as JoinError {
            throw error
        } catch {
            throw .io("\(error)")
        }
    }

    /// Copies the samples' bytes in order, merging neighbours into reads of up to 1 MiB.
    private static func copySamples(of table: Samples, from file: URL, to output: FileHandle) throws {
        let input = try FileHandle(forReadingFrom: file)
        defer { try? input.close() }
        var runs: [(offset: UInt64, length: UInt64)] = []
        for (offset, size) in zip(table.offsets, table.sizes) {
            if let last = runs.last, last.offset + last.length == offset {
                runs[runs.count - 1].length += UInt64(size)
            } else {
                runs.append((offset, UInt64(size)))
            }
        }
        for run in runs {
            try input.seek(toOffset: run.offset)
            var left = run.length
            while left > 0 {
                let piece = Int(min(left, 1 << 20))
                guard let data = try input.read(upToCount: piece), data.count == piece else {
                    throw JoinError.unreadable("\(file.lastPathComponent) ends inside its sample data")
                }
                try output.write(contentsOf: data)
                left -= UInt64(piece)
            }
        }
    }

    /// The sample table of the only video track of `file`.
    static func samples(of file: URL) throws(JoinError) -> Samples {
        let movie: [UInt8]
        let fileSize: UInt64
        do {
            (movie, fileSize) = try MP4Movie.movieBox(of: file)
        } catch {
            throw .unreadable("\(file.lastPathComponent): \(error)")
        }
        do {
            let top = try BoxReader.children(movie, 0..<movie.count)
            let tracks = top.filter { $0.type == "trak" }
            guard top.contains(where: { $0.type == "mvex" }) == false else { throw JoinError.incompatible("fragmented MP4") }
            guard tracks.count == 1, let track = tracks.first else { throw JoinError.incompatible("\(tracks.count) tracks, not one") }
            func bytes(_ range: Range<Int>, type: String) -> [UInt8] { box(type, Array(movie[range])) }
            guard let trackHeader = try BoxReader.child("tkhd", of: movie, track.body),
                let media = try BoxReader.child("mdia", of: movie, track.body),
                let mediaHeader = try BoxReader.child("mdhd", of: movie, media),
                let handler = try BoxReader.child("hdlr", of: movie, media),
                let information = try BoxReader.child("minf", of: movie, media),
                let videoHeader = try BoxReader.child("vmhd", of: movie, information),
                let dataInformation = try BoxReader.child("dinf", of: movie, information),
                let table = try BoxReader.child("stbl", of: movie, information)
            else { throw JoinError.incompatible("not a video track with a sample table") }
            let (timescale, _) = try BoxReader.timing(movie, mediaHeader)
            var result = Samples(
                sampleEntry: [], timescale: timescale, trackHeader: bytes(trackHeader, type: "tkhd"), handler: bytes(handler, type: "hdlr"),
                mediaHeader: bytes(mediaHeader, type: "mdhd"), videoHeader: bytes(videoHeader, type: "vmhd"),
                dataInformation: bytes(dataInformation, type: "dinf"))
            var chunkOffsets: [UInt64] = []
            var chunkRuns: [(firstChunk: UInt32, samplesPerChunk: UInt32)] = []
            for child in try BoxReader.children(movie, table) {
                let body = child.body
                let entries = body.count >= 8 ? Int(BoxReader.uint32(movie, body.lowerBound + 4)) : -1
                func entry(_ index: Int, width: Int, field: Int = 0) throws -> UInt32 {
                    let at = body.lowerBound + 8 + index * width + field
                    guard at + 4 <= body.upperBound else { throw JoinError.unreadable("\(child.type) is cut short") }
                    return BoxReader.uint32(movie, at)
                }
                switch child.type {
                case "stsd":
                    result.sampleEntry = try sampleDescription(movie, body)
                case "stts":
                    for index in 0..<max(0, entries) {
                        let count = try entry(index, width: 8)
                        let delta = try entry(index, width: 8, field: 4)
                        guard count <= 1_000_000, result.durations.count + Int(count) <= 1_000_000 else {
                            throw JoinError.incompatible("too many samples")
                        }
                        result.durations += Array(repeating: delta, count: Int(count))
                    }
                case "stss":
                    result.sync = try (0..<max(0, entries)).map { try entry($0, width: 4) }
                case "stsz":
                    // version and flags, sample_size, sample_count, then the sizes when sample_size is 0.
                    guard body.count >= 12 else { throw JoinError.unreadable("stsz is cut short") }
                    let fixed = BoxReader.uint32(movie, body.lowerBound + 4)
                    let count = Int(BoxReader.uint32(movie, body.lowerBound + 8))
                    guard count <= 1_000_000 else { throw JoinError.incompatible("too many samples") }
                    if fixed != 0 {
                        result.sizes = Array(repeating: fixed, count: count)
                    } else {
                        guard body.count >= 12 + 4 * count else { throw JoinError.unreadable("stsz is cut short") }
                        result.sizes = (0..<count).map { BoxReader.uint32(movie, body.lowerBound + 12 + 4 * $0) }
                    }
                case "stsc":
                    chunkRuns = try (0..<max(0, entries)).map { (try entry($0, width: 12), try entry($0, width: 12, field: 4)) }
                case "stco":
                    chunkOffsets = try (0..<max(0, entries)).map { UInt64(try entry($0, width: 4)) }
                case "co64":
                    chunkOffsets = try (0..<max(0, entries)).map { UInt64(try entry($0, width: 8)) << 32 | UInt64(try entry($0, width: 8, field: 4)) }
                case "ctts":
                    throw JoinError.incompatible("composition offsets (B-frames)")
                default:
                    break
                }
            }
            guard !result.sampleEntry.isEmpty, !result.sizes.isEmpty, result.sizes.count == result.durations.count else {
                throw JoinError.incompatible("the sample sizes and durations do not match")
            }
            // Each sample's offset: chunks in order, `samplesPerChunk` from the stsc run a chunk falls in.
            var sample = 0
            for (chunkIndex, chunkOffset) in chunkOffsets.enumerated() {
                let chunkNumber = UInt32(chunkIndex + 1)
                guard let run = chunkRuns.last(where: { $0.firstChunk <= chunkNumber }) else {
                    throw JoinError.unreadable("stsc does not cover chunk \(chunkNumber)")
                }
                var position = chunkOffset
                for _ in 0..<run.samplesPerChunk where sample < result.sizes.count {
                    result.offsets.append(position)
                    position += UInt64(result.sizes[sample])
                    sample += 1
                }
                guard position <= fileSize else { throw JoinError.unreadable("samples lie past the end of the file") }
            }
            guard result.offsets.count == result.sizes.count else { throw JoinError.unreadable("the chunks do not hold every sample") }
            return result
        } catch let error as JoinError {
            throw error
        } catch {
            throw .unreadable("\(file.lastPathComponent): \(error)")
        }
    }

    /// An `stsd` box holding the first entry of `body` without its `btrt` child: that box states
    /// the part's own bit rate, which differs between parts encoded alike (and is optional).
    static func sampleDescription(_ movie: [UInt8], _ body: Range<Int>) throws -> [UInt8] {
        guard body.count >= 8, let entry = try BoxReader.children(movie, body.lowerBound + 8..<body.upperBound).first else {
            throw JoinError.unreadable("stsd has no entry")
        }
        // SampleEntry (8 bytes) and VisualSampleEntry (70 bytes) come before the entry's child boxes.
        let fixed = 78
        guard entry.body.count >= fixed else { throw JoinError.incompatible("the sample entry is not a visual one") }
        var kept = Array(movie[entry.body.lowerBound..<entry.body.lowerBound + fixed])
        for child in try BoxReader.children(movie, entry.body.lowerBound + fixed..<entry.body.upperBound) where child.type != "btrt" {
            kept += box(child.type, Array(movie[child.body]))
        }
        return box("stsd", Array(movie[body.lowerBound..<body.lowerBound + 4]) + be32(1) + box(entry.type, kept))
    }

    /// `moov` for one track built from `base`'s headers and the joined sample table.
    private static func movieBox(
        _ base: Samples, durations: [UInt32], sizes: [UInt32], offsets: [UInt64], wide: Bool, sync: [UInt32]?, mediaDuration: UInt64
    ) -> [UInt8] {
        let movieTimescale: UInt32 = 1000
        let movieDuration = UInt32(min(UInt64(UInt32.max), mediaDuration * UInt64(movieTimescale) / UInt64(max(1, base.timescale))))
        // mvhd version 0: times 0, timescale, duration, rate 1.0, volume 1.0, reserved, unity matrix, pre_defined, next_track_ID 2.
        let matrix: [UInt32] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]
        let movieHeader = box(
            "mvhd",
            be32(0) + be32(0) + be32(0) + be32(movieTimescale) + be32(movieDuration) + be32(0x0001_0000) + [0x01, 0x00]
                + [UInt8](repeating: 0, count: 10) + matrix.flatMap(be32) + [UInt8](repeating: 0, count: 24) + be32(2))
        var sampleTable = base.sampleEntry
        // Runs of equal durations.
        var timeRuns: [(UInt32, UInt32)] = []
        for duration in durations {
            if let last = timeRuns.last, last.1 == duration { timeRuns[timeRuns.count - 1].0 += 1 } else { timeRuns.append((1, duration)) }
        }
        sampleTable += box("stts", be32(0) + be32(UInt32(timeRuns.count)) + timeRuns.flatMap { be32($0.0) + be32($0.1) })
        if let sync { sampleTable += box("stss", be32(0) + be32(UInt32(sync.count)) + sync.flatMap(be32)) }
        // One sample per chunk.
        sampleTable += box("stsc", be32(0) + be32(1) + be32(1) + be32(1) + be32(1))
        sampleTable += box("stsz", be32(0) + be32(0) + be32(UInt32(sizes.count)) + sizes.flatMap(be32))
        sampleTable += wide
            ? box("co64", be32(0) + be32(UInt32(offsets.count)) + offsets.flatMap(be64))
            : box("stco", be32(0) + be32(UInt32(offsets.count)) + offsets.flatMap { be32(UInt32($0)) })
        let information = box("minf", base.videoHeader + base.dataInformation + box("stbl", sampleTable))
        let media = box("mdia", withDuration(base.mediaHeader, mediaDuration, at: (v0: 24, v1: 32)) + base.handler + information)
        let track = box("trak", withDuration(base.trackHeader, UInt64(movieDuration), at: (v0: 28, v1: 36)) + media)
        return box("moov", movieHeader + track)
    }

    /// A copy of a full box (`tkhd`, `mdhd`) with its duration field set; `at` is the field's
    /// offset from the box start for versions 0 and 1.
    private static func withDuration(_ full: [UInt8], _ duration: UInt64, at offsets: (v0: Int, v1: Int)) -> [UInt8] {
        var copy = full
        if copy.count > 8, copy[8] == 1 {
            guard copy.count >= offsets.v1 + 8 else { return copy }
            copy.replaceSubrange(offsets.v1..<offsets.v1 + 8, with: be64(duration))
        } else {
            guard copy.count >= offsets.v0 + 4 else { return copy }
            copy.replaceSubrange(offsets.v0..<offsets.v0 + 4, with: be32(UInt32(min(duration, UInt64(UInt32.max)))))
        }
        return copy
    }

    static func box(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(UInt32(body.count + 8)) + Array(type.utf8) + body }
    static func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    static func be64(_ value: UInt64) -> [UInt8] { be32(UInt32(value >> 32)) + be32(UInt32(value & 0xFFFF_FFFF)) }
}
