import Foundation
import Hummingbird
import ImagingX

/// The API under `/api/v1` (docs/openapi.json is the contract) and the portal's files at `/`.
/// Handlers parse, call the application and index layers, and write JSON.
struct Routes: Sendable {
    let state: ServiceState
    static let version = "0.7.0"

    /// Every route's path pattern (":x" is one segment) and its methods: a request for one of
    /// these paths with another method gets 405 with `Allow`, not 404.
    static let patterns: [(String, String)] = [("/", "GET"), ("/openapi.json", "GET"), ("/portal/:name", "GET")] + [
        ("health", "GET"), ("version", "GET"), ("roots", "GET"), ("jobs", "GET, POST"), ("jobs/:id", "GET"),
        ("jobs/:id/cancel", "POST"), ("files", "GET"), ("files/facets", "GET"), ("files/download", "GET"),
        ("files/:id", "GET"), ("files/:id/thumbnail", "GET"), ("datasets", "GET"), ("datasets/:id", "GET"),
        ("datasets/:id/fingerprint", "GET"), ("datasets/:id/nnunet-fingerprint", "GET"), ("datasets/:id/cases", "GET"),
        ("compat", "POST"), ("plans", "POST"), ("plans/:id", "GET"), ("plans/:id/export", "GET"), ("catalog", "GET"),
        ("catalog/search", "GET"), ("catalog/blueprint", "POST"), ("series", "GET"), ("catalog/vocabulary", "GET"),
    ].map { ("/api/v1/" + $0.0, $0.1) }

    static let maxPage = 1000
    /// The largest integer a JSON client reads exactly (2^53 − 1): ids and sizes beyond it are refused.
    static let maxInteger = 9_007_199_254_740_991

    static func allowedMethods(_ path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        // A constant segment beats a parameter ("files/facets" before "files/:id").
        let matches = patterns.filter { pattern, _ in
            let p = pattern.split(separator: "/", omittingEmptySubsequences: true)
            return p.count == parts.count && zip(p, parts).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }
        return matches.min { $0.0.filter { $0 == ":" }.count < $1.0.filter { $0 == ":" }.count }?.1
    }

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
        api.post("jobs/:id/cancel") { _, context in
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

        api.get("datasets/:id/cases") { _, context in try datasetCases(try dataset(context)) }
        api.get("series") { request, _ in
            var dataset: Int64?
            if let d = request.uri.queryParameters.get("dataset") {
                guard let v = Int64(d), v >= 0, v <= Self.maxInteger else { throw APIError.badRequest("dataset must be a dataset id") }
                dataset = v
            }
            let bytes = try index { try state.store.seriesJSON(dataset: dataset, limit: 10_000) }
            return HTTP.json(Array("{\"items\":".utf8) + bytes + Array("}".utf8))
        }
        api.get("files/:id/thumbnail") { _, context in try thumbnail(Int64(try intParameter(context, "id"))) }
        api.post("compat") { request, _ in try await compat(request) }
        api.post("plans") { request, _ in try await makePlan(request) }
        api.get("plans/:id") { _, context in
            let id = try intParameter(context, "id")
            guard let stored = try index({ try state.store.plan(id: Int64(id)) }) else { throw APIError.notFound("no plan \(id)") }
            return HTTP.json(Array(("{\"id\":\(id),\"request\":" + stored.request + ",\"plan\":" + stored.plan + "}").utf8))
        }
        api.get("plans/:id/export") { request, context in try exportPlan(request, id: try intParameter(context, "id")) }
        api.post("catalog/blueprint") { request, _ in try await blueprint(request) }
        api.get("catalog") { request, _ in try catalogEntries(request) }
        api.get("catalog/vocabulary") { _, _ in
            // The controlled vocabularies the catalog is normalised to (the portal's anatomy tree).
            var anatomy: [String: String?] = [:]
            for (term, parent) in Vocabulary.anatomyParent { anatomy[term] = parent }
            return try json(VocabularyBody(anatomy: anatomy, tasks: Vocabulary.tasks,
                                           modalities: Modality.allCases.map(\.rawValue), dims: ["2D", "3D", "4D", "video"]))
        }
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
        guard let text = context.parameters.get(name), let v = Int(text), v >= 0, v <= Self.maxInteger else {
            throw APIError.badRequest("\(name) must be an integer from 0 to \(Self.maxInteger)")
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

    func fileQuery(_ request: Request, defaultLimit: Int = 50) throws -> FileQuery {
        let p = request.uri.queryParameters
        var q = FileQuery()
        func text(_ name: String) throws -> String? {
            guard let v = p.get(name) else { return nil }
            guard !v.isEmpty, v.utf8.count <= 1024 else { throw APIError.badRequest("\(name) must be 1 to 1024 bytes") }
            // No stored text holds NUL (PostgreSQL cannot; SQLite's instr would stop at it and match everything).
            guard !v.utf8.contains(0) else { throw APIError.badRequest("\(name) must not contain a NUL character") }
            return v
        }
        func integer(_ name: String) throws -> Int? {
            guard let v = p.get(name) else { return nil }
            guard let i = Int(v), i >= 0, i <= Self.maxInteger else {
                throw APIError.badRequest("\(name) must be an integer from 0 to \(Self.maxInteger), not '\(v)'")
            }
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
            guard let c = Int64(cursor), c >= 0, c <= Self.maxInteger else { throw APIError.badRequest("cursor must be the next_cursor of a previous page") }
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
        // Counting every match costs a pass over them: only on request (`count=true`).
        let countParameter = request.uri.queryParameters.get("count") ?? "false"
        guard countParameter == "true" || countParameter == "false" else { throw APIError.badRequest("count must be true or false") }
        let page = try index { try state.store.filePageJSON(q) }
        let total = countParameter == "true" ? String(try index { try state.store.countFiles(q) }) : "null"
        var body = Array("{\"items\":".utf8)
        body += page.json
        body += Array((",\"next_cursor\":" + (page.next.map { "\"\($0)\"" } ?? "null") + ",\"total\":" + total + "}").utf8)
        return HTTP.json(body)
    }

    /// The matching records as `scan` writes them (CSV or JSON Lines), streamed page by page:
    /// a client that disconnects stops the reads.
    func downloadFiles(_ request: Request) throws -> Response {
        let format = request.uri.queryParameters.get("output") ?? "jsonl"
        guard let output = OutputFormat(rawValue: format) else { throw APIError.badRequest("output must be csv or jsonl") }
        var q = try fileQuery(request, defaultLimit: Self.maxPage)
        q.limit = Self.maxPage
        let store = state.store
        let cursor = Cursor(q)
        let statsParameter = request.uri.queryParameters.get("stats") ?? "false"
        guard statsParameter == "true" || statsParameter == "false" else { throw APIError.badRequest("stats must be true or false") }
        let withStats = statsParameter == "true"
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
        var q = DatasetQuery()
        q.modality = p.get("modality")
        q.layout = p.get("layout")
        q.text = p.get("q")
        if let sort = p.get("sort") {
            guard let s = DatasetQuery.Sort(rawValue: sort) else { throw APIError.badRequest("sort must be name, files, cases or bytes") }
            q.sort = s
        }
        let all = try index { try state.store.datasets(matching: q) }
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

    struct VocabularyBody: Encodable {
        var anatomy: [String: String?]
        var tasks: [String]
        var modalities: [String]
        var dims: [String]

        enum CodingKeys: String, CodingKey { case anatomy, tasks, modalities, dims }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            // A top region's parent is written as null, not left out.
            var nested = c.nestedContainer(keyedBy: AnyKey.self, forKey: .anatomy)
            for (term, parent) in anatomy.sorted(by: { $0.key < $1.key }) {
                try nested.encode(parent, forKey: AnyKey(term))
            }
            try c.encode(tasks, forKey: .tasks)
            try c.encode(modalities, forKey: .modalities)
            try c.encode(dims, forKey: .dims)
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct CatalogBody: Encodable {
        var source: String
        var entries: [CatalogEntry]
    }

    struct SearchBody: Encodable {
        var catalog: String
        var strict: [CatalogEntry]
        var near: [CatalogSearchResult.NearMatch]
        /// Parts of the query that were ignored, and why.
        var warnings: [String]
    }

    func searchCatalog(_ request: Request) throws -> Response {
        let p = request.uri.queryParameters
        func value(_ name: String) throws -> String? {
            guard let v = p.get(name) else { return nil }
            guard !v.isEmpty, v.utf8.count <= 1024 else { throw APIError.badRequest("\(name) must be 1 to 1024 bytes (leave it out to not filter)") }
            return v
        }
        var q = CatalogQuery()
        q.modalities = p.getAll("modality")
        if q.modalities.contains(where: { $0.isEmpty }) { throw APIError.badRequest("modality must not be empty") }
        q.anatomy = try value("anatomy")
        q.task = try value("task")
        q.dim = try value("dim")
        q.access = try value("access")
        q.platform = try value("platform")
        var warnings: [String] = []
        // Free text without a searchable word (only stop words or punctuation) filters nothing.
        for (name, text) in [("q", try value("q")), ("disease", try value("disease"))] {
            guard let text else { continue }
            if TextQuery(text).concepts.isEmpty {
                warnings.append("\(name) '\(text)' holds no word to search for: ignored")
            } else if name == "q" {
                q.text = text
            } else {
                q.disease = text
            }
        }
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
        return try json(SearchBody(catalog: result.catalog, strict: result.strict, near: result.near, warnings: warnings))
    }

    // MARK: Cases, thumbnails

    struct CaseItem: Encodable {
        var id: String
        var images: [String]
        var label: String?
        var dims: [Int]
        var spacing: [Double]
        var axcodes: String?
        var modality: String?
        var dtype: String?
        var label_voxels: [String: Int]
        var error: String?
        var findings: [String]
        var file_id: Int64?
    }

    struct CaseList: Encodable { var items: [CaseItem] }

    func datasetCases(_ d: IndexedDataset) throws -> Response {
        let cases = try index { try state.store.caseSummaries(dataset: d.id) }.values.sorted { $0.id < $1.id }
        let prefix = d.folder.isEmpty ? "" : d.folder + "/"
        let items = try cases.map { c in
            let first = c.images.first ?? c.errorPath
            let fileID = try first.flatMap { path in try index { try state.store.fileID(root: d.rootID, path: prefix + path) } }
            return CaseItem(id: c.id, images: c.images, label: c.label, dims: c.dims, spacing: c.spacing, axcodes: c.axcodes,
                            modality: c.modality, dtype: c.dtype?.rawValue, label_voxels: c.labelVoxels, error: c.error,
                            findings: c.findings, file_id: fileID)
        }
        return try json(CaseList(items: items))
    }

    func thumbnail(_ id: Int64) throws -> Response {
        guard let file = try index({ try state.store.fullPath(file: id) }) else { throw APIError.notFound("no file \(id)") }
        // The file must still lie inside its root (a link swapped since indexing cannot lead out).
        guard let real = realpath(file.path, nil) else { throw APIError.notFound("file \(id) is gone from disk") }
        let resolved = String(cString: real)
        free(real)
        guard resolved.hasPrefix(file.root + "/") else { throw APIError.forbidden("file \(id) now resolves outside its root") }
        switch Thumbnail.render(fullPath: resolved) {
        case .success(let png): return HTTP.bytes(png, contentType: "image/png", extra: [(.cacheControl, "max-age=60")])
        case .failure(let f): throw APIError(.notFound, "no_thumbnail", f.description)
        }
    }

    // MARK: Compatibility, plans, blueprint

    struct CompatBody: Decodable {
        var datasets: [Int64]
        var weights: [String: Double]?
        var threshold: Double?
    }

    struct CompatResponse: Encodable {
        struct Ref: Encodable { var id: Int64; var name: String }
        var id: Int64
        var datasets: [Ref]
        var pairs: [Compatibility]
        var groups: [FusionGroup]
        var threshold: Double
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request, shape: String) async throws -> (T, [UInt8]) {
        let bytes = try await HTTP.body(request)
        do { return (try JSONDecoder().decode(T.self, from: Data(bytes)), bytes) } catch {
            throw APIError.badRequest("the body must be JSON of the shape \(shape)")
        }
    }

    func analysisError(_ e: IndexAnalysisError) -> APIError {
        switch e {
        case .unknownDataset: APIError.notFound(e.description)
        case .index: APIError(.serviceUnavailable, "index_unavailable", e.description)
        case .notFingerprinted: APIError.conflict(e.description)
        default: APIError.badRequest(e.description)
        }
    }

    func compat(_ request: Request) async throws -> Response {
        let (body, raw) = try await decode(CompatBody.self, request, shape: "{\"datasets\": [id, id, …], \"weights\": {\"factor\": w}, \"threshold\": 0.6}")
        guard body.datasets.count <= 50 else { throw APIError.badRequest("at most 50 datasets") }
        var weights = CompatWeights()
        for (name, w) in body.weights ?? [:] {
            guard let factor = CompatFactor(rawValue: name) else {
                throw APIError.badRequest("unknown factor '\(name)'; known: " + CompatFactor.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard w.isFinite, w >= 0, w <= 100 else { throw APIError.badRequest("weight of \(name) must be between 0 and 100") }
            weights[factor] = w
        }
        let threshold = body.threshold ?? 0.6
        guard threshold.isFinite, (0...1).contains(threshold) else { throw APIError.badRequest("threshold must be between 0 and 1") }
        let catalog = try? state.catalog.catalogOrStarter()
        let result: (IndexedSelection, CompatReport)
        do throws(IndexAnalysisError) {
            result = try Application.compat(indexed: body.datasets, store: state.store, weights: weights, threshold: threshold, catalog: catalog)
        } catch { throw analysisError(error) }
        let (selection, report) = result
        var out = CompatResponse(id: 0, datasets: zip(selection.datasets, selection.names).map { .init(id: $0.id, name: $1) },
                                 pairs: report.pairs, groups: report.groups, threshold: report.threshold)
        let encoded = try jsonBytes(out)
        out.id = try index { try state.store.saveCompat(request: String(decoding: raw, as: UTF8.self), result: String(decoding: encoded, as: UTF8.self), at: Timestamp.now()) }
        return try json(out)
    }

    struct PlanBody: Decodable {
        var datasets: [Int64]
        var target: Target?
        enum Target: Decodable {
            case auto
            case spacing([Double])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self), s == "auto" { self = .auto; return }
                self = .spacing(try c.decode([Double].self))
            }
        }
    }

    func makePlan(_ request: Request) async throws -> Response {
        let (body, raw) = try await decode(PlanBody.self, request, shape: "{\"datasets\": [id, …], \"target\": \"auto\" | [z, y, x]}")
        guard (1...50).contains(body.datasets.count) else { throw APIError.badRequest("give 1 to 50 datasets") }
        var target: [Double]?
        if case .spacing(let s) = body.target ?? .auto { target = s }
        let result: (IndexedSelection, PlanResult)
        do throws(IndexAnalysisError) {
            result = try Application.plan(indexed: body.datasets, store: state.store, target: target)
        } catch { throw analysisError(error) }
        let planJSON = String(decoding: try jsonBytes(result.1.plan), as: UTF8.self)
        let id = try index { try state.store.savePlan(request: String(decoding: raw, as: UTF8.self), plan: planJSON, at: Timestamp.now()) }
        return HTTP.json(Array(("{\"id\":\(id),\"plan\":" + planJSON + "}").utf8))
    }

    /// One of the plan's exports, made afresh from the stored request (the index may have changed: the
    /// export says what the index holds now).
    func exportPlan(_ request: Request, id: Int) throws -> Response {
        let format = request.uri.queryParameters.get("format") ?? "nnunet"
        let files = ["nnunet": ("dataset.json", "application/json"), "monai": ("datalist.json", "application/json"),
                     "mdfp": ("data-meta.jsonl", "application/x-ndjson"), "csv": ("plan.csv", "text/csv")]
        guard let (name, type) = files[format] else { throw APIError.badRequest("format must be nnunet, monai, mdfp or csv") }
        guard let stored = try index({ try state.store.plan(id: Int64(id)) }),
              let body = try? JSONDecoder().decode(PlanBody.self, from: Data(stored.request.utf8)) else { throw APIError.notFound("no plan \(id)") }
        var target: [Double]?
        if case .spacing(let s) = body.target ?? .auto { target = s }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-plan-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do throws(IndexAnalysisError) {
            _ = try Application.plan(indexed: body.datasets, store: state.store, target: target, exportDirectory: dir)
        } catch { throw analysisError(error) }
        guard let data = FileManager.default.contents(atPath: dir + "/" + name) else { throw APIError.notFound("the plan wrote no \(name)") }
        return HTTP.bytes(Array(data), contentType: type, extra: [(.contentDisposition, "attachment; filename=\"\(name)\"")])
    }

    func blueprint(_ request: Request) async throws -> Response {
        let (rules, _) = try await decode(BlueprintRules.self, request, shape: "{\"task_types\": […], \"access\": […], \"labelled_only\": true, \"min_images\": 100, \"anatomy\": […], \"released_from\": 2015, \"released_to\": 2024, \"allow_3d_as_2d\": true, \"dim\": \"2D\"}")
        guard (rules.min_images ?? 0) <= Self.maxInteger else { throw APIError.badRequest("min_images is too large") }
        for year in [rules.released_from, rules.released_to].compactMap({ $0 }) where !(1900...2100).contains(year) {
            throw APIError.badRequest("release years must lie between 1900 and 2100")
        }
        let result: BlueprintResult
        let catalog = try catalog()
        do throws(BlueprintRules.Invalid) { result = try Blueprint.apply(rules, to: catalog) } catch {
            throw APIError.badRequest(error.description)
        }
        return try json(result)
    }

    func jsonBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return Array(try encoder.encode(value))
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
