import Foundation

/// Credentials for SigV4. Their description never shows the secret or the token.
public struct S3Credentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "S3Credentials(\(accessKeyID), secret hidden)" }
    public var debugDescription: String { description }
}

/// `s3://bucket/prefix`.
public struct S3Location: Sendable, Equatable {
    public var bucket: String
    public var prefix: String

    public init(bucket: String, prefix: String) {
        self.bucket = bucket
        self.prefix = prefix
    }

    /// Parses `s3://bucket[/prefix]`; nil for anything else.
    public init?(url: String) {
        guard url.hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { return nil }
        self.bucket = String(bucket)
        self.prefix = String(rest.dropFirst(bucket.count + 1))
    }

    /// The record path of a key: `s3://bucket/key`.
    public func path(of key: String) -> String { "s3://\(bucket)/\(key)" }
}

public struct S3ConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Where and how to reach the store: endpoint, region, credentials (nil: unsigned requests).
public struct S3Config: Sendable {
    public var scheme: String
    public var host: String
    public var port: Int?
    /// `http://host:port/bucket/key` (custom endpoints) rather than `bucket.host/key`.
    public var pathStyle: Bool
    public var region: String
    public var credentials: S3Credentials?
    /// PEM certificates to trust for HTTPS instead of the system's (AWS_CA_BUNDLE, or the
    /// profile's `ca_bundle`, as the AWS tools take them): a private store's own authority.
    public var caBundle: String?

    public init(scheme: String = "https", host: String, port: Int? = nil, pathStyle: Bool, region: String,
                credentials: S3Credentials?, caBundle: String? = nil) {
        self.caBundle = caBundle
        self.scheme = scheme
        self.host = host
        self.port = port
        self.pathStyle = pathStyle
        self.region = region
        self.credentials = credentials
    }

    /// The configuration the AWS tools would use: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (then
    /// path-style addressing), AWS_REGION / AWS_DEFAULT_REGION or the profile's `region`
    /// (~/.aws/config, AWS_CONFIG_FILE), credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    /// / AWS_SESSION_TOKEN or the profile (AWS_PROFILE, ~/.aws/credentials, AWS_SHARED_CREDENTIALS_FILE).
    /// `unsigned`: anonymous requests (public buckets); no credentials are read.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment,
                                       unsigned: Bool = false) throws(S3ConfigError) -> S3Config {
        let home = env["HOME"] ?? "/root"
        let profile = env["AWS_PROFILE"] ?? env["AWS_DEFAULT_PROFILE"] ?? "default"
        let configFile = IniFile.load(env["AWS_CONFIG_FILE"] ?? home + "/.aws/config")
        let profileSection = profile == "default" ? "default" : "profile " + profile
        let profileConfig = configFile[profileSection] ?? configFile[profile] ?? [:]

        var credentials: S3Credentials?
        if !unsigned {
            if let key = env["AWS_ACCESS_KEY_ID"], !key.isEmpty {
                guard let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                    throw S3ConfigError(description: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
                }
                credentials = S3Credentials(accessKeyID: key, secretAccessKey: secret,
                                            sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
            } else {
                let shared = IniFile.load(env["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials")
                let section = shared[profile] ?? profileConfig
                if let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] {
                    credentials = S3Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"])
                } else {
                    throw S3ConfigError(description:
                        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (AWS_PROFILE=\(profile)), or pass --no-sign-request for a public bucket")
                }
            }
        }
        let region = env["AWS_REGION"] ?? env["AWS_DEFAULT_REGION"] ?? profileConfig["region"] ?? "us-east-1"
        let caBundle = (env["AWS_CA_BUNDLE"] ?? profileConfig["ca_bundle"]).flatMap { $0.isEmpty ? nil : $0 }
        if let caBundle, !FileManager.default.isReadableFile(atPath: caBundle) {
            throw S3ConfigError(description: "the CA bundle '\(caBundle)' (AWS_CA_BUNDLE or the profile's ca_bundle) cannot be read")
        }
        if let endpoint = env["AWS_ENDPOINT_URL_S3"] ?? env["AWS_ENDPOINT_URL"] ?? profileConfig["endpoint_url"], !endpoint.isEmpty {
            guard let url = URLComponents(string: endpoint), let scheme = url.scheme, scheme == "http" || scheme == "https",
                  let host = url.host, !host.isEmpty else {
                throw S3ConfigError(description: "the endpoint URL '\(endpoint)' is not http(s)://host[:port]")
            }
            return S3Config(scheme: scheme, host: host, port: url.port, pathStyle: true, region: region, credentials: credentials,
                            caBundle: caBundle)
        }
        let host = region == "us-east-1" ? "s3.amazonaws.com" : "s3.\(region).amazonaws.com"
        return S3Config(scheme: "https", host: host, port: nil, pathStyle: false, region: region, credentials: credentials,
                        caBundle: caBundle)
    }
}

/// The AWS CLI's INI files: `[section]` then `key = value` lines; `#` and `;` start comments.
enum IniFile {
    static func load(_ path: String) -> [String: [String: String]] {
        guard let data = FileManager.default.contents(atPath: path), data.count < 1 << 20 else { return [:] }
        return parse(String(decoding: data, as: UTF8.self))
    }

    static func parse(_ text: String) -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        var section: String?
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let section, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            out[section, default: [:]][key] = value
        }
        return out
    }
}
