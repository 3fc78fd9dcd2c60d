import ImagingXIndex
#if canImport(Glibc)
import Glibc
#endif

// The dataset pass of `index`: the datasets under a root, found by the fingerprint's layout
// rules, re-fingerprinted only when their files changed, and then from the stored case
// summaries of the cases whose files did not change (the summaries merge exactly).

extension Application {
    /// Dataset folders under a root, relative to it: the root itself when its layout is not
    /// plain (or it holds images and no sub-folder does); otherwise each sub-folder that holds files.
    public static func datasetFolders(root: String) -> [String] {
        if CaseFinder.detect(root) != .plain { return [""] }
        let names = Walker.listNames(root).filter { !$0.hasPrefix(".") }.sorted { Walker.bytewiseLess($0, $1) }
        let folders = names.filter { Walker.isDirectory(root + "/" + $0) && holdsFiles(root + "/" + $0) }
        if folders.isEmpty { return names.isEmpty ? [] : [""] }
        return folders
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
    static func indexDatasets(root: IndexRoot, changed: Set<String>, store: IndexStore, jobs: Int,
                              progress: (String) -> Void) throws(IndexError) -> (Int, Int) {
        let folders = datasetFolders(root: root.path)
        _ = try store.pruneDatasets(root: root.id, keeping: Set(folders))
        let known = Dictionary(try store.datasets(root: root.id).map { ($0.folder, $0) }, uniquingKeysWith: { a, _ in a })
        var fingerprinted = 0, kept = 0
        for folder in folders {
            let prefix = folder.isEmpty ? "" : folder + "/"
            let touched = changed.contains { $0.hasPrefix(prefix) }
            if let stored = known[folder], stored.fingerprintedAt != nil, !touched {
                kept += 1
                continue
            }
            progress(folder.isEmpty ? root.path : folder)
            let full = folder.isEmpty ? root.path : root.path + "/" + folder
            let reuse = try known[folder].map { d throws(IndexError) in try store.caseSummaries(dataset: d.id) } ?? [:]
            let (info, cases) = summarizeIncrementally(full, prefix: prefix, changed: changed, stored: reuse, jobs: jobs)
            let fingerprint = Fingerprinter.reduce(cases, info: info)
            let json = (try? Fingerprinter.encode(fingerprint)) ?? Array("{}\n".utf8)
            let modality = fingerprint.by_modality.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
            let name = info.name ?? (folder.isEmpty ? String(root.path.split(separator: "/").last ?? "") : String(folder.split(separator: "/").last!))
            try store.saveDataset(DatasetWrite(folder: folder, name: name, layout: fingerprint.layout.rawValue, modality: modality,
                                               cases: cases, casesFailed: fingerprint.cases_failed.count, fingerprint: json),
                                  root: root.id, at: Timestamp.now())
            fingerprinted += 1
        }
        return (fingerprinted, kept)
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
