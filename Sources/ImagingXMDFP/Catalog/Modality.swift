/// An imaging modality of the catalog's controlled vocabulary. The cases, in declaration order,
/// are the vocabulary (`allCases`); X-ray keeps its DICOM kinds (CR, DX, MG, XA) as refinements.
///
/// Encoded as its raw value, so JSON reads as before ("CT", "X-ray", "histopathology-WSI");
/// decoding refuses text outside the vocabulary. Ordered by raw value, the order a sort of the
/// old strings gave ("CT" < "MR" < "X-ray" < "dermoscopy"). A file's own DICOM Modality (0008,0060)
/// stays raw text in the record; `init?(normalising:)` reads it, or any other free text, onto this.
public enum Modality: String, CaseIterable, Comparable, Codable, Sendable, CustomStringConvertible {
    case ct = "CT"
    case mr = "MR"
    case pet = "PET"
    case spect = "SPECT"
    case us = "US"
    case xray = "X-ray"
    case cr = "CR"
    case dx = "DX"
    case mg = "MG"
    case xa = "XA"
    case oct = "OCT"
    case fundus
    case endoscopy
    case dermoscopy
    case histopathologyWSI = "histopathology-WSI"
    case histopathologyPatch = "histopathology-patch"
    case microscopy
    case infrared
    case video
    case photography
    case eeg = "EEG"
    case meg = "MEG"
    case rt = "RT"
    case multi

    /// The X-ray kinds that refine `.xray` (DICOM CR, DX, MG, XA).
    public static let xrayKinds: Set<Modality> = [.cr, .dx, .mg, .xa]

    /// Photographic modalities stored as 8-bit images (normalised by scaling, not z-score).
    public static let photographic: Set<Modality> = [.photography, .dermoscopy, .endoscopy, .fundus]

    public var isXRayKind: Bool { Self.xrayKinds.contains(self) }

    public var description: String { rawValue }

    public static func < (a: Modality, b: Modality) -> Bool { a.rawValue < b.rawValue }

    /// The one modality free text names: a vocabulary value in any case ("x-ray", "rt"), else what
    /// the catalog import reads it as (`Vocabulary.modality`: "MRI" → MR, "ct" → CT, "PT" → PET,
    /// "OCTA (CT)" → OCT angiography, not CT). An X-ray kind wins over the X-ray it refines
    /// ("Mammography" → MG). Nil when the text names no modality ("SR", "NA"), several ("PET/CT")
    /// or has a piece the vocabulary does not know.
    public init?(normalising text: String) {
        let cleaned = Vocabulary.clean(text)
        if let exact = Self.allCases.first(where: { $0.rawValue.lowercased() == cleaned }) {
            self = exact
            return
        }
        let read = Vocabulary.modality(text)
        guard read.unknown.isEmpty else { return nil }
        let terms = read.terms.contains(where: \.isXRayKind) ? read.terms.subtracting([.xray]) : read.terms
        guard terms.count == 1, let only = terms.first else { return nil }
        self = only
    }
}

extension Sequence<Modality> {
    /// The modalities in vocabulary sort order, joined: "CT/MR".
    func sortedNames(separator: String) -> String {
        sorted().map(\.rawValue).joined(separator: separator)
    }
}
