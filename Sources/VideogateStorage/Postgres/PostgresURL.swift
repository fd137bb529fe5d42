import Foundation
import NIOSSL
import PostgresNIO

/// A malformed PostgreSQL URL or pool setting. The message never repeats the password.
public struct PostgresURLError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A `postgres://` or `postgresql://` URL, read as libpq reads it:
/// `postgresql://user:password@host:port/database?sslmode=…&application_name=…&connect_timeout=…`.
/// User, password and database are percent-decoded; the port defaults to 5432, the user to
/// `postgres`, the database to the user's name (the server's rule), `sslmode` to `prefer`.
struct PostgresURL: Equatable {
    /// libpq's `sslmode`.
    enum SSLMode: String, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without checking its certificate; plain TCP otherwise.
        case prefer
        /// TLS, without checking the server's certificate.
        case require
        /// TLS, with a certificate signed by a trusted authority, whatever its host name.
        case verifyCA = "verify-ca"
        /// TLS, with a trusted certificate for the host connected to.
        case verifyFull = "verify-full"
    }

    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String?
    var sslMode: SSLMode
    var applicationName: String?
    var connectTimeout: Duration?

    init(_ string: String) throws {
        guard let components = URLComponents(string: string), let scheme = components.scheme?.lowercased() else {
            throw PostgresURLError("the database URL is not a URL (expected postgresql://user:password@host:port/database)")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresURLError("the database URL must start with postgres:// or postgresql://, not \(scheme)://")
        }
        guard let host = components.host.map(Self.unbracketed), !host.isEmpty else {
            throw PostgresURLError("the database URL has no host (expected postgresql://user:password@host:port/database)")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw PostgresURLError("the database URL's port \(port) is out of range")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user.flatMap { $0.isEmpty ? nil : $0 } ?? "postgres"
        self.password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.contains("/") else { throw PostgresURLError("the database URL's path must be one database name, not '\(path)'") }
        self.database = path.isEmpty ? nil : path
        self.sslMode = .prefer
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    let known = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw PostgresURLError("the database URL's sslmode '\(value)' is not one of \(known)")
                }
                sslMode = mode
            case "application_name":
                applicationName = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw PostgresURLError("the database URL's connect_timeout '\(value)' is not a positive number of seconds")
                }
                connectTimeout = .seconds(seconds)
            default:
                throw PostgresURLError(
                    "the database URL's parameter '\(item.name)' is not supported (sslmode, application_name, connect_timeout are)")
            }
        }
    }

    /// The client configuration for this URL.
    var configuration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        if let applicationName { configuration.options.additionalStartupParameters.append(("application_name", applicationName)) }
        if let connectTimeout { configuration.options.connectTimeout = connectTimeout }
        return configuration
    }

    private var tls: PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable: return .disable
        case .prefer:
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            tls.certificateVerification = .none
            return .require(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            return .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            return .require(tls)
        }
    }

    /// An IPv6 host without the brackets of its URL form.
    private static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }
}
