// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "videogate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "videogate", targets: ["videogate"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        // OTLP over HTTP only: the gRPC trait would build grpc-swift for an exporter we don't offer.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
    ],
    targets: [
        .target(name: "VideogateDomain"),
        .target(
            name: "VideogateStorage",
            dependencies: [
                "VideogateDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VideogateProviders",
            dependencies: [
                "VideogateDomain",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "VideogateAPI",
            dependencies: [
                "VideogateDomain", "VideogateStorage", "VideogateProviders",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            // The console's templates and stylesheet, compiled into the binary (one file to deploy).
            resources: [
                .embedInCode("Console/Templates/layout.mustache"),
                .embedInCode("Console/Templates/sign-in.mustache"),
                .embedInCode("Console/Templates/accounts.mustache"),
                .embedInCode("Console/Templates/account.mustache"),
                .embedInCode("Console/Templates/jobs.mustache"),
                .embedInCode("Console/Templates/job.mustache"),
                .embedInCode("Console/Templates/providers.mustache"),
                .embedInCode("Console/Templates/message.mustache"),
                .embedInCode("Console/Templates/playground.mustache"),
                .embedInCode("Console/Templates/usage.mustache"),
                .embedInCode("Console/Static/console.css"),
                .embedInCode("Console/Static/playground.js"),
            ]
        ),
        .target(
            name: "VideogateWorker",
            dependencies: [
                "VideogateDomain", "VideogateStorage", "VideogateProviders",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "VideogateApp",
            dependencies: [
                "VideogateDomain", "VideogateStorage", "VideogateProviders", "VideogateAPI", "VideogateWorker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .executableTarget(
            name: "videogate",
            dependencies: [
                "VideogateApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The five provider fakes as one process, for bench/providers-in-flight.sh.
        .executableTarget(
            name: "videogate-fake-providers",
            dependencies: ["ProviderFakes", .product(name: "Hummingbird", package: "hummingbird")],
            path: "bench/FakeProviders"
        ),
        .testTarget(name: "VideogateDomainTests", dependencies: ["VideogateDomain"]),
        // Fakes of the five providers' APIs on 127.0.0.1, shared by the provider and HTTP tests.
        .target(
            name: "ProviderFakes",
            dependencies: [
                "VideogateDomain",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ProviderFakes"
        ),
        .testTarget(
            name: "VideogateProvidersTests",
            dependencies: [
                "VideogateProviders", "VideogateDomain", "ProviderFakes",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "VideogateStorageTests",
            dependencies: [
                "VideogateStorage", "VideogateDomain", "ProviderFakes",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "VideogateAPITests",
            dependencies: [
                "VideogateApp", "VideogateAPI", "VideogateStorage", "VideogateDomain", "VideogateWorker", "VideogateProviders", "ProviderFakes",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "VideogateDomain", "ProviderFakes",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)
