import VideogateDomain

/// Names of a job's files in result storage. Results sit at the top (`req_....mp4`, `req_....jpg`),
/// so a result's key is also its file id in signed `/files/{file_id}` URLs; start images the
/// client uploaded sit under `inputs/`.
public enum ResultKeys {
    public static func video(jobID: String) -> String { "\(jobID).mp4" }
    public static func thumbnail(jobID: String) -> String { "\(jobID).jpg" }
    public static func input(jobID: String, mediaType: String) -> String {
        let ext = mediaType == "image/png" ? "png" : mediaType == "image/webp" ? "webp" : "jpg"
        return "inputs/\(jobID).\(ext)"
    }

    /// The job id of a result file id (`req_....mp4` or `.jpg`), or nil when it is not one.
    public static func jobID(ofFileID fileID: String) -> String? {
        let parts = fileID.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, parts[1] == "mp4" || parts[1] == "jpg", Identifier.isWellFormed(String(parts[0]), prefix: "req") else {
            return nil
        }
        return String(parts[0])
    }
}
