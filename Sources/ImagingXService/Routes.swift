import Foundation
import Hummingbird
import ImagingX

/// The API under `/api/v1` (docs/openapi.json is the contract) and the portal's files at `/`.
/// Handlers parse, call the application and index layers, and write JSON.
struct Routes: Sendable {
    let state: ServiceState
    static let version = "0.7.0"
    static let maxPage = 1000

    func register(_ router: Router<BasicRequestContext>) {
        let api = router.group("api/v1")
        api.get("health") { _, _ in try health() }
        api.get("version") { _, _ in
            try json(["version": Self.version, "schema": IndexStore.schemaSteps.last ?? "", "api": "v1"])
        }
        api.get("roots") { _, _ in try json(try index { try state.store.roots() }) }

        api.get("jobs") { _, _ in try json(state.jobs.list()) }
        api.post("jobs") { request, _ in try await startJob(request) }
        api.get("jobs/:id") { _, context in
            let id = try intParameter(context, "id")
            guard let job = state.jobs.job(id) else { throw APIError.notFound("no job \(id)") }
            return try json(job)
        }
        api.delete("jobs/:id") { _, context in
            let id = try intParameter(context, "id")
            let job: IndexJob
            do throws(JobError) { job = try state.jobs.cancel(id) } catch { throw APIError.notFound(error.description) }
            return try json(job)
        }

        api.get("files") { request, _ in try listFiles(request) }
        api.get("files/facets") { request, _ in
            var q = try fileQuery(request)
            q.after = nil
            return try json(try index { try state.store.fileFacets(q) })
        }
        api.get("files/download") { request, _ in try downloadFiles(request) }
        api.get("files/:id") { _, context in
            let id = try intParameter(context, "id")
            guard let file = try index({ try state.store.file(id: Int64(id)) }) else { throw APIError.notFound("no file \(id)") }
            return HTTP.json(Array(fileJSON(file).utf8))
        }

        api.get("datasets") { request, _ in try listDatasets(request) }
        api.get("datasets/:id") { _, context in try json(try dataset(context)) }
        api.get("datasets/:id/fingerprint") { _, context in
            let d = try dataset(context)
            guard let bytes = try index({ try state.store.fingerprintJSON(dataset: d.id) }) else { throw APIError.notFound("dataset \(d.id) has no fingerprint yet") }
            return HTTP.json(bytes)
        }
        api.get("datasets/:id/nnunet-fingerprint") { _, context in
            let d = try dataset(context)
            let cases = try index { try state.store.caseSummaries(dataset: d.id) }.values.sorted { $0.id < $1.id }
            guard let bytes = try index({ try state.store.fingerprintJSON(dataset: d.id) }),
                  let fingerprint = try? Fingerprinter.decodeFingerprint(bytes) else {
                throw APIError.notFound("dataset \(d.id) has no fingerprint yet")
            }
            return HTTP.bytes(Fingerprinter.nnUNet(cases, fingerprint), contentType: "application/json",
                              extra: [(.contentDisposition, "attachment; filename=\"dataset_fingerprint.json\"")])
        }

        api.get("catalog") { request, _ in try catalogEntries(request) }
        api.get("catalog/search") { request, _ in try searchCatalog(request) }

        router.get("openapi.json") { _, _ in
            guard let bytes = state.portal.openAPI else { throw APIError.notFound("the OpenAPI document is not installed") }
            return HTTP.bytes(bytes, contentType: "application/json")
        }
        router.get("/") { _, _ in try portalFile("index.html") }
        router.get("portal/:name") { _, context in try portalFile(context.parameters.get("name") ?? "") }
    }

    // MARK: Helpers

    func index<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as IndexError {
            throw APIError(.serviceUnavailable, "index_unavailable", error.description)
        }
    }

    func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return HTTP.json(Array(try encoder.encode(value)), status: status)
    }

    func intParameter(_ context: BasicRequestContext, _ name: String) throws -> Int {
        guard let text = context.parameters.get(name), let v = Int(text), v >= 0 else {
            throw APIError.badRequest("\(name) must be a non-negative integer")
        }
        return v
    }

    func health() throws -> Response {
        let totals = try index { try state.store.totals() }
        let running = state.jobs.list().filter { $0.state == .running }.count
        return try json(HealthBody(status: "ok", files: totals.files, datasets: totals.datasets, roots: totals.roots, jobs_running: running))
    }

    struct HealthBody: Encodable {
        var status: String
        var files, datasets, roots, jobs_running: Int
    }

    // MARK: Jobs

    struct JobBody: Decodable { var root: String }

    func startJob(_ request: Request) async throws -> Response {
        let bytes = try await HTTP.body(request)
        guard let body = try? JSONDecoder().decode(JobBody.self, from: Data(bytes)) else {
            throw APIError.badRequest("the body must be a JSON object {\"root\": \"PATH\"}")
        }
        guard !body.root.isEmpty, body.root.utf8.count <= 4096, !body.root.contains("\0") else {
            throw APIError.badRequest("root must be a path of 1 to 4096 bytes")
        }
        let job: IndexJob
        do throws(JobError) {
            job = try state.jobs.start(body.root)
        } catch {
            switch error {
            case .outsideRoots: throw APIError.forbidden(error.description)
            case .alreadyRunning: throw APIError.conflict(error.description)
            case .notFound: throw APIError.notFound(error.description)
            case .index: throw APIError(.serviceUnavailable, "index_unavailable", error.description)
            }
        }
        return try json(job, status: .accepted)
    }

    // MARK: Files

    static let fileFilters = ["root", "dataset", "format", "modality", "status", "dtype", "finding", "path", "ndim", "cursor", "limit"]
        + ["x", "y", "z"].flatMap { a in ["min_dim_\(a)", "max_dim_\(a)", "min_spacing_\(a)", "max_spacing_\(a)"] }

    func fileQuery(_ request: Request, defaultLimit: Int = 100) throws -> FileQuery {
        let p = request.uri.queryParameters
        var q = FileQuery()
        func text(_ name: String) throws -> String? {
            guard let v = p.get(name) else { return nil }
            guard !v.isEmpty, v.utf8.count <= 1024 else { throw APIError.badRequest("\(name) must be 1 to 1024 bytes") }
            return v
        }
        func integer(_ name: String) throws -> Int? {
            guard let v = p.get(name) else { return nil }
            guard let i = Int(v), i >= 0 else { throw APIError.badRequest("\(name) must be a non-negative integer, not '\(v)'") }
            return i
        }
        func number(_ name: String) throws -> Double? {
            guard let v = p.get(name) else { return nil }
            guard let d = Double(v), d.isFinite else { throw APIError.badRequest("\(name) must be a finite number, not '\(v)'") }
            return d
        }
        q.root = try integer("root").map(Int64.init)
        q.dataset = try integer("dataset").map(Int64.init)
        q.format = try text("format")
        q.modality = try text("modality")
        q.status = try text("status")
        if let s = q.status, !["ok", "error", "unsupported"].contains(s) { throw APIError.badRequest("status must be ok, error or unsupported") }
        q.dtype = try text("dtype")
        q.finding = try text("finding")
        q.pathContains = try text("path")
        q.ndim = try integer("ndim")
        for (k, a) in ["x", "y", "z"].enumerated() {
            q.minDims[k] = try integer("min_dim_\(a)")
            q.maxDims[k] = try integer("max_dim_\(a)")
            q.minSpacing[k] = try number("min_spacing_\(a)")
            q.maxSpacing[k] = try number("max_spacing_\(a)")
        }
        if let cursor = p.get("cursor") {
            guard let c = Int64(cursor), c >= 0 else { throw APIError.badRequest("cursor must be the next_cursor of a previous page") }
            q.after = c
        }
        let limit = try integer("limit") ?? defaultLimit
        guard (1...Self.maxPage).contains(limit) else { throw APIError.badRequest("limit must be between 1 and \(Self.maxPage)") }
        q.limit = limit
        return q
    }

    func fileJSON(_ f: IndexedFile) -> String {
        var bytes: [UInt8] = []
        RecordWriter.appendJSON(f.record, to: &bytes, stats: f.statsRead)
        if bytes.last == 0x0A { bytes.removeLast() }
        return "{\"id\":\(f.id),\"root\":" + HTTP.quote(f.root) + ",\"dataset_id\":" + (f.datasetID.map(String.init) ?? "null")
            + ",\"record\":" + String(decoding: bytes, as: UTF8.self) + "}"
    }

    func listFiles(_ request: Request) throws -> Response {
        let q = try fileQuery(request)
        let page = try index { try state.store.files(q) }
        let total = try index { try state.store.countFiles(q) }
        let items = page.files.map(fileJSON).joined(separator: ",")
        let body = "{\"items\":[" + items + "],\"next_cursor\":" + (page.next.map { "\"\($0)\"" } ?? "null") + ",\"total\":\(total)}"
        return HTTP.json(Array(body.utf8))
    }

    /// The matching records as `scan` writes them (CSV or JSON Lines), streamed page by page:
    /// a client that disconnects stops the reads.
    func downloadFiles(_ request: Request) throws -> Response {
        let format = request.uri.queryParameters.get("format") ?? "jsonl"
        guard let output = OutputFormat(rawValue: format) else { throw APIError.badRequest("format must be csv or jsonl") }
        var q = try fileQuery(request, defaultLimit: Self.maxPage)
        q.limit = Self.maxPage
        let store = state.store
        let cursor = Cursor(q)
        let withStats = request.uri.queryParameters.get("stats") == "true"
        return HTTP.stream(contentType: output == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
                           filename: "imagingx-files." + format) {
            guard let query = cursor.next() else { return nil }
            let page: (files: [IndexedFile], next: Int64?)
            do { page = try store.files(query) } catch { return nil }
            var bytes: [UInt8] = []
            if cursor.first, output == .csv { bytes = RecordWriter.csvHeader(stats: withStats) }
            for f in page.files {
                if output == .csv { RecordWriter.appendCSV(f.record, to: &bytes, stats: withStats) }
                else { RecordWriter.appendJSON(f.record, to: &bytes, stats: withStats) }
            }
            cursor.advance(page.next)
            return bytes
        }
    }

    // MARK: Datasets

    func dataset(_ context: BasicRequestContext) throws -> IndexedDataset {
        let id = try intParameter(context, "id")
        guard let d = try index({ try state.store.dataset(id: Int64(id)) }) else { throw APIError.notFound("no dataset \(id)") }
        return d
    }

    func listDatasets(_ request: Request) throws -> Response {
        let p = request.uri.queryParameters
        var all = try index { try state.store.datasets() }
        if let m = p.get("modality") { all = all.filter { $0.modality == m } }
        if let layout = p.get("layout") { all = all.filter { $0.layout == layout } }
        if let q = p.get("q")?.lowercased(), !q.isEmpty { all = all.filter { $0.name.lowercased().contains(q) || $0.folder.lowercased().contains(q) } }
        switch p.get("sort") ?? "name" {
        case "name": all.sort { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) }
        case "files": all.sort { ($1.files, $0.id) < ($0.files, $1.id) }
        case "cases": all.sort { ($1.cases, $0.id) < ($0.cases, $1.id) }
        case "bytes": all.sort { ($1.bytes, $0.id) < ($0.bytes, $1.id) }
        default: throw APIError.badRequest("sort must be name, files, cases or bytes")
        }
        return try json(DatasetList(items: all))
    }

    struct DatasetList: Encodable { var items: [IndexedDataset] }

    // MARK: Catalog

    func catalog() throws -> Catalog {
        do { return try state.catalog.catalogOrStarter() } catch {
            throw APIError(.serviceUnavailable, "catalog_unavailable", error.description)
        }
    }

    func catalogEntries(_ request: Request) throws -> Response {
        let c = try catalog()
        return try json(CatalogBody(source: c.source, entries: c.entries))
    }

    struct CatalogBody: Encodable {
        var source: String
        var entries: [CatalogEntry]
    }

    func searchCatalog(_ request: Request) throws -> Response {
        let p = request.uri.queryParameters
        var q = CatalogQuery()
        q.modalities = p.getAll("modality").filter { !$0.isEmpty }
        q.anatomy = p.get("anatomy").flatMap { $0.isEmpty ? nil : $0 }
        q.task = p.get("task").flatMap { $0.isEmpty ? nil : $0 }
        q.dim = p.get("dim").flatMap { $0.isEmpty ? nil : $0 }
        q.access = p.get("access").flatMap { $0.isEmpty ? nil : $0 }
        q.platform = p.get("platform").flatMap { $0.isEmpty ? nil : $0 }
        q.disease = p.get("disease").flatMap { $0.isEmpty ? nil : $0 }
        q.text = p.get("q").flatMap { $0.isEmpty ? nil : $0 }
        if let l = p.get("labelled") {
            guard l == "true" || l == "false" else { throw APIError.badRequest("labelled must be true or false") }
            q.labelled = l == "true"
        }
        let result: CatalogSearchResult
        do throws(CatalogSearchError) {
            result = try SearchCatalog.run(CatalogSearchRequest(query: q), in: state.catalog)
        } catch {
            switch error {
            case .invalidTerm(let e): throw APIError.badRequest(e.description)
            case .store(let e): throw APIError(.serviceUnavailable, "catalog_unavailable", e.description)
            }
        }
        return try json(result)
    }

    // MARK: Portal

    func portalFile(_ name: String) throws -> Response {
        guard let file = state.portal.files[name] else { throw APIError.notFound("no portal file \(name)") }
        return HTTP.bytes(file.bytes, contentType: file.type, extra: [(.cacheControl, "no-cache")])
    }
}

/// The position of a streamed download (one page ahead at a time).
final class Cursor: @unchecked Sendable {
    private let lock = NSLock()
    private var query: FileQuery?
    private(set) var first = true

    init(_ q: FileQuery) { query = q }

    func next() -> FileQuery? { lock.withLock { query } }

    func advance(_ next: Int64?) {
        lock.withLock {
            first = false
            if let next { query?.after = next } else { query = nil }
        }
    }
}
