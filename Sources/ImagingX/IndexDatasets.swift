import FoundationEssentials
import ImagingXBytes
import ImagingXIndex
#if canImport(Glibc)
import Glibc
#endif

// The dataset pass of `index`: the datasets under a root, found by the fingerprint's layout
// rules, re-fingerprinted only when their files changed, and then from the stored case
// summaries of the cases whose files did not change (the summaries merge exactly).

extension Application {
    /// Dataset folders under a root, relative to it ("" is the root itself). A folder whose layout
    /// is not plain (dataset.json, imagesTr, KiTS or BraTS case folders) is one dataset. A folder
    /// that holds no image file itself and has such a dataset among its sub-folders is a collection:
    /// each sub-folder holding files is looked at by the same rule. Any other folder (images at its
    /// top, a TCIA patient/study/series tree) is one plain dataset. The root counts as a collection
    /// when it holds no image file itself, so a lab store's top folders are its datasets.
    public static func datasetFolders(root: String) -> [String] {
        if CaseFinder.detect(root) != .plain { return [""] }
        if hasImagesAtTop(root) { return [""] }
        var out: [String] = []
        collect(root: root, relative: "", depth: 0, into: &out)
        return out.isEmpty && holdsFiles(root) ? [""] : out
    }

    /// The sub-folders of a collection, each a dataset or (when it is a collection too) expanded.
    static func collect(root: String, relative: String, depth: Int, into out: inout [String]) {
        let base = relative.isEmpty ? root : root + "/" + relative
        let names = Walker.listNames(base).filter { !$0.hasPrefix(".") }.sorted { Walker.bytewiseLess($0, $1) }
        for name in names where Walker.isDirectory(base + "/" + name) && holdsFiles(base + "/" + name) {
            let rel = relative.isEmpty ? name : relative + "/" + name
            let full = base + "/" + name
            if depth < 4, CaseFinder.detect(full) == .plain, !hasImagesAtTop(full), isCollection(full) {
                collect(root: root, relative: rel, depth: depth + 1, into: &out)
            } else {
                out.append(rel)
            }
        }
    }

    /// A folder with a non-plain dataset among its sub-folders.
    static func isCollection(_ folder: String) -> Bool {
        Walker.listNames(folder).contains { name in
            !name.hasPrefix(".") && Walker.isDirectory(folder + "/" + name) && CaseFinder.detect(folder + "/" + name) != .plain
        }
    }

    /// A regular file directly in the folder (hidden ones and dataset.json aside).
    static func hasImagesAtTop(_ folder: String) -> Bool {
        Walker.listNames(folder).contains { name in
            guard !name.hasPrefix("."), name != "dataset.json" else { return false }
            var st = stat()
            return stat(folder + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        }
    }

    /// A folder with at least one regular file somewhere below it (hidden ones aside).
    static func holdsFiles(_ folder: String, depth: Int = 0) -> Bool {
        guard depth < 32 else { return false }
        for name in Walker.listNames(folder) where !name.hasPrefix(".") {
            let path = folder + "/" + name
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFREG { return true }
            if (st.st_mode & S_IFMT) == S_IFDIR, holdsFiles(path, depth: depth + 1) { return true }
        }
        return false
    }

    /// Fingerprints the root's datasets that hold a changed path (or were never fingerprinted);
    /// returns (fingerprinted, kept).
    static func indexDatasets(root: IndexRoot, changed: Set<String>, store: any DatasetIndexStore, jobs: Int, shard: Shard? = nil,
                              progress: (_ done: Int, _ total: Int) -> Void) throws(IndexError) -> (Int, Int) {
        let folders = datasetFolders(root: root.path)
        _ = try store.pruneDatasets(root: root.id, keeping: Set(folders))
        let known = Dictionary(try store.datasets(root: root.id).map { ($0.folder, $0) }, uniquingKeysWith: { a, _ in a })
        // Shard writers sharing the index: each keeps its part of every dataset, and the last
        // part in reduces the dataset (exactly as `merge` reduces part indexes).
        let shared = shard.flatMap { store.sharesShards ? $0 : nil }
        var fingerprinted = 0, kept = 0
        // The datasets to fingerprint: never fingerprinted, or holding a changed path. A shard
        // sharing the index sees only its own changes, but owns cases whose files other shards
        // read: it makes its part again whenever the folder's state on disk is not its part's.
        var states: [String: String] = [:]
        var todo: [String] = []
        for folder in folders {
            let prefix = folder.isEmpty ? "" : folder + "/"
            if let shared {
                let state = folderState(folder.isEmpty ? root.path : root.path + "/" + folder)
                states[folder] = state
                let part = try store.datasetPart(root: root.id, folder: folder, shard: shared).flatMap { try? DatasetPart.decode($0) }
                if part?.state != state || known[folder]?.fingerprintedAt == nil { todo.append(folder) }
                continue
            }
            guard let stored = known[folder], stored.fingerprintedAt != nil else { todo.append(folder); continue }
            if changed.contains(where: { $0.hasPrefix(prefix) }) { todo.append(folder) }
        }
        kept = folders.count - todo.count
        progress(0, todo.count)
        for folder in todo {
            let prefix = folder.isEmpty ? "" : folder + "/"
            let full = folder.isEmpty ? root.path : root.path + "/" + folder
            let info: CaseFinder.DatasetInfo, cases: [CaseSummary]
            if let shard {
                // A shard's part: the cases of the folders it owns, and the layout facts the
                // merge needs to reduce all parts' cases (kept in `meta`).
                (info, cases) = Fingerprinter.summarizeFolder(full, jobs: jobs, shard: shard, shardPrefix: folder)
                if let json = try? JSONEncoder().encode(info) {
                    try store.setMeta(IndexStore.datasetInfoKey(folder), String(decoding: json, as: UTF8.self))
                }
            } else {
                let reuse = try known[folder].map { d throws(IndexError) in try store.caseSummaries(dataset: d.id) } ?? [:]
                (info, cases) = summarizeIncrementally(full, prefix: prefix, changed: changed, stored: reuse, jobs: jobs)
            }
            // The dataset's DICOM series volumes, as `imagingx series` gives them (headers only),
            // written in the dataset's own transaction.
            let candidates = CaseFinder.dicomCandidates(full).filter { c in
                guard let shard else { return true }
                let dir = (prefix + c).split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
                return shard.owns(directory: Array(dir.utf8))
            }
            let volumes = candidates.isEmpty ? []
                : SeriesAssembler.scan(candidates.map { WalkEntry(fullPath: full + "/" + $0, path: prefix + $0) }, jobs: jobs, stats: false)
            if let shared {
                let part: [UInt8]
                do { part = try DatasetPart(folder: folder, info: info, cases: cases, series: volumes, state: states[folder]).encoded() } catch {
                    throw .database(path: store.location, detail: "dataset \(folder): \(error)")
                }
                try store.saveDatasetPart(part, root: root.id, folder: folder, shard: shared, at: Timestamp.now()) { parts in
                    try reduceSharedParts(parts, of: shared.count, root: root, folder: folder)
                }
            } else {
                try store.saveDataset(datasetWrite(root: root, folder: folder, info: info, cases: cases, series: volumes),
                                      root: root.id, at: Timestamp.now())
            }
            fingerprinted += 1
            progress(fingerprinted, todo.count)
        }
        return (fingerprinted, kept)
    }

    /// The dataset once all `count` shards' parts are in (nil before), as `merge` reduces it.
    static func reduceSharedParts(_ parts: [Int: [UInt8]], of count: Int, root: IndexRoot, folder: String) throws -> DatasetWrite? {
        guard parts.count == count, (0..<count).allSatisfy({ parts[$0] != nil }) else { return nil }
        let pieces = try (0..<count).map { k in (part: "shard \(k)/\(count)", data: try DatasetPart.decode(parts[k]!)) }
        // Parts made from different states of the folder: a shard has yet to catch up (and will
        // reduce then); until then the dataset keeps its last whole state.
        guard Set(pieces.map(\.data.state)).count == 1 else { return nil }
        guard let info = pieces.first(where: { $0.data.info != nil })?.data.info else { return nil }
        let (cases, series) = try Application.reduceParts(folder: folder, pieces)
        return datasetWrite(root: root, folder: folder, info: info, cases: cases, series: series)
    }

    /// The state of a folder's files on disk: a digest of every file's path, size, mtime and
    /// ctime (hidden ones left out, as the walk leaves them out), in path order.
    static func folderState(_ folder: String) -> String {
        var lines: [String] = []
        func visit(_ dir: String, _ relative: String) {
            for name in Walker.listNames(dir) where !name.hasPrefix(".") {
                let path = dir + "/" + name
                let rel = relative.isEmpty ? name : relative + "/" + name
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFDIR { visit(path, rel); continue }
                // A link: its target's state (a linked folder is not followed: no loops).
                if (st.st_mode & S_IFMT) == S_IFLNK, stat(path, &st) != 0 || (st.st_mode & S_IFMT) == S_IFDIR { continue }
                lines.append("\(rel)\u{0}\(st.st_size)\u{0}\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)\u{0}\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)\n")
            }
        }
        visit(folder, "")
        lines.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return SHA256.hex(Array(lines.joined().utf8))
    }

    /// A dataset's row: its fingerprint reduced from `cases`, its name, layout and main modality.
    static func datasetWrite(root: IndexRoot, folder: String, info: CaseFinder.DatasetInfo, cases: [CaseSummary],
                             series: [SeriesRecord]) -> DatasetWrite {
        let fingerprint = Fingerprinter.reduce(cases, info: info)
        let json = (try? Fingerprinter.encode(fingerprint)) ?? Array("{}\n".utf8)
        let modality = fingerprint.by_modality.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
        let name = info.name ?? (folder.isEmpty ? String(root.path.split(separator: "/").last ?? "") : String(folder.split(separator: "/").last!))
        var write = DatasetWrite(folder: folder, name: name, layout: fingerprint.layout.rawValue, modality: modality,
                                 cases: cases, casesFailed: fingerprint.cases_failed.count, fingerprint: json)
        write.series = series
        return write
    }

    /// `Fingerprinter.summarizeFolder`, reusing the stored summary of every file case none of
    /// whose files changed. Series cases (DICOM) are assembled again whenever the dataset changed.
    static func summarizeIncrementally(_ folder: String, prefix: String, changed: Set<String>, stored: [String: CaseSummary],
                                       jobs: Int) -> (CaseFinder.DatasetInfo, [CaseSummary]) {
        let (info, files) = CaseFinder.find(folder)
        let hasSeries = files.contains { $0.series == true && $0.failure == nil }
            || (info.layout == .plain && !CaseFinder.dicomCandidates(folder).isEmpty)
        if hasSeries || stored.isEmpty {
            return Fingerprinter.summarizeFolder(folder, jobs: jobs)
        }
        var cases: [CaseSummary?] = Array(repeating: nil, count: files.count)
        var fresh: [(Int, CaseFiles)] = []
        for (i, c) in files.enumerated() {
            let paths = c.images + (c.label.map { [$0] } ?? [])
            let untouched = c.failure == nil && !paths.contains { changed.contains(prefix + $0) }
            if untouched, let old = stored[c.id], old.images == c.images, old.label == c.label, old.error == nil {
                cases[i] = old
            } else {
                fresh.append((i, c))
            }
        }
        let summaries = Fingerprinter.summarize(fresh.map(\.1), root: folder, jobs: jobs)
        for (k, (i, _)) in fresh.enumerated() where k < summaries.count { cases[i] = summaries[k] }
        return (info, cases.compactMap { $0 })
    }
}
