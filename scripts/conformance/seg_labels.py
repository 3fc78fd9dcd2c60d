"""DICOM SEG labels of series cases against an independent reading: for each case folder of the
layout corpus's `seg/` (a CT series and one SEG), the label volume is built here with pydicom and
numpy straight from the SEG (pydicom's pixel_array unpacks BINARY 1-bit frames; FRACTIONAL counts
where value > MaximumFractionalValue / 2; frames placed by DerivationImageSequence >
SourceImageSequence > ReferencedSOPInstanceUID, else by ImagePositionPatient; overlapping segments:
the highest number wins), and its voxel counts per label and the foreground intensities are compared
with `imagingx fingerprint`'s per-case summaries (--save-cases). A SEG that cannot be placed here
(frames referencing instances outside the series, a grid that differs, short pixel data) must be a
label_not_read finding there."""

import glob
import json
import os
import subprocess

import numpy as np
import pydicom


def _reference(folder):
    """(label counts {value: voxels}, foreground values) or (None, reason) for one case folder."""
    slices = [pydicom.dcmread(p) for p in glob.glob(os.path.join(folder, "CT", "*"))]
    o = np.array([float(v) for v in slices[0].ImageOrientationPatient])
    normal = np.cross(o[:3], o[3:])
    slices.sort(key=lambda s: float(np.dot(normal, [float(v) for v in s.ImagePositionPatient])))
    z = [float(np.dot(normal, [float(v) for v in s.ImagePositionPatient])) for s in slices]
    by_uid = {str(s.SOPInstanceUID): k for k, s in enumerate(slices)}
    image = np.stack([s.pixel_array.astype(np.float64) * float(s.RescaleSlope) + float(s.RescaleIntercept) for s in slices])
    seg = pydicom.dcmread(glob.glob(os.path.join(folder, "SEG", "*"))[0])
    if (int(seg.Rows), int(seg.Columns)) != image.shape[1:]:
        return None, "grid"
    n = int(getattr(seg, "NumberOfFrames", 1))
    need = (n * int(seg.Rows) * int(seg.Columns) + 7) // 8 if seg.SegmentationType == "BINARY" else n * int(seg.Rows) * int(seg.Columns)
    if len(seg.PixelData) < need:
        return None, "short"
    frames = seg.pixel_array.reshape(n, int(seg.Rows), int(seg.Columns)).astype(np.float64)
    if seg.SegmentationType == "FRACTIONAL":
        frames = frames > float(seg.MaximumFractionalValue) / 2
    label = np.zeros(image.shape, np.uint8)
    for f, item in enumerate(seg.PerFrameFunctionalGroupsSequence):
        number = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        if "DerivationImageSequence" in item:
            uid = str(item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)
            if uid not in by_uid:
                return None, "foreign"
            k = by_uid[uid]
        else:
            d = float(np.dot(normal, [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient]))
            k = int(np.argmin([abs(d - p) for p in z]))
        here = frames[f] > 0
        label[k][here] = np.maximum(label[k][here], number)
    values, counts = np.unique(label, return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts)}, image[label > 0]


def check_seg_labels(imagingx, corpus, work):
    root = os.path.join(corpus, "seg")
    saved = os.path.join(work, "seg-cases.json")
    run = subprocess.run([imagingx, "fingerprint", root, "--output", os.path.join(work, "seg.json"), "--save-cases", saved],
                         capture_output=True, text=True)
    if run.returncode != 0:
        print(f"FAIL seg labels: imagingx exited {run.returncode}")
        return 1
    ours = {c["id"].split("/")[0]: c for c in json.load(open(saved))["cases"]}
    bad, read, refused = 0, [], []
    for folder in sorted(glob.glob(os.path.join(root, "*/"))):
        name = os.path.basename(folder.rstrip("/"))
        counts, fg = _reference(folder)
        case = ours.get(name)
        if case is None:
            print(f"DIFF seg labels {name}: no case in the fingerprint")
            bad += 1
            continue
        if counts is None:
            if not any(f.startswith("label_not_read: DICOM SEG") for f in case.get("findings", [])) or case.get("labelVoxels"):
                print(f"DIFF seg labels {name}: the reference cannot place this SEG ({fg}), ours has no label_not_read finding")
                bad += 1
            refused.append(name)
            continue
        problems = []
        if case.get("labelVoxels") != counts:
            problems.append(f"label voxels ours={case.get('labelVoxels')} reference={counts}")
        ours_fg = case.get("foreground") or [{}]
        a = ours_fg[0]
        mean = a.get("sum", float("nan")) / max(a.get("count", 0), 1)
        if a.get("count") != len(fg) or abs(mean - float(fg.mean())) > 1e-9 * max(1, abs(float(fg.mean()))) \
                or a.get("min") != float(fg.min()) or a.get("max") != float(fg.max()):
            problems.append(f"foreground ours count={a.get('count')} mean={mean} min={a.get('min')} max={a.get('max')} "
                            f"reference count={len(fg)} mean={float(fg.mean())} min={float(fg.min())} max={float(fg.max())}")
        for p in problems:
            print(f"DIFF seg labels {name}: {p}")
        bad += bool(problems)
        read.append(f"{name} ({sum(v for k, v in counts.items() if k != '0')} labelled voxels)")
    print(f"seg labels: label voxel counts and foreground intensities {'agree' if not bad else 'DIFFER'} with pydicom/numpy "
          f"reading the SEG objects: " + ", ".join(read) + f"; refused by both: {', '.join(refused)}")
    return bad


def _series_affine(folder):
    """The series' slices in order, the RAS affine of its voxel grid (columns, rows, slices), the image (x, y, z)."""
    slices = [pydicom.dcmread(p) for p in glob.glob(os.path.join(folder, "**", "*.dcm"), recursive=True)]
    o = np.array([float(v) for v in slices[0].ImageOrientationPatient])
    normal = np.cross(o[:3], o[3:])
    slices.sort(key=lambda s: float(np.dot(normal, [float(v) for v in s.ImagePositionPatient])))
    first = np.array([float(v) for v in slices[0].ImagePositionPatient])
    last = np.array([float(v) for v in slices[-1].ImagePositionPatient])
    ps = [float(v) for v in slices[0].PixelSpacing]
    lps = np.eye(4)
    lps[:3, 0] = o[:3] * ps[1]
    lps[:3, 1] = o[3:] * ps[0]
    lps[:3, 2] = (last - first) / (len(slices) - 1)
    lps[:3, 3] = first
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    image = np.stack([s.pixel_array.astype(np.float64) * float(s.RescaleSlope) + float(s.RescaleIntercept) for s in slices], -1)
    return ras, np.transpose(image, (1, 0, 2))


def _listed_reference(root, entry):
    """Label counts and foreground values of a series folder with a NIfTI label (through nibabel; a
    MetaImage label through SimpleITK):
    every series voxel's centre is taken through the label's inverse affine; None when any lands
    off the label's voxel centres (by over 0.05 voxel) or outside it."""
    import nibabel as nib
    series, image = _series_affine(os.path.join(root, entry["image"]))
    path = os.path.join(root, entry["label"])
    if path.endswith(".mha"):
        import SimpleITK as sitk
        img = sitk.ReadImage(path)
        data = np.transpose(sitk.GetArrayFromImage(img), (2, 1, 0))
        lps = np.eye(4)
        lps[:3, :3] = np.array(img.GetDirection()).reshape(3, 3) @ np.diag(img.GetSpacing())
        lps[:3, 3] = img.GetOrigin()
        affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    else:
        lab = nib.load(path)
        data, affine = np.asanyarray(lab.dataobj), lab.affine
    idx = np.indices(image.shape).reshape(3, -1)
    world = series @ np.vstack([idx, np.ones(idx.shape[1])])
    at = (np.linalg.inv(affine) @ world)[:3]
    near = np.rint(at)
    if np.abs(at - near).max() > 0.05 or (near < 0).any() or (near >= np.array(data.shape[:3])[:, None]).any():
        return None, None
    near = near.astype(int)
    label = data[near[0], near[1], near[2]].reshape(image.shape)
    values, counts = np.unique(label, return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts)}, image[label > 0]


def check_listed_labels(imagingx, corpus, work):
    root = os.path.join(corpus, "seg-msd")
    saved = os.path.join(work, "seg-msd-cases.json")
    run = subprocess.run([imagingx, "fingerprint", root, "--output", os.path.join(work, "seg-msd.json"), "--save-cases", saved],
                         capture_output=True, text=True)
    if run.returncode != 0:
        print(f"FAIL listed series labels: imagingx exited {run.returncode}")
        return 1
    ours = {c["id"]: c for c in json.load(open(saved))["cases"]}
    bad, read, refused = 0, [], []
    for entry in json.load(open(os.path.join(root, "dataset.json")))["training"]:
        name = os.path.basename(entry["image"])
        counts, fg = _listed_reference(root, entry)
        case = ours.get(name, {})
        if counts is None:
            if not any(f.startswith("label_grid_mismatch") for f in case.get("findings", [])) or case.get("labelVoxels"):
                print(f"DIFF listed series labels {name}: off the series grid here, ours has no label_grid_mismatch")
                bad += 1
            refused.append(name)
            continue
        a = (case.get("foreground") or [{}])[0]
        mean = a.get("sum", float("nan")) / max(a.get("count", 0), 1)
        if case.get("labelVoxels") != counts or a.get("count") != len(fg) \
                or abs(mean - float(fg.mean())) > 1e-9 * max(1, abs(float(fg.mean()))):
            print(f"DIFF listed series labels {name}: ours {case.get('labelVoxels')} count={a.get('count')} mean={mean}, "
                  f"reference {counts} count={len(fg)} mean={float(fg.mean())}")
            bad += 1
        read.append(name)
    print(f"listed series labels: label voxel counts and foreground intensities {'agree' if not bad else 'DIFFER'} with nibabel "
          f"(SimpleITK for .mha) resampling the labels onto the pydicom series grid: {', '.join(read)}; off the grid for both: {', '.join(refused)}")
    return bad
