import Foundation
import VideogateDomain

/// Secrets the operator did not configure are generated once and kept in the data directory
/// (mode 0600), so that restarts keep signed URLs and the admin token valid.
enum Secrets {
    /// The configured value, or the one kept in `<data dir>/<file>`, or a new one (then `generated` is true).
    static func load(configured: String?, file: String, in directory: URL) throws -> (value: String, generated: Bool) {
        if let configured { return (configured, false) }
        let url = directory.appendingPathComponent(file)
        if let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        {
            return (text, false)
        }
        let value = Identifier.randomBase62(48)
        let temporary = directory.appendingPathComponent(".\(file).\(Identifier.randomBase62(6))")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(value.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("cannot write \(temporary.path)")
        }
        // link() fails if another process created the file first: then that one is the secret.
        if link(temporary.path, url.path) != 0 {
            try? FileManager.default.removeItem(at: temporary)
            let data = try Data(contentsOf: url)
            return (String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), false)
        }
        try? FileManager.default.removeItem(at: temporary)
        return (value, true)
    }
}
