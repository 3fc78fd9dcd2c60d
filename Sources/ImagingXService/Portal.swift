import Foundation

/// The portal's static files (HTML, CSS, JavaScript; no CDN, no build step) and the OpenAPI
/// document, read once at start: from `--portal-dir` when given (portal development), else from
/// the resources SwiftPM copies beside the executable (`ImagingX_ImagingXService.resources`).
public struct Portal: Sendable {
    public struct File: Sendable {
        public var bytes: [UInt8]
        public var type: String
    }
    public var files: [String: File]
    public var openAPI: [UInt8]?
    /// Where the files were read from (shown in errors).
    public var source: String

    static let types = ["html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8",
                        "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml", "json": "application/json",
                        "png": "image/png", "ico": "image/x-icon"]

    /// The resources folder installed beside the running executable.
    static func installedResources() -> String? {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let dir = (exe as NSString).deletingLastPathComponent
        let candidate = dir + "/ImagingX_ImagingXService.resources/Resources"
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    public static func load(portalDirectory: String? = nil) -> Portal {
        let resources = installedResources()
        let portal = portalDirectory ?? resources.map { $0 + "/Portal" }
        var files: [String: File] = [:]
        if let portal {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: portal)) ?? [] {
                let ending = String(name.split(separator: ".").last ?? "")
                guard let type = types[ending], let data = FileManager.default.contents(atPath: portal + "/" + name) else { continue }
                files[name] = File(bytes: Array(data), type: type)
            }
        }
        let openAPIPath = portalDirectory.map { ($0 as NSString).deletingLastPathComponent + "/openapi.json" }
        let openAPI = [openAPIPath, resources.map { $0 + "/openapi.json" }].compactMap { $0 }
            .lazy.compactMap { FileManager.default.contents(atPath: $0) }.first.map { Array($0) }
        return Portal(files: files, openAPI: openAPI, source: portal ?? "(no portal files found beside the executable)")
    }
}
