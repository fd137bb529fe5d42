import Foundation
import VideogateDomain
import VideogateProviders

/// A clock stopped at one instant.
struct FixedClock: WallClock {
    let instant: Date
    func now() -> Date { instant }
}

/// A fresh scratch directory, removed by `remove()`.
struct ScratchDirectory {
    let url: URL

    init(_ name: String = "videogate-providers-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

func sandboxHandle(
    prompt: String = "a red fox running through snow", aspectRatio: AspectRatio = .landscape, duration: Int = 4,
    image: ProviderImage? = nil, submittedAt: Date = Date(timeIntervalSince1970: 1_800_000_000)
) -> ProviderHandle {
    let request = ProviderRequest(
        jobID: "job_test", upstreamModel: "sandbox", mode: image == nil ? .textToVideo : .imageToVideo, prompt: prompt, image: image,
        aspectRatio: aspectRatio, duration: duration)
    return ProviderHandle(providerJobID: "sbx_job_test", submittedAt: submittedAt, request: request)
}
