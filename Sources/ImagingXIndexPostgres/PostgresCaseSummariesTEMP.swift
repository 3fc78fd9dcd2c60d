// TEMPORARY (branch pgserve): the integrator's PostgresDatasets.swift implements these two reads
// with the dataset pass on PostgreSQL; delete this file when merging it. They are here only so
// that `PostgresIndexStore` conforms to `ServiceIndexStore` on this branch: they read the tables
// as SQLite's `datasets(root:)` and `caseSummaries(dataset:)` do (DatasetStore.swift).
import FoundationEssentials
import ImagingXDatasets
import ImagingXIndex
import PostgresNIO

extension PostgresIndexStore {
    public func datasets(root: Int64?) throws(IndexError) -> [IndexedDataset] {
        try withConnection("datasets") { c in
            var binds = PostgresBindings()
            if let root { binds.append(root) }
            return try query(c, "SELECT \(Self.datasetColumns) FROM datasets d JOIN roots r ON r.id = d.root_id"
                             + (root != nil ? " WHERE d.root_id = $1" : "") + " ORDER BY r.path, d.folder", binds).rows.map(Self.dataset)
        }
    }

    public func caseSummaries(dataset id: Int64) throws(IndexError) -> [String: CaseSummary] {
        try withConnection("case summaries") { c in
            var binds = PostgresBindings()
            binds.append(id)
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
            var out: [String: CaseSummary] = [:]
            for row in try query(c, "SELECT case_id, summary FROM cases WHERE dataset_id = $1", binds).rows {
                let (caseID, text) = try row.decode((String, String).self)
                if let summary = try? decoder.decode(CaseSummary.self, from: Data(text.utf8)) { out[caseID] = summary }
            }
            return out
        }
    }
}
