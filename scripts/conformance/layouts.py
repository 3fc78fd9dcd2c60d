"""Dataset layouts against an independent reading: for each dataset of `make-sample-data
--layout-corpus`, the cases are listed here the way nnU-Net, the MSD, MONAI, KiTS and BraTS
describe them, loaded with nibabel (DICOM series with pydicom), and the per-channel foreground
intensity properties, the spacings and the set of cases that cannot be loaded are compared with
`imagingx fingerprint` (its --nnunet file and its cases_failed)."""

import glob
import json
import os
import subprocess

import nibabel as nib
import numpy as np
import pydicom


def _load(path):
    """A NIfTI volume as float64 (x, y, z[, c]) and its spacing, or None when nibabel cannot load it."""
    try:
        img = nib.load(path)
        return np.asanyarray(img.dataobj).astype(np.float64), [float(z) for z in img.header.get_zooms()[:3]]
    except Exception:
        return None


def _load_series(folder):
    """A DICOM series folder as (x, y, z) float64 and spacing: slices ordered by position on the normal."""
    slices = [pydicom.dcmread(p) for p in sorted(glob.glob(os.path.join(folder, "*")))]
    o = np.array([float(v) for v in slices[0].ImageOrientationPatient])
    normal = np.cross(o[:3], o[3:])
    slices.sort(key=lambda s: float(np.dot(normal, [float(v) for v in s.ImagePositionPatient])))
    z = [float(np.dot(normal, [float(v) for v in s.ImagePositionPatient])) for s in slices]
    data = np.stack([s.pixel_array.astype(np.float64) * float(s.RescaleSlope) + float(s.RescaleIntercept) for s in slices], -1)
    ps = [float(v) for v in slices[0].PixelSpacing]
    return np.transpose(data, (1, 0, 2)), [ps[1], ps[0], float(np.median(np.diff(z)))]


def _resolve(root, p):
    while p.startswith("./"):
        p = p[2:]
    full = p if os.path.isabs(p) else os.path.join(root, p)
    if not os.path.exists(full):
        alt = full[:-3] if full.endswith(".nii.gz") else full + ".gz" if full.endswith(".nii") else None
        if alt and os.path.exists(alt):
            return alt
    return full


def _listed(root, entries):
    """MSD / MONAI entries → [(id, [image paths], label path or None)]."""
    out = []
    for e in entries:
        images = e["image"] if isinstance(e["image"], list) else [e["image"]]
        stem = os.path.basename(images[0].rstrip("/"))
        for ending in (".nii.gz", ".nii"):
            if stem.endswith(ending):
                stem = stem[: -len(ending)]
        out.append((stem, [_resolve(root, p) for p in images], _resolve(root, e["label"]) if e.get("label") else None))
    return out


def reference_cases(corpus, name):
    root = os.path.join(corpus, name)
    if name == "msd":
        return _listed(root, json.load(open(os.path.join(root, "dataset.json")))["training"])
    if name == "datalist":
        d = json.load(open(os.path.join(root, "datalist.json")))
        return _listed(root, d["training"] + d["validation"])
    if name == "nnunet-dataset":
        d = json.load(open(os.path.join(root, "dataset.json")))["dataset"]
        return [(k, [_resolve(root, p) for p in v["images"]], _resolve(root, v["label"])) for k, v in sorted(d.items())]
    if name == "kits":
        return [(os.path.basename(f), [os.path.join(f, "imaging.nii.gz")], os.path.join(f, "segmentation.nii.gz"))
                for f in sorted(glob.glob(os.path.join(root, "case_*")))]
    if name == "brats":
        out = []
        for f in sorted(glob.glob(os.path.join(root, "*/"))):
            case = os.path.basename(f.rstrip("/"))
            new = bool(glob.glob(os.path.join(f, "*-t1n.nii.gz")))
            order = ["-t1n", "-t1c", "-t2w", "-t2f"] if new else ["_t1", "_t1ce", "_t2", "_flair"]
            seg = os.path.join(f, case + ("-seg" if new else "_seg") + ".nii.gz")
            out.append((case, [os.path.join(f, case + s + ".nii.gz") for s in order], seg))
        return out
    raise ValueError(name)


def reference(corpus, name):
    fg, spacings, failed = {}, [], set()
    for case, images, label in sorted(reference_cases(corpus, name)):
        channels = []
        spacing = None
        for p in images:
            loaded = _load_series(p) if os.path.isdir(p) else _load(p) if os.path.exists(p) else None
            if loaded is None:
                break
            data, spacing = loaded
            channels += [data[..., c] for c in range(data.shape[3])] if data.ndim == 4 else [data]
        else:
            if label is not None and not os.path.isdir(images[0]):
                lab = _load(label)
                if lab is None:
                    failed.add(case)
                    continue
                for i, ch in enumerate(channels):
                    fg.setdefault(str(i), []).append(ch[lab[0] > 0])
            spacings.append(spacing[::-1])
            continue
        failed.add(case)
    props = {}
    for k, parts in fg.items():
        v = np.concatenate(parts)
        props[k] = {"mean": float(v.mean()), "median": float(np.median(v)), "std": float(v.std()),
                    "min": float(v.min()), "max": float(v.max()),
                    "percentile_00_5": float(np.percentile(v, 0.5)), "percentile_99_5": float(np.percentile(v, 99.5))}
    return props, spacings, failed


def check_layouts(imagingx, corpus, work, same_deep):
    bad = 0
    compared = []
    for name in ("msd", "nnunet-dataset", "datalist", "kits", "brats"):
        nn = os.path.join(work, f"layout-{name}.nnunet.json")
        fp_path = os.path.join(work, f"layout-{name}.json")
        args = ["--datalist", os.path.join(corpus, name, "datalist.json")] if name == "datalist" else [os.path.join(corpus, name)]
        run = subprocess.run([imagingx, "fingerprint", *args, "--output", fp_path, "--nnunet", nn], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL layouts {name}: imagingx exited {run.returncode}")
            bad += 1
            continue
        ours, fp = json.load(open(nn)), json.load(open(fp_path))
        props, spacings, failed = reference(corpus, name)
        ours_failed = {c["case_id"] for c in fp["cases_failed"]}
        problems = []
        if ours_failed != failed:
            problems.append(f"failed cases ours={sorted(ours_failed)} reference={sorted(failed)}")
        if not same_deep(ours["foreground_intensity_properties_per_channel"], props):
            problems.append(f"foreground_intensity_properties_per_channel ours={json.dumps(ours['foreground_intensity_properties_per_channel'])} "
                            f"reference={json.dumps(props)}")
        if not same_deep(ours["spacings"], spacings):
            problems.append(f"spacings ours={ours['spacings']} reference={spacings}")
        for p in problems:
            print(f"DIFF layouts {name}: {p}")
        bad += bool(problems)
        compared.append(f"{name} ({len(spacings)} cases, {len(props)} channels, {len(failed)} failed)")
    print(f"layouts: per-channel foreground properties, spacings and failed cases {'agree' if not bad else 'DIFFER'} "
          f"with nibabel/pydicom reading the layouts independently: " + ", ".join(compared))
    from seg_labels import check_listed_labels, check_seg_labels
    return bad + check_seg_labels(imagingx, corpus, work) + check_listed_labels(imagingx, corpus, work)
