import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import ImagingXDatasets
/// The built-in catalog: well-known public datasets, entered by hand from their homepages and
/// papers. Counts are the public release's cases (volumes for 3D, images for 2D, videos for
/// video) as published; `licence` is nil where the team did not confirm one ("see homepage").
/// Used when no survey table has been imported.
public enum StarterCatalog {
    // name, modality, anatomy, task, dim, samples, licence, homepage, year, access
    package typealias Row = (String, [Modality], [String], [String], [String], Int, String?, String, Int, String)
    static let rows: [Row] = [
        ("MSD Task01 BrainTumour", [.mr], ["brain"], ["seg"], ["3D"], 750, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task02 Heart", [.mr], ["heart"], ["seg"], ["3D"], 30, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task03 Liver", [.ct], ["liver"], ["seg"], ["3D"], 201, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task04 Hippocampus", [.mr], ["hippocampus"], ["seg"], ["3D"], 394, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task05 Prostate", [.mr], ["prostate"], ["seg"], ["3D"], 48, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task06 Lung", [.ct], ["lung"], ["seg"], ["3D"], 96, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task07 Pancreas", [.ct], ["pancreas"], ["seg"], ["3D"], 420, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task08 HepaticVessel", [.ct], ["liver", "vessel"], ["seg"], ["3D"], 443, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task09 Spleen", [.ct], ["spleen"], ["seg"], ["3D"], 61, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("MSD Task10 Colon", [.ct], ["colon"], ["seg"], ["3D"], 190, "CC BY-SA 4.0", "http://medicaldecathlon.com/", 2018, "open"),
        ("KiTS19", [.ct], ["kidney"], ["seg"], ["3D"], 300, "CC BY-NC-SA 4.0", "https://kits19.grand-challenge.org/", 2019, "open"),
        ("KiTS21", [.ct], ["kidney"], ["seg"], ["3D"], 300, nil, "https://kits-challenge.org/kits21/", 2021, "open"),
        ("KiTS23", [.ct], ["kidney"], ["seg"], ["3D"], 489, nil, "https://kits-challenge.org/kits23/", 2023, "open"),
        ("LiTS", [.ct], ["liver"], ["seg"], ["3D"], 201, nil, "https://competitions.codalab.org/competitions/17094", 2017, "registration"),
        ("BraTS 2021", [.mr], ["brain"], ["seg", "pred"], ["3D"], 2040, nil, "https://www.synapse.org/brats2021", 2021, "registration"),
        ("AMOS22", [.ct, .mr], ["abdomen"], ["seg"], ["3D"], 600, "CC BY 4.0", "https://amos22.grand-challenge.org/", 2022, "open"),
        ("FLARE22", [.ct], ["abdomen"], ["seg"], ["3D"], 2050, nil, "https://flare22.grand-challenge.org/", 2022, "registration"),
        ("BTCV Abdomen", [.ct], ["abdomen"], ["seg"], ["3D"], 50, nil, "https://www.synapse.org/#!Synapse:syn3193805", 2015, "registration"),
        ("TotalSegmentator", [.ct], ["whole-body"], ["seg"], ["3D"], 1204, "CC BY 4.0", "https://github.com/wasserth/TotalSegmentator", 2023, "open"),
        ("CHAOS", [.ct, .mr], ["liver", "kidney", "spleen"], ["seg"], ["3D"], 80, "CC BY-SA 4.0", "https://chaos.grand-challenge.org/", 2019, "open"),
        ("ACDC", [.mr], ["heart"], ["seg", "cls"], ["3D"], 150, nil, "https://www.creatis.insa-lyon.fr/Challenge/acdc/", 2017, "registration"),
        ("M&Ms", [.mr], ["heart"], ["seg"], ["3D"], 375, nil, "https://www.ub.edu/mnms/", 2020, "registration"),
        ("LIDC-IDRI", [.ct], ["lung"], ["det", "seg"], ["3D"], 1010, "CC BY 3.0", "https://www.cancerimagingarchive.net/collection/lidc-idri/", 2011, "open"),
        ("LUNA16", [.ct], ["lung"], ["det"], ["3D"], 888, "CC BY 4.0", "https://luna16.grand-challenge.org/", 2016, "open"),
        ("LNDb", [.ct], ["lung"], ["det", "seg", "cls"], ["3D"], 294, nil, "https://lndb.grand-challenge.org/", 2019, "registration"),
        ("MosMedData COVID19", [.ct], ["lung"], ["cls", "seg"], ["3D"], 1110, nil, "https://mosmed.ai/datasets/covid19_1110/", 2020, "open"),
        ("STOIC2021", [.ct], ["lung"], ["cls"], ["3D"], 2000, nil, "https://stoic2021.grand-challenge.org/", 2021, "open"),
        ("DeepLesion", [.ct], ["whole-body"], ["det"], ["3D"], 10594, nil, "https://nihcc.app.box.com/v/DeepLesion", 2018, "open"),
        ("RibFrac", [.ct], ["ribs"], ["det", "cls"], ["3D"], 660, nil, "https://ribfrac.grand-challenge.org/", 2020, "registration"),
        ("VerSe", [.ct], ["spine", "vertebra"], ["seg", "loc"], ["3D"], 374, "CC BY-SA 4.0", "https://github.com/anjany/verse", 2020, "open"),
        ("CTSpine1K", [.ct], ["spine", "vertebra"], ["seg"], ["3D"], 1005, nil, "https://github.com/MIRACLE-Center/CTSpine1K", 2021, "open"),
        ("HECKTOR 2021", [.pet, .ct], ["head-neck"], ["seg", "pred"], ["3D"], 325, nil, "https://hecktor.grand-challenge.org/", 2021, "registration"),
        ("autoPET", [.pet, .ct], ["whole-body"], ["seg"], ["3D"], 1014, "CC BY 4.0", "https://autopet.grand-challenge.org/", 2022, "open"),
        ("ATLAS R2.0", [.mr], ["brain"], ["seg"], ["3D"], 1271, nil, "https://atlas.grand-challenge.org/", 2021, "registration"),
        ("ISLES 2022", [.mr], ["brain"], ["seg"], ["3D"], 400, nil, "https://isles22.grand-challenge.org/", 2022, "registration"),
        ("IXI", [.mr], ["brain"], ["rec", "reg"], ["3D"], 600, "CC BY-SA 3.0", "https://brain-development.org/ixi-dataset/", 2008, "open"),
        ("OASIS-3", [.mr, .pet, .ct], ["brain"], ["cls", "pred"], ["3D"], 1378, nil, "https://www.oasis-brains.org/", 2019, "application"),
        ("fastMRI Knee", [.mr], ["knee"], ["rec"], ["3D"], 1594, nil, "https://fastmri.med.nyu.edu/", 2018, "registration"),
        ("fastMRI Brain", [.mr], ["brain"], ["rec"], ["3D"], 6970, nil, "https://fastmri.med.nyu.edu/", 2020, "registration"),
        ("PI-CAI", [.mr], ["prostate"], ["det", "cls"], ["3D"], 1500, "CC BY-NC 4.0", "https://pi-cai.grand-challenge.org/", 2022, "open"),
        ("PROMISE12", [.mr], ["prostate"], ["seg"], ["3D"], 80, nil, "https://promise12.grand-challenge.org/", 2012, "registration"),
        ("NIH ChestX-ray14", [.xray, .dx], ["chest", "lung"], ["cls", "det"], ["2D"], 112120, "CC0 1.0", "https://nihcc.app.box.com/v/ChestXray-NIHCC", 2017, "open"),
        ("CheXpert", [.xray, .dx], ["chest", "lung"], ["cls"], ["2D"], 224316, nil, "https://stanfordmlgroup.github.io/competitions/chexpert/", 2019, "registration"),
        ("MIMIC-CXR", [.xray, .dx], ["chest", "lung"], ["cls", "report"], ["2D", "text"], 377110, "PhysioNet Credentialed Health Data License 1.5.0", "https://physionet.org/content/mimic-cxr/", 2019, "application"),
        ("VinDr-CXR", [.xray, .dx], ["chest", "lung"], ["det", "cls"], ["2D"], 18000, "PhysioNet Credentialed Health Data License 1.5.0", "https://physionet.org/content/vindr-cxr/", 2020, "application"),
        ("RSNA Pneumonia Detection", [.xray, .dx], ["chest", "lung"], ["det"], ["2D"], 30227, nil, "https://www.kaggle.com/c/rsna-pneumonia-detection-challenge", 2018, "registration"),
        ("INbreast", [.xray, .mg], ["breast"], ["det", "seg", "cls"], ["2D"], 410, nil, "https://biokeanos.com/source/INBreast", 2012, "application"),
        ("BUSI", [.us], ["breast"], ["seg", "cls"], ["2D"], 780, nil, "https://scholar.cu.edu.eg/?q=afahmy/pages/dataset", 2020, "open"),
        ("CAMUS", [.us], ["heart"], ["seg", "est"], ["2D"], 500, nil, "https://www.creatis.insa-lyon.fr/Challenge/camus/", 2019, "registration"),
        ("EchoNet-Dynamic", [.us, .video], ["heart"], ["seg", "est"], ["video"], 10030, nil, "https://echonet.github.io/dynamic/", 2020, "registration"),
        ("ISIC 2018", [.dermoscopy], ["skin"], ["seg", "cls"], ["2D"], 12609, "CC BY-NC 4.0", "https://challenge.isic-archive.com/data/", 2018, "open"),
        ("HAM10000", [.dermoscopy], ["skin"], ["cls"], ["2D"], 10015, "CC BY-NC-SA 4.0", "https://doi.org/10.7910/DVN/DBW86T", 2018, "open"),
        ("ISIC 2020", [.dermoscopy], ["skin"], ["cls"], ["2D"], 33126, "CC BY-NC 4.0", "https://challenge2020.isic-archive.com/", 2020, "open"),
        ("Kvasir-SEG", [.endoscopy], ["colon"], ["seg"], ["2D"], 1000, nil, "https://datasets.simula.no/kvasir-seg/", 2020, "open"),
        ("CVC-ClinicDB", [.endoscopy], ["colon"], ["seg"], ["2D"], 612, nil, "https://polyp.grand-challenge.org/CVCClinicDB/", 2015, "open"),
        ("Cholec80", [.endoscopy, .video], ["gallbladder"], ["cls", "det"], ["video"], 80, "CC BY-NC-SA 4.0", "http://camma.u-strasbg.fr/datasets", 2016, "registration"),
        ("DRIVE", [.fundus], ["retina"], ["seg"], ["2D"], 40, nil, "https://drive.grand-challenge.org/", 2004, "registration"),
        ("STARE", [.fundus], ["retina"], ["seg"], ["2D"], 20, nil, "https://cecas.clemson.edu/~ahoover/stare/", 2000, "open"),
        ("CHASE_DB1", [.fundus], ["retina"], ["seg"], ["2D"], 28, nil, "https://blogs.kingston.ac.uk/retinal/chasedb1/", 2012, "open"),
        ("IDRiD", [.fundus], ["retina"], ["seg", "cls", "loc"], ["2D"], 516, "CC BY 4.0", "https://idrid.grand-challenge.org/", 2018, "open"),
        ("APTOS 2019", [.fundus], ["retina"], ["cls"], ["2D"], 3662, nil, "https://www.kaggle.com/c/aptos2019-blindness-detection", 2019, "registration"),
        ("REFUGE", [.fundus], ["retina", "optic nerve"], ["seg", "cls"], ["2D"], 1200, nil, "https://refuge.grand-challenge.org/", 2018, "registration"),
        ("CAMELYON16", [.histopathologyWSI], ["lymph node"], ["det", "seg", "cls"], ["2D"], 400, "CC0 1.0", "https://camelyon16.grand-challenge.org/", 2016, "open"),
        ("CAMELYON17", [.histopathologyWSI], ["lymph node"], ["cls"], ["2D"], 1000, "CC0 1.0", "https://camelyon17.grand-challenge.org/", 2017, "open"),
        ("PatchCamelyon", [.histopathologyPatch], ["lymph node"], ["cls"], ["2D"], 327680, "CC0 1.0", "https://github.com/basveeling/pcam", 2018, "open"),
        ("PANDA", [.histopathologyWSI], ["prostate"], ["cls"], ["2D"], 10616, "CC BY-SA-NC 4.0", "https://www.kaggle.com/c/prostate-cancer-grade-assessment", 2020, "registration"),
        ("BreakHis", [.histopathologyPatch], ["breast"], ["cls"], ["2D"], 7909, nil, "https://web.inf.ufpr.br/vri/databases/breast-cancer-histopathological-database-breakhis/", 2016, "open"),
    ]

    public static var catalog: Catalog {
        let entries = rows.map { r -> CatalogEntry in
            var e = CatalogEntry(name: r.0)
            e.modality = r.1.sorted()
            e.anatomy = r.2.sorted()
            e.task = r.3.sorted()
            e.dim = r.4.sorted()
            e.samples = r.5
            e.samples_unit = Vocabulary.unit(Set(r.4))
            e.licence = r.6
            e.url = r.7
            e.year = r.8
            e.access = r.9
            e.labelled = true
            e.source = "starter"
            return e
        }
        var c = Catalog(entries: entries, source: "built-in starter catalog")
        c.rows_read = entries.count
        return c
    }
}
