import Foundation

/// The portal's static files (HTML, CSS, JavaScript; no CDN, no build step) and the OpenAPI
/// document, read once from the target's resources at start.
public struct Portal: Sendable {
    public struct File: Sendable {
        public var bytes: [UInt8]
        public var type: String
    }
    public var files: [String: File]
    public var openAPI: [UInt8]?

    static let types = ["html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8",
                        "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml", "json": "application/json"]

    public static func load() -> Portal {
        var files: [String: File] = [:]
        var openAPI: [UInt8]?
        if let base = Bundle.module.resourceURL?.appendingPathComponent("Resources") {
            let portal = base.appendingPathComponent("Portal")
            for name in (try? FileManager.default.contentsOfDirectory(atPath: portal.path)) ?? [] {
                let ending = String(name.split(separator: ".").last ?? "")
                guard let type = types[ending], let data = FileManager.default.contents(atPath: portal.appendingPathComponent(name).path) else { continue }
                files[name] = File(bytes: Array(data), type: type)
            }
            openAPI = FileManager.default.contents(atPath: base.appendingPathComponent("openapi.json").path).map { Array($0) }
        }
        return Portal(files: files, openAPI: openAPI)
    }
}
