// swift-tools-version:6.0
// The baseline for bench/compare.sh: a plain Hummingbird 2 server with one route and nothing
// else (no logging middleware, no JSON encoder on the hot path), the ceiling that videogate's
// own routes are measured against in the same run.
import PackageDescription

let package = Package(
    name: "HelloWorld",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hello-world", targets: ["HelloWorld"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1")
    ],
    targets: [
        .executableTarget(
            name: "HelloWorld",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")]
        )
    ]
)
