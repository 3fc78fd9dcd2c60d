import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import ImagingXDatasets
/// Controlled vocabularies for catalog fields, and the normalisers that map the survey's free
/// text onto them. Every normaliser returns the terms it recognised and the pieces it did not, so
/// nothing is silently dropped.
public enum Vocabulary {
    /// Lower-cased, trimmed, inner whitespace collapsed.
    static func clean(_ s: String) -> String {
        trim(s.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\u{200D}" })
            .joined(separator: " "), " .;:-–?")
    }

    static func trim(_ s: String, _ chars: String) -> String {
        let characters = Set(chars)
        var sub = Substring(s)
        while let f = sub.first, characters.contains(f) { sub = sub.dropFirst() }
        while let l = sub.last, characters.contains(l) { sub = sub.dropLast() }
        return String(sub)
    }

    static func pieces(_ raw: String, separators: Set<Character>) -> [String] {
        raw.split(whereSeparator: { separators.contains($0) }).map { clean(String($0)) }.filter { !$0.isEmpty }
    }

    static let missing: Set<String> = ["na", "n/a", "-", "none", "no", "unknown", ""]

    // MARK: Modality

    /// Survey spellings of modalities (cleaned) and the terms each names; an empty list is text that
    /// names no imaging modality (SR, OT) but is not unrecognised either.
    static let modalityTerms: [String: [Modality]] = [
        "ct": [.ct], "fbct": [.ct], "cbct": [.ct], "mr": [.mr], "mri": [.mr], "pet": [.pet], "pt": [.pet],
        "spect": [.spect], "nm": [.spect], "us": [.us], "ultrasound": [.us], "x-ray": [.xray], "xray": [.xray],
        "3d x-ray": [.xray], "cr": [.xray, .cr], "dx": [.xray, .dx], "mg": [.xray, .mg],
        "mammography": [.xray, .mg], "rf": [.xray], "xa": [.xray, .xa], "3d dsa": [.xray, .xa],
        "oct": [.oct], "octa (ct)": [.oct], "octa": [.oct], "fundus": [.fundus], "fundus photo": [.fundus],
        "fundus (cfp)": [.fundus], "fundus photo (cfp)": [.fundus], "fundus (iris)": [.fundus],
        "endoscopy": [.endoscopy], "colposcopy": [.endoscopy], "colposcopy (capsule)": [.endoscopy],
        "dermoscopy": [.dermoscopy], "histopathology (wsi)": [.histopathologyWSI], "wsi": [.histopathologyWSI],
        "histopathology (patch)": [.histopathologyPatch], "histopathology": [.histopathologyWSI],
        "histo": [.histopathologyWSI], "histopathology?": [.histopathologyWSI], "pathology": [.histopathologyWSI],
        "biopsy slides": [.histopathologyWSI], "microscopy": [.microscopy], "3d microscopy": [.microscopy],
        "infrared": [.infrared], "infrared reflectance imaging": [.infrared], "rgb": [.photography],
        "digital photography": [.photography], "sc": [.photography], "eeg": [.eeg], "meg": [.meg],
        "rtstruct": [.rt], "rtdose": [.rt], "rtplan": [.rt], "rtimage": [.rt], "seg": [.rt], "sr": [],
        "ot": [], "others": [], "multi": [.multi], "series data": [],
    ]

    /// Modality terms of a raw value ("CT/ MR/ PET", "PET/CT", "OCTA (CT)") and the pieces not
    /// recognised. "OCTA (CT)" is OCT angiography, not CT; "Multi" hides the real modalities.
    public static func modality(_ raw: String) -> (terms: Set<Modality>, unknown: [String]) {
        var terms = Set<Modality>()
        var unknown: [String] = []
        let whole = clean(raw)
        if let t = modalityTerms[whole] { return (Set(t), []) }
        for p in pieces(raw, separators: ["/", ","]) where !missing.contains(p) {
            if let t = modalityTerms[p] { terms.formUnion(t) } else { unknown.append(p) }
        }
        return (terms, unknown)
    }

    // MARK: Anatomy

    /// A small hierarchy: each structure and the region it belongs to (nil for a top region).
    public static let anatomyParent: [String: String?] = [
        "head": nil, "neck": nil, "chest": nil, "abdomen": nil, "pelvis": nil, "spine": nil, "extremities": nil,
        "whole-body": nil, "skin": nil, "blood": nil, "cell": nil, "eye": nil,
        "brain": "head", "hippocampus": "brain", "cerebellum": "brain", "brainstem": "brain", "pituitary": "brain",
        "skull": "head", "teeth": "head", "mandible": "head", "cochlea": "head", "oral cavity": "head",
        "head-neck": nil, "thyroid": "neck", "carotid": "neck", "salivary gland": "neck",
        "retina": "eye", "iris": "eye", "optic nerve": "eye",
        "lung": "chest", "heart": "chest", "breast": "chest", "mediastinum": "chest", "airway": "chest",
        "ribs": "chest", "aorta": "chest", "esophagus": "chest", "thymus": "chest", "pulmonary artery": "lung",
        "atrium": "heart", "mitral valve": "heart",
        "liver": "abdomen", "kidney": "abdomen", "pancreas": "abdomen", "spleen": "abdomen", "gallbladder": "abdomen",
        "stomach": "abdomen", "bowel": "abdomen", "colon": "bowel", "rectum": "bowel", "adrenal": "abdomen",
        "gastrointestinal": "abdomen",
        "prostate": "pelvis", "bladder": "pelvis", "uterus": "pelvis", "cervix": "pelvis", "ovary": "pelvis",
        "placenta": "pelvis", "vagina": "pelvis", "anus": "pelvis", "femoral head": "pelvis",
        "vertebra": "spine", "intervertebral disc": "spine",
        "knee": "extremities", "hand": "extremities", "foot": "extremities", "shoulder": "extremities",
        "elbow": "extremities", "bone": "extremities", "cartilage": "extremities",
        "lymph node": "whole-body", "vessel": "whole-body", "nerve": "whole-body", "soft tissue": "whole-body",
        "bone marrow": "blood", "nuclei": "cell", "platelet": "blood", "lymphocyte": "blood",
    ]

    static let anatomySynonyms: [String: [String]] = [
        "lungs": ["lung"], "lung (thorax)": ["lung"], "thorax": ["chest"], "thoracic": ["chest"], "kidneys": ["kidney"],
        "head and neck": ["head-neck"], "head-neck": ["head-neck"], "head–neck": ["head-neck"],
        "full body": ["whole-body"], "whole body": ["whole-body"], "whole-body": ["whole-body"], "body": ["whole-body"],
        "multi-organ": ["whole-body"], "various": ["whole-body"], "skeleton": ["whole-body"], "multi-bone": ["bone"],
        "colorectal": ["colon"], "large bowel": ["colon"], "small bowel": ["bowel"], "gi tract": ["gastrointestinal"],
        "pelvic": ["pelvis"], "pelvic bone": ["pelvis"], "prostate (pelvis)": ["prostate"], "femoral heads": ["femoral head"],
        "lumbar vertebrae": ["vertebra"], "intervertebral discs": ["intervertebral disc"], "clavicle": ["bone"],
        "mammary": ["breast"], "eye vessel": ["retina"], "optic nerve head": ["optic nerve"], "optic nerves": ["optic nerve"],
        "chiasm": ["optic nerve"], "pupil": ["iris"], "pituitary gland": ["pituitary"], "thyroid gland": ["thyroid"],
        "carotid artery": ["carotid"], "carotid arteries": ["carotid"], "internal carotid artery": ["carotid"],
        "salivary glands": ["salivary gland"], "lymph": ["lymph node"], "lymph nodes": ["lymph node"],
        "lymphatic": ["lymph node"], "lymphatic system": ["lymph node"], "pelvic lymph nodes": ["lymph node"],
        "seminal vesicles": ["prostate"], "female reproductive system": ["uterus"], "cystic duct": ["gallbladder"],
        "cystic artery": ["gallbladder"], "hepatocystic triangle": ["liver"], "abdominal organs": ["abdomen"],
        "vessel structures": ["vessel"], "artificial vessel": ["vessel"], "trachea": ["airway"], "arm": ["extremities"],
        "leg": ["extremities"], "calf": ["extremities"], "limbs": ["extremities"], "brachial plexus": ["nerve"],
        "inferior alveolar nerve": ["nerve"], "lip": ["oral cavity"], "tongue": ["oral cavity"], "gland": [],
        "polyp": ["colon"], "surface": [], "instrument": [], "phantom": [], "porcine cadaver": [],
        "neck": ["neck"], "pancr": ["pancreas"], "paro": ["salivary gland"], "waldeyer'": ["lymph node"],
    ]

    /// Structures of a raw value ("Kidney, Pancreas,", "Chest/ Abdomen/ Pelvis", "Lungs").
    public static func anatomy(_ raw: String) -> (terms: Set<String>, unknown: [String]) {
        var terms = Set<String>()
        var unknown: [String] = []
        for p in pieces(raw.replacing("...", with: ""), separators: ["/", ",", ";"]) where !missing.contains(p) {
            if let s = anatomySynonyms[p] { terms.formUnion(s) }
            else if anatomyParent[p] != nil { terms.insert(p) }
            else if p.hasSuffix("s"), anatomyParent[String(p.dropLast())] != nil { terms.insert(String(p.dropLast())) }
            else if modalityTerms[p] != nil || p == "cell" { terms.insert(p == "cell" ? "cell" : p); if p != "cell" { unknown.append(p) } }
            else { unknown.append(p) }
        }
        return (terms, unknown)
    }

    /// A structure and every region above it ("colon" → colon, bowel, abdomen).
    public static func ancestors(_ term: String) -> [String] {
        var out = [term]
        var t = term
        while let parent = anatomyParent[t] ?? nil, !out.contains(parent) {
            out.append(parent)
            t = parent
        }
        return out
    }

    // MARK: Task, dim, samples, access

    public static let tasks = ["seg", "cls", "det", "reg", "rec", "pred", "track", "gen", "vqa", "report", "qa",
                               "est", "loc", "retrieval", "atlas"]
    static let taskTerms: [String: String] = [
        "seg": "seg", "segmentation": "seg", "cls": "cls", "classification": "cls", "det": "det", "detection": "det",
        "loc": "loc", "localization": "loc", "lmk": "loc", "reg": "reg", "registration": "reg", "rec": "rec",
        "recon": "rec", "reconstruction": "rec", "syn": "gen", "gen": "gen", "pred": "pred", "prog": "pred",
        "surv": "pred", "mgmt": "pred", "est": "est", "meas": "est", "measurement": "est", "quan": "est",
        "stereo matching": "est", "track": "track", "tracking": "track", "trk": "track", "vqa": "vqa",
        "caption": "report", "captioning": "report", "report": "report", "qa": "qa", "iqa": "qa",
        "retrieval": "retrieval", "atlas": "atlas", "lab": "seg", "rest": "rec",
    ]

    /// Tasks of a raw value ("Seg/ Cls", "Cls, Det, VQA"). "Reg" is kept as registration (the
    /// survey uses it for registration and regression); "QA" is quality assessment, not VQA.
    public static func task(_ raw: String) -> (terms: Set<String>, unknown: [String]) {
        var terms = Set<String>()
        var unknown: [String] = []
        for p in pieces(raw, separators: ["/", ","]) where !missing.contains(p) {
            if let t = taskTerms[p] { terms.insert(t) } else { unknown.append(p) }
        }
        return (terms, unknown)
    }

    public static func dim(_ raw: String) -> (terms: Set<String>, unknown: [String]) {
        var terms = Set<String>()
        var unknown: [String] = []
        for p in pieces(raw, separators: ["/", ",", "+"]) where !missing.contains(p) {
            switch p {
            case "2d": terms.insert("2D")
            case "3d": terms.insert("3D")
            case "4d": terms.insert("4D")
            case "video": terms.insert("video")
            case "text": terms.insert("text")
            default: unknown.append(p)
            }
        }
        return (terms, unknown)
    }

    /// "2.7k" → 2700, "200+" → 200 (a lower bound), "1,234" → 1234, "0"/"NA" → nil.
    public static func samples(_ raw: String) -> (count: Int?, lowerBound: Bool) {
        var s = clean(raw).replacing(",", with: "").replacing(" ", with: "")
        let lowerBound = s.hasSuffix("+") || s.hasPrefix(">")
        s = trim(s, "+>~≈")
        var scale = 1.0
        if s.hasSuffix("k") { scale = 1_000; s.removeLast() }
        else if s.hasSuffix("m") { scale = 1_000_000; s.removeLast() }
        guard let v = Double(s), v.isFinite, v > 0 else { return (nil, lowerBound) }
        return (Int((v * scale).rounded()), lowerBound)
    }

    /// The unit a sample count most likely counts, from the dimensionality.
    static func unit(_ dims: Set<String>) -> String {
        if dims.contains("3D") || dims.contains("4D") { return dims.contains("2D") ? "images or volumes" : "volumes" }
        if dims.contains("video") && !dims.contains("2D") { return "videos" }
        return dims.isEmpty ? "unknown" : "images"
    }
}
