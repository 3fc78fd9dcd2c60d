/// Free-text search as people type it: words match whole words (so "DR" is diabetic retinopathy,
/// not the "Dr" inside "VinDr"), British and American spellings are one word ("tumour" finds
/// "Tumor"), an abbreviation finds what it abbreviates and the reverse ("GBM" ⇄ "glioblastoma",
/// "CXR" ⇄ "chest X-ray", "DR" ⇄ "diabetic retinopathy"), a broader term finds its kinds
/// ("glioma" finds glioblastoma datasets), and a word of four letters or more also finds longer
/// words it begins ("lung" finds "lungs", "segment" finds "segmentation").
package struct TextQuery: Sendable {
    /// One thing the user asked for: any of these phrases (each a run of normalised words).
    package struct Concept: Sendable, Equatable {
        package var typed: String
        package var phrases: [[String]]
    }
    package var concepts: [Concept]

    /// A field searched, with how much a match in it counts towards relevance.
    package struct Field {
        var words: [String]
        var weight: Double
    }

    package init(_ raw: String) {
        let words = TextQuery.words(raw).filter { !TextQuery.stopWords.contains($0) }
        var concepts: [Concept] = []
        var i = 0
        while i < words.count {
            // The longest known phrase starting here is one concept ("chest xray", "diabetic retinopathy").
            var matched: (length: Int, group: [[String]])?
            for group in TextQuery.synonyms {
                for phrase in group where phrase.count > (matched?.length ?? 0) && i + phrase.count <= words.count
                    && Array(words[i..<(i + phrase.count)]) == phrase {
                    matched = (phrase.count, group)
                }
            }
            if let m = matched {
                let typed = words[i..<(i + m.length)].joined(separator: " ")
                concepts.append(Concept(typed: typed, phrases: TextQuery.expand(m.group)))
                i += m.length
            } else {
                concepts.append(Concept(typed: words[i], phrases: TextQuery.expand([[words[i]]])))
                i += 1
            }
        }
        self.concepts = concepts
    }

    /// Relevance of a text whose fields are given, or nil when a concept is missing from all of them.
    package func score(_ fields: [Field]) -> Double? {
        var total = 0.0
        for c in concepts {
            var best = 0.0
            for f in fields {
                for phrase in c.phrases {
                    guard let quality = TextQuery.find(phrase, in: f.words) else { continue }
                    best = max(best, f.weight * quality)
                }
            }
            guard best > 0 else { return nil }
            total += best
        }
        return total
    }

    // MARK: Words

    /// Lower-case words of letters and digits, with spelling variants folded to one form.
    /// "X-ray", "X ray" and "xray" are one word.
    package static func words(_ raw: String) -> [String] {
        var out: [String] = []
        var current = ""
        func flush() {
            if !current.isEmpty { out.append(spelling[current] ?? current) }
            current = ""
        }
        // "BrainTumour" is two words; "COVIDx", "VinDr" and "MRI" stay one (a capital after
        // three lower-case letters starts a word when three lower-case letters follow it).
        let chars = Array(raw)
        for (k, ch) in chars.enumerated() {
            guard ch.isLetter || ch.isNumber else { flush(); continue }
            if ch.isUppercase, k > 0, chars[k - 1].isLowercase, current.count >= 3 {
                var lower = 0
                while k + 1 + lower < chars.count, chars[k + 1 + lower].isLowercase { lower += 1 }
                if lower >= 3 { flush() }
            }
            current.append(contentsOf: ch.lowercased())
        }
        flush()
        // Join "x" "ray" / "x" "rays".
        var joined: [String] = []
        var k = 0
        while k < out.count {
            if out[k] == "x", k + 1 < out.count, out[k + 1] == "ray" || out[k + 1] == "rays" {
                joined.append("xray")
                k += 2
            } else {
                joined.append(out[k])
                k += 1
            }
        }
        return joined
    }

    /// Where `phrase` occurs in `words`: 1 for whole words, 0.7 when its last word only begins a
    /// longer word (four letters or more typed); nil when it does not occur.
    static func find(_ phrase: [String], in words: [String]) -> Double? {
        guard !phrase.isEmpty, phrase.count <= words.count else { return nil }
        var best: Double?
        for start in 0...(words.count - phrase.count) {
            var quality = 1.0
            var ok = true
            for (j, w) in phrase.enumerated() {
                let h = words[start + j]
                if h == w { continue }
                if w.count >= 4, h.hasPrefix(w) { quality = 0.7; continue }
                ok = false
                break
            }
            if ok {
                if quality == 1 { return 1 }
                best = quality
            }
        }
        return best
    }

    static let stopWords: Set<String> = ["a", "an", "and", "the", "of", "in", "for", "with", "on", "to", "or"]

    /// British → American spellings (both sides of a search are folded).
    static let spelling: [String: String] = [
        "tumour": "tumor", "tumours": "tumors", "tumoural": "tumoral", "oesophagus": "esophagus",
        "oesophageal": "esophageal", "haemorrhage": "hemorrhage", "haemorrhages": "hemorrhages",
        "haemorrhagic": "hemorrhagic", "haematoma": "hematoma", "oedema": "edema", "anaemia": "anemia",
        "leukaemia": "leukemia", "paediatric": "pediatric", "paediatrics": "pediatrics", "foetal": "fetal",
        "foetus": "fetus", "colour": "color", "ischaemic": "ischemic", "ischaemia": "ischemia",
        "oestrogen": "estrogen", "haemodynamic": "hemodynamic", "orthopaedic": "orthopedic",
        "gynaecology": "gynecology", "gynaecological": "gynecological", "radiographs": "radiograph",
        "xrays": "xray", "centre": "center", "localisation": "localization", "segmentations": "segmentation",
    ]

    /// Groups of phrases that name the same thing (after spelling folding).
    static let synonyms: [[[String]]] = [
        [["gbm"], ["glioblastoma"], ["glioblastoma", "multiforme"]],
        [["dr"], ["diabetic", "retinopathy"]],
        [["cxr"], ["chest", "xray"], ["chest", "radiograph"], ["chest", "radiography"]],
        [["ct"], ["computed", "tomography"]],
        [["mri"], ["mr"], ["magnetic", "resonance"]],
        [["pet"], ["positron", "emission", "tomography"]],
        [["oct"], ["optical", "coherence", "tomography"]],
        [["ich"], ["intracranial", "hemorrhage"]],
        [["ms"], ["multiple", "sclerosis"]],
        [["amd"], ["macular", "degeneration"]],
        [["copd"], ["chronic", "obstructive", "pulmonary"]],
        [["ad"], ["alzheimer"], ["alzheimers"]],
        [["hcc"], ["hepatocellular", "carcinoma"]],
        [["nsclc"], ["non", "small", "cell", "lung", "cancer"]],
        [["wsi"], ["whole", "slide"]],
        [["tumor"], ["tumors"], ["neoplasm"]],
        [["covid"], ["covid19"], ["sars", "cov", "2"]],
        [["whole", "body"], ["wholebody"], ["full", "body"]],
        [["xray"], ["radiograph"], ["radiography"]],
    ]

    /// A broader term finds its kinds: the phrases added to a group when the user types it.
    static let narrower: [[String]: [[String]]] = [
        ["glioma"]: [["gliomas"], ["glioblastoma"], ["gbm"], ["astrocytoma"], ["oligodendroglioma"]],
        ["tumor"]: [["glioma"], ["carcinoma"], ["sarcoma"], ["lymphoma"], ["melanoma"], ["adenoma"]],
        ["hemorrhage"]: [["ich"], ["hematoma"]],
    ]

    static func expand(_ group: [[String]]) -> [[String]] {
        var out = group
        for p in group { for n in narrower[p] ?? [] where !out.contains(n) { out.append(n) } }
        return out
    }
}
