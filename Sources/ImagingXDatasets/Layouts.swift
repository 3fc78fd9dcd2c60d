import ImagingXScan
#if canImport(Glibc)
import Glibc
#endif

/// The case finders of each `DatasetLayout`. Every case a layout lists is returned: one whose
/// files are missing carries a `CaseFiles.Failure` (it becomes a `cases_failed` entry), never
/// dropped.
enum Layouts {
    static let kitsImaging: Set<String> = ["imaging.nii.gz", "imaging.nii"]
    static let kitsSegmentation = ["segmentation.nii.gz", "segmentation.nii"]
    /// BraTS channels in their fixed order: 2017–2021 names, and BraTS 2023's.
    static let bratsGenerations = [["t1", "t1ce", "t2", "flair"], ["t1n", "t1c", "t2w", "t2f"]]
    static let bratsChannelNames = [["T1", "T1CE", "T2", "FLAIR"], ["T1N", "T1C", "T2W", "T2F"]]
    /// Plain layout: file stems that name a folder's image or its label.
    static let bareImageNames: Set<String> = ["image", "img", "imaging"]
    static let bareLabelNames: Set<String> = ["mask", "label", "labels", "seg", "segmentation", "gt"]
    static let imageSuffixes = ["_img", "_image"]

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func full(_ root: String, _ path: String) -> String { path.hasPrefix("/") ? path : root + "/" + path }

    static func parent(_ rel: String) -> String { rel.split(separator: "/").dropLast().joined(separator: "/") }

    static func lastComponent(_ rel: String) -> String { rel.split(separator: "/").last.map(String.init) ?? rel }

    /// A listed path (MSD's `./imagesTr/x.nii.gz`): relative to `root` unless absolute. A listed
    /// `.nii.gz` that exists only as `.nii` (or the reverse) is used, with a note.
    static func resolve(_ root: String, _ listed: String) -> (path: String, note: String?)? {
        var rel = listed
        while rel.hasPrefix("./") { rel.removeFirst(2) }
        if exists(full(root, rel)) { return (rel, nil) }
        let lower = rel.lowercased()
        let alternative = lower.hasSuffix(".nii.gz") ? String(rel.dropLast(3)) : lower.hasSuffix(".nii") ? rel + ".gz" : nil
        if let alternative, exists(full(root, alternative)) {
            return (alternative, "listed_path_differs: \(listed) is listed; \(lastComponent(alternative)) was found and used")
        }
        return nil
    }

    // MARK: nnU-Net v2

    static func nnunet(_ root: String, info: CaseFinder.DatasetInfo) -> [CaseFiles] {
        if let object = CaseFinder.readJSONObject(root + "/dataset.json"), let dataset = object["dataset"] as? [String: Any] {
            // nnU-Net v2's optional `dataset` key: case id → {images: [...], label: ...}, paths
            // relative to the dataset folder.
            return dataset.keys.sorted().map { id in
                let entry = dataset[id] as? [String: Any] ?? [:]
                let images = (entry["images"] as? [Any])?.compactMap { $0 as? String } ?? (entry["images"] as? String).map { [$0] } ?? []
                return listedCase(root, id: id, images: images, label: entry["label"] as? String, what: "dataset[\(id)]")
            }
        }
        let images = CaseFinder.listFiles(root + "/imagesTr").filter { !Walker.isDirectory(root + "/imagesTr/" + $0) }
        let labels = Set(CaseFinder.listFiles(root + "/labelsTr"))
        var byCase: [String: [String]] = [:]
        for name in images {
            let (stem, ending) = CaseFinder.split(name)
            // nnU-Net v2 channel suffix _XXXX; MSD files have none.
            var id = stem
            if stem.count > 5, stem.dropLast(4).hasSuffix("_"), stem.suffix(4).allSatisfy(\.isNumber) {
                id = String(stem.dropLast(5))
            }
            byCase[id + "\u{0}" + ending, default: []].append("imagesTr/" + name)
        }
        var cases: [CaseFiles] = []
        var usedLabels = Set<String>()
        for (key, files) in byCase {
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false)
            let id = String(parts[0]), ending = String(parts[1])
            var notes: [String] = []
            if let fileEnding = info.fileEnding, fileEnding.lowercased() != ending.lowercased() {
                notes.append("file_ending_mismatch: \(files[0]) ends in \(ending), dataset.json's file_ending is \(fileEnding)")
            }
            // The label in the image's ending, the declared file_ending, or the other NIfTI spelling.
            var candidates = [id + ending]
            if let fileEnding = info.fileEnding { candidates.append(id + fileEnding) }
            candidates += [id + ".nii.gz", id + ".nii"]
            let label = candidates.first { labels.contains($0) }
            if let label { usedLabels.insert(label) }
            cases.append(CaseFiles(id: id, images: files.sorted(), label: label.map { "labelsTr/" + $0 },
                                   notes: notes.isEmpty ? nil : notes))
        }
        let ids = Set(cases.map(\.id))
        for name in labels.subtracting(usedLabels).sorted() where !Walker.isDirectory(root + "/labelsTr/" + name) {
            let id = CaseFinder.split(name).stem
            guard !ids.contains(id) else { continue }
            cases.append(CaseFiles(id: id, images: [], label: "labelsTr/" + name,
                                   failure: .init(path: "labelsTr/" + name, reason: "a label with no image in imagesTr")))
        }
        return cases
    }

    /// A case named by a list (nnU-Net's `dataset`, MSD's `training`, a MONAI datalist): its files
    /// resolved, or a failure naming the first that is missing.
    static func listedCase(_ root: String, id: String, images: [String], label: String?, what: String) -> CaseFiles {
        func tidy(_ p: String) -> String { var p = p; while p.hasPrefix("./") { p.removeFirst(2) }; return p }
        guard !images.isEmpty else {
            return CaseFiles(id: id, images: [], label: label, failure: .init(path: "", reason: "\(what) names no image"))
        }
        var notes: [String] = []
        var resolved: [String] = []
        for image in images {
            guard let r = resolve(root, image) else {
                return CaseFiles(id: id, images: images, label: label, failure: .init(path: tidy(image), reason: "image file missing"))
            }
            if let note = r.note { notes.append(note) }
            resolved.append(r.path)
        }
        var labelPath: String?
        if let label {
            guard let r = resolve(root, label) else {
                return CaseFiles(id: id, images: resolved, label: label, failure: .init(path: tidy(label), reason: "label file missing"))
            }
            if let note = r.note { notes.append(note) }
            labelPath = r.path
        }
        let folders = resolved.filter { Walker.isDirectory(full(root, $0)) }
        if !folders.isEmpty && resolved.count > 1 {
            return CaseFiles(id: id, images: resolved, label: labelPath,
                             failure: .init(path: folders[0], reason: "a DICOM series folder listed as one of several channels"))
        }
        return CaseFiles(id: id, images: resolved, label: labelPath, series: folders.isEmpty ? nil : true,
                         notes: notes.isEmpty ? nil : notes)
    }

    // MARK: MSD training list, MONAI datalist

    /// Cases from the lists under `keys` of `object`: entries are {image, label} (image a path or
    /// a list of channel paths) or a bare image path. The id is the first image's file stem; a
    /// stem already taken gives the path without its ending; the same again is a failure.
    static func trainingList(_ root: String, key keys: [String], object: [String: Any]) -> [CaseFiles] {
        var cases: [CaseFiles] = []
        var taken = Set<String>()
        for key in keys {
            guard let list = object[key] as? [Any] else { continue }
            for (index, entry) in list.enumerated() {
                let what = "\(key)[\(index)]"
                var images: [String] = []
                var label: String?
                if let path = entry as? String {
                    images = [path]
                } else if let dict = entry as? [String: Any] {
                    images = (dict["image"] as? [Any])?.compactMap { $0 as? String } ?? (dict["image"] as? String).map { [$0] } ?? []
                    label = dict["label"] as? String
                } else {
                    cases.append(CaseFiles(id: what, images: [], label: nil,
                                           failure: .init(path: "", reason: "\(what) is neither a path nor {image, label}")))
                    continue
                }
                var rel = images.first ?? what
                while rel.hasPrefix("./") { rel.removeFirst(2) }
                while rel.hasSuffix("/") { rel.removeLast() }
                var id = CaseFinder.split(lastComponent(rel)).stem
                if taken.contains(id) { id = CaseFinder.split(rel).stem }
                if taken.contains(id) {
                    cases.append(CaseFiles(id: what, images: images, label: label,
                                           failure: .init(path: images.first ?? "", reason: "listed twice (also case \(id))")))
                    continue
                }
                taken.insert(id)
                cases.append(listedCase(root, id: id, images: images, label: label, what: what))
            }
        }
        return cases
    }

    // MARK: KiTS

    static func kits(_ root: String) -> [CaseFiles] {
        CaseFinder.listFiles(root).filter { Walker.isDirectory(root + "/" + $0) }.map { folder in
            let names = CaseFinder.listFiles(root + "/" + folder)
            let segmentation = kitsSegmentation.first { names.contains($0) }.map { folder + "/" + $0 }
            guard let imaging = names.first(where: { kitsImaging.contains($0.lowercased()) }) else {
                return CaseFiles(id: folder, images: [], label: segmentation,
                                 failure: .init(path: folder, reason: "no imaging.nii.gz in the case folder"))
            }
            return CaseFiles(id: folder, images: [folder + "/" + imaging], label: segmentation)
        }
    }

    // MARK: BraTS

    /// The BraTS generation and channel index a file stem names, if any.
    static func bratsChannel(_ stem: String) -> (generation: Int, channel: Int)? {
        let lower = stem.lowercased()
        for (g, names) in bratsGenerations.enumerated() {
            for (i, n) in names.enumerated() where lower.hasSuffix("_" + n) || lower.hasSuffix("-" + n) { return (g, i) }
        }
        return nil
    }

    static func brats(_ root: String) -> ([CaseFiles], [String: String]) {
        var channelNames: [String: String] = [:]
        let cases = CaseFinder.listFiles(root).filter { Walker.isDirectory(root + "/" + $0) }.map { folder -> CaseFiles in
            let names = CaseFinder.listFiles(root + "/" + folder).filter { !Walker.isDirectory(root + "/" + folder + "/" + $0) }
            var found: [Int: [Int: [String]]] = [:]
            var label: [String] = []
            var other: [String] = []
            for name in names {
                let (stem, ending) = CaseFinder.split(name)
                guard CaseFinder.imageEndings.contains(ending.lowercased()) else { continue }
                if let channel = bratsChannel(stem) {
                    found[channel.generation, default: [:]][channel.channel, default: []].append(folder + "/" + name)
                } else if stem.lowercased().hasSuffix("_seg") || stem.lowercased().hasSuffix("-seg") {
                    label.append(folder + "/" + name)
                } else {
                    other.append(name)
                }
            }
            let generation = found.keys.max { (found[$0]?.count ?? 0, $1) < (found[$1]?.count ?? 0, $0) } ?? 0
            let channels = found[generation] ?? [:]
            let order = bratsGenerations[generation]
            let missing = order.indices.filter { channels[$0] == nil }.map { order[$0] }
            if !missing.isEmpty {
                return CaseFiles(id: folder, images: [], label: label.first,
                                 failure: .init(path: folder, reason: "missing BraTS channel(s): " + missing.joined(separator: ", ")))
            }
            if let twice = order.indices.first(where: { channels[$0]!.count > 1 }) {
                return CaseFiles(id: folder, images: [], label: label.first,
                                 failure: .init(path: folder, reason: "several files for BraTS channel \(order[twice]): "
                                                + channels[twice]!.joined(separator: ", ")))
            }
            if label.count > 1 {
                return CaseFiles(id: folder, images: [], label: nil,
                                 failure: .init(path: folder, reason: "several label files: " + label.joined(separator: ", ")))
            }
            if channelNames.isEmpty {
                for (i, n) in bratsChannelNames[generation].enumerated() { channelNames[String(i)] = n }
            }
            let notes = other.isEmpty ? nil : ["not_a_channel: \(other.joined(separator: ", ")) in the case folder are neither a BraTS channel nor the label"]
            return CaseFiles(id: folder, images: order.indices.map { channels[$0]![0] }, label: label.first, notes: notes)
        }
        return (cases, channelNames)
    }

    // MARK: plain

    /// Each image file is a case; its label is paired by name: `X_seg`/`X_mask`/… (the label
    /// suffixes) beside `X` or `X_img`/`X_image`, in any image ending (`.nii` beside `.nii.gz`),
    /// or a folder's `mask`/`label`/`seg`/`segmentation`/`gt` file beside its `image` (or its only
    /// image). A label with no image is a failed case. DICOM files are read as series elsewhere.
    static func plain(_ root: String, labelSuffixes: [String]) -> [CaseFiles] {
        var labelByKey: [String: [String]] = [:]
        var folderLabels: [String: [String]] = [:]
        var images: [String] = []
        for rel in CaseFinder.walkFiles(root, prefix: "") {
            let (stem, ending) = CaseFinder.split(rel)
            guard CaseFinder.imageEndings.contains(ending.lowercased()), ending.lowercased() != ".dcm" else { continue }
            let name = lastComponent(stem).lowercased()
            if bareLabelNames.contains(name) {
                folderLabels[parent(rel), default: []].append(rel)
            } else if let suffix = labelSuffixes.first(where: { !$0.isEmpty && stem.lowercased().hasSuffix($0.lowercased()) }) {
                labelByKey[String(stem.dropLast(suffix.count)), default: []].append(rel)
            } else {
                images.append(rel)
            }
        }
        let imagesPerFolder = Dictionary(grouping: images, by: parent).mapValues(\.count)
        var used = Set<String>()
        var cases: [CaseFiles] = []
        var ids = Set<String>()
        for rel in images.sorted() {
            let stem = CaseFinder.split(rel).stem
            let dir = parent(rel)
            let name = lastComponent(stem).lowercased()
            var key = stem
            if let suffix = imageSuffixes.first(where: { stem.lowercased().hasSuffix($0) }) { key = String(stem.dropLast(suffix.count)) }
            let bare = bareImageNames.contains(name)
            var candidates = (labelByKey[key] ?? []) + (key != stem ? labelByKey[stem] ?? [] : [])
            if bare || imagesPerFolder[dir] == 1 { candidates += folderLabels[dir] ?? [] }
            let label = candidates.first { !used.contains($0) }
            if let label { used.insert(label) }
            var id = bare && !dir.isEmpty ? dir : key
            if ids.contains(id) { id = stem }
            ids.insert(id)
            cases.append(CaseFiles(id: id, images: [rel], label: label))
        }
        let labels = labelByKey.values.flatMap { $0 } + folderLabels.values.flatMap { $0 }
        for rel in labels.sorted() where !used.contains(rel) {
            var id = CaseFinder.split(rel).stem
            if ids.contains(id) { id = rel }
            ids.insert(id)
            cases.append(CaseFiles(id: id, images: [], label: rel, failure: .init(path: rel, reason: "a label file with no image to pair it with")))
        }
        return cases
    }
}
