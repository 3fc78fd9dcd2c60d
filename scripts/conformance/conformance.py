"""Field-by-field conformance of `imagingx scan` with pydicom, nibabel and Pillow.

For every file the peers ship as test data (pydicom/data/test_files, nibabel/tests/data,
nibabel/nicom/tests/data) and every file of a generated PNG/JPEG corpus, this script writes the
peers' view of the header (reference.jsonl beside our records) and compares it with our record,
field by field. A disagreement fails the run unless exclusions.json lists it with a reason.

The peers' view is what their public API says (pydicom elements, nibabel header methods,
Pillow's size/mode/info); where the record needs a computation the peer does not offer (the DICOM
affine, the series hash), it is computed here with numpy from the values the peer read, by
the rule the README documents, so the comparison checks both our parsing and our arithmetic.

Usage: conformance.py --imagingx PATH --work DIR [--exclusions FILE]
"""
import argparse
import fnmatch
import hashlib
import json
import os
import glob
import subprocess
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")

import nibabel as nib  # noqa: E402
import pydicom  # noqa: E402
from nibabel.orientations import aff2axcodes  # noqa: E402
from PIL import Image  # noqa: E402
from pydicom.errors import InvalidDicomError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE_SYNTAXES = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
JPEG_LOSSLESS_SYNTAXES = {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}
PYLIBJPEG_SYNTAXES = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90",
                      "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
                      "1.2.840.10008.1.2.4.203"}

# PS3.15 Annex E Basic Application Level Confidentiality Profile attributes whose values, where a
# test file carries them, must never appear in our output (the privacy check).
IDENTITY_KEYWORDS = [
    "PatientName", "PatientID", "PatientBirthDate", "PatientAddress", "OtherPatientIDs",
    "OtherPatientNames", "PatientMotherBirthName", "InstitutionName", "InstitutionAddress",
    "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "NameOfPhysiciansReadingStudy",
    "AccessionNumber", "StudyID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
    "FrameOfReferenceUID", "DeviceSerialNumber", "StationName",
]


# ---------------------------------------------------------------- pydicom view

def dicom_value(ds, keyword):
    try:
        return ds.get(keyword)
    except Exception:
        return None


def first_fg(ds, seq_keyword, macro_keyword, attr):
    """attr from Shared Functional Groups, else the first Per-frame item (PS3.3 C.7.6.16)."""
    for fg_keyword in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            fg = ds.get(fg_keyword)
            if not fg:
                continue
            macro = fg[0].get(macro_keyword)
            if macro:
                v = macro[0].get(attr)
                if v is not None and v != "":
                    return v
        except Exception:
            continue
    return None


def geometry(ds, attr, macro):
    v = dicom_value(ds, attr)
    if v is None or v == "":
        v = first_fg(ds, None, macro, attr)
    return v


def as_floats(v):
    if v is None or v == "":
        return None
    try:
        if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
            return [float(x) for x in v]
        return [float(v)]
    except Exception:
        return None


def dicom_view(path):
    forced = False
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            forced = True
        except Exception as e:
            return None
        # A forced read claims any bytes; count it as DICOM only if it yields identifying elements.
        try:
            if not any(elem.tag.group in (0x0002, 0x0008) for elem in ds.iterall()):
                return None
        except Exception:
            return None
    except Exception as e:
        return {"format": "dicom", "status": "error", "peer_error": f"{type(e).__name__}: {e}"}

    view = {"format": "dicom", "status": "ok"}
    meta = getattr(ds, "file_meta", None)
    ts = None
    if meta is not None:
        ts = meta.get("TransferSyntaxUID")
    if ts is None:
        implicit, little = ds.original_encoding
        ts = "1.2.840.10008.1.2" if implicit else ("1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2")
    view["transfer_syntax"] = str(ts)
    sop = dicom_value(ds, "SOPClassUID")
    if sop is None and meta is not None:
        sop = meta.get("MediaStorageSOPClassUID")
    view["sop_class_uid"] = str(sop) if sop else None
    modality = dicom_value(ds, "Modality")
    view["modality"] = str(modality) if modality else None
    series = dicom_value(ds, "SeriesInstanceUID")
    view["series_key"] = hashlib.sha256(str(series).encode()).hexdigest()[:32] if series else None

    # Pixel data presence and encapsulation need the element itself: read again without
    # stopping (values are deferred, so no pixel bytes are loaded).
    pixel_tag = None
    undefined = False
    try:
        full = pydicom.dcmread(path, defer_size=64, force=forced)
        for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009):
            if tag in full:
                pixel_tag = tag
                raw = full.get_item(tag)
                undefined = getattr(raw, "is_undefined_length", False) or getattr(raw, "length", 0) == 0xFFFFFFFF
                break
    except Exception:
        pass

    rows, cols = dicom_value(ds, "Rows"), dicom_value(ds, "Columns")
    if (rows is None or cols is None) and pixel_tag is not None:
        # Pixel Data without a grid: the record can say nothing about the image.
        view["compressed"] = bool(undefined or str(ts) not in NATIVE_SYNTAXES)
        view["dims"] = None
        return view
    is_dir = sop == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds
    has_image = not is_dir and (pixel_tag is not None or (rows is not None and cols is not None))
    if not has_image:
        for k in ("dims", "spacing", "dtype", "affine"):
            view[k] = None
        return view

    view["compressed"] = bool(undefined or str(ts) not in NATIVE_SYNTAXES)
    photometric = dicom_value(ds, "PhotometricInterpretation")
    view["photometric"] = str(photometric).strip() if photometric else None
    frames = dicom_value(ds, "NumberOfFrames")
    try:
        frames = int(frames) if frames not in (None, "") else 1
    except Exception:
        frames = 1
    view["dims"] = [int(cols), int(rows)] + ([frames] if frames > 1 else []) if rows is not None and cols is not None else None
    samples = dicom_value(ds, "SamplesPerPixel") or 1
    view["channels"] = int(samples)
    bits_alloc = dicom_value(ds, "BitsAllocated")
    bits_stored = dicom_value(ds, "BitsStored") or bits_alloc
    view["bits_stored"] = int(bits_stored) if bits_stored is not None else None
    signed = dicom_value(ds, "PixelRepresentation") == 1
    dtype = None
    if pixel_tag == 0x7FE00008:
        dtype = "float32"
    elif pixel_tag == 0x7FE00009:
        dtype = "float64"
    elif bits_alloc is not None:
        dtype = {1: "bit", 8: ("rgb24" if samples == 3 else ("int8" if signed else "uint8")),
                 16: "int16" if signed else "uint16", 32: "int32" if signed else "uint32",
                 64: "int64" if signed else "uint64"}.get(int(bits_alloc))
    view["dtype"] = dtype

    ps = as_floats(geometry(ds, "PixelSpacing", "PixelMeasuresSequence"))
    spacing = None
    if ps and len(ps) >= 2:
        spacing = [ps[1], ps[0]]
    else:
        ips = as_floats(dicom_value(ds, "ImagerPixelSpacing"))
        if ips and len(ips) >= 2:
            spacing = [ips[1], ips[0]]
    between = as_floats(geometry(ds, "SpacingBetweenSlices", "PixelMeasuresSequence"))
    thickness = as_floats(geometry(ds, "SliceThickness", "PixelMeasuresSequence"))
    view["spacing"] = None if spacing is None else spacing + ([between[0]] if frames > 1 and between else [])
    slope = as_floats(geometry(ds, "RescaleSlope", "PixelValueTransformationSequence"))
    inter = as_floats(geometry(ds, "RescaleIntercept", "PixelValueTransformationSequence"))
    view["rescale_slope"] = slope[0] if slope else None
    view["rescale_intercept"] = inter[0] if inter else None

    iop = as_floats(geometry(ds, "ImageOrientationPatient", "PlaneOrientationSequence"))
    ipp = as_floats(geometry(ds, "ImagePositionPatient", "PlanePositionSequence"))
    if iop and ipp and spacing and len(iop) == 6 and len(ipp) == 3:
        row, col = np.array(iop[:3]), np.array(iop[3:])
        normal = np.cross(row, col)
        n = np.linalg.norm(normal)
        if n > 0:
            normal = normal / n
        dz = between[0] if between else (thickness[0] if thickness else 1.0)
        lps = np.eye(4)
        lps[:3, 0] = row * spacing[0]
        lps[:3, 1] = col * spacing[1]
        lps[:3, 2] = normal * dz
        lps[:3, 3] = ipp
        ras = np.diag([-1, -1, 1, 1]) @ lps
        view["affine"] = ras.tolist()
        try:
            view["axcodes"] = "".join(aff2axcodes(ras))
        except Exception:
            view["axcodes"] = None
    else:
        view["affine"] = None
    return view


def identity_values(path):
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:
        return []
    values = []
    try:
        for elem in ds.iterall():
            if elem.keyword in IDENTITY_KEYWORDS:
                v = elem.value
                for item in (v if isinstance(v, (list, pydicom.multival.MultiValue)) else [v]):
                    s = str(item).strip()
                    # A run of one character ('000000000') identifies no one and occurs inside
                    # numbers (a statistic such as 1840.6750000000006).
                    if len(s) >= 6 and len(set(s)) > 1:
                        values.append(s)
    except Exception:
        pass
    return values


# ---------------------------------------------------------------- nibabel view

NIB_DTYPES = {"u1": "uint8", "i1": "int8", "u2": "uint16", "i2": "int16", "u4": "uint32", "i4": "int32",
              "u8": "uint64", "i8": "int64", "f4": "float32", "f8": "float64", "c8": "complex64",
              "c16": "complex128", "f16": "float128", "c32": "complex256"}
SPACE_SCALE = {"meter": 1000.0, "mm": 1.0, "micron": 0.001, "unknown": 1.0}
TIME_SCALE = {"msec": 0.001, "usec": 0.000001}


def nifti_view(path):
    try:
        img = nib.load(path)
    except Exception:
        return None
    hdr = getattr(img, "nifti_header", None) or img.header
    if isinstance(hdr, nib.Nifti2Header):
        fmt = "nifti2"
    elif isinstance(hdr, nib.Nifti1Header):
        fmt = "nifti1"
    elif isinstance(hdr, nib.analyze.AnalyzeHeader):
        fmt = "analyze"
    else:
        return None  # MGH, MINC, PAR/REC, ECAT, ...: not formats ImagingX claims
    view = {"format": fmt, "status": "ok"}
    ndim = int(hdr["dim"][0])
    view["dims"] = [int(x) for x in hdr["dim"][1:ndim + 1]]
    dt = hdr.get_data_dtype()
    if dt.names == ("R", "G", "B"):
        view["dtype"], view["channels"] = "rgb24", 3
    elif dt.names == ("R", "G", "B", "A"):
        view["dtype"], view["channels"] = "rgba32", 4
    else:
        view["dtype"], view["channels"] = NIB_DTYPES.get(dt.str[1:], dt.name), 1
    view["bits_stored"] = dt.itemsize * 8
    zooms = [float(z) for z in hdr.get_zooms()]
    if fmt != "analyze":
        space, time = hdr.get_xyzt_units()
        zooms = [z * (SPACE_SCALE.get(space, 1.0) if i < 3 else TIME_SCALE.get(time, 1.0) if i == 3 else 1.0)
                 for i, z in enumerate(zooms)]
    # nibabel moves the scaling fields from img.header into the data proxy on load: read them
    # from the file's own header block (for Analyze, nib.load's Spm2AnalyzeHeader rule).
    header_path = (img.file_map.get("header") or img.file_map["image"]).filename
    with nib.openers.ImageOpener(header_path) as f:
        raw = type(hdr).from_fileobj(f, check=False)
    slope, inter = raw.get_slope_inter()
    view["rescale_slope"] = None if slope is None else float(slope)
    view["rescale_intercept"] = None if inter is None else float(inter)
    # What a nibabel user gets: img.affine (the best NIfTI xform; SPM's origin for Analyze).
    affine = img.affine if fmt == "analyze" else hdr.get_best_affine()
    view["spacing"] = zooms
    view["affine"] = np.asarray(affine, dtype=float).tolist()
    view["axcodes"] = "".join(aff2axcodes(affine))
    view["compressed"] = path.endswith(".gz")
    return view


# ---------------------------------------------------------------- Pillow view

PIL_MODES = {"1": (1, "bit"), "L": (1, "uint8"), "LA": (2, "uint8"), "I;16": (1, "uint16"),
             "I;16B": (1, "uint16"), "I": (1, "uint16"), "RGB": (3, "rgb24"), "RGBA": (4, "rgba32"),
             "CMYK": (4, "uint8")}


def raster_view(path):
    try:
        im = Image.open(path)
    except Exception:
        return None
    with im:
        if im.format not in ("PNG", "JPEG"):
            return None
        view = {"format": im.format.lower(), "status": "ok", "dims": list(im.size)}
        mode = im.mode
        if mode == "P":
            channels, dtype = (4, "rgba32") if "transparency" in im.info else (3, "rgb24")
        else:
            channels, dtype = PIL_MODES.get(mode, (None, None))
        view["channels"] = channels
        view["dtype"] = dtype
        dpi = im.info.get("dpi")
        view["spacing"] = [25.4 / float(dpi[0]), 25.4 / float(dpi[1])] if dpi and dpi[0] and dpi[1] else None
        if im.format == "PNG":
            view["interlaced"] = bool(im.info.get("interlace", 0))
        else:
            view["interlaced"] = bool(im.info.get("progressive", 0))
            view["bits_stored"] = getattr(im, "bits", None)
        return view



# ---------------------------------------------------------------- SimpleITK view (MetaImage)

META_EXTENSIONS = (".mha", ".mhd")
NRRD_EXTENSIONS = (".nrrd", ".nhdr")
SITK_COMPONENTS = {"8-bit unsigned integer": "uint8", "8-bit signed integer": "int8", "16-bit unsigned integer": "uint16",
                   "16-bit signed integer": "int16", "32-bit unsigned integer": "uint32", "32-bit signed integer": "int32",
                   "64-bit unsigned integer": "uint64", "64-bit signed integer": "int64",
                   "32-bit float": "float32", "64-bit float": "float64"}


def lps_affine(directions, origin):
    """Voxel index to RAS+: direction columns (spacing included), origin, in 3D (a 2D image gets
    its plane's unit normal as the third column), LPS world rows 0 and 1 negated. `directions`
    is a list of world vectors, one per voxel axis. The README's rule for MetaImage and NRRD."""
    n = min(len(directions), 3)
    a = np.eye(4)
    for c in range(n):
        v = list(directions[c])[:3]
        a[:len(v), c] = v
        a[len(v):3, c] = 0
    if n == 2:
        normal = np.cross(a[:3, 0], a[:3, 1])
        norm = np.linalg.norm(normal)
        a[:3, 2] = normal / norm if norm > 0 else [0, 0, 1]
    o = list(origin)[:3]
    a[:len(o), 3] = o
    return a


def metaimage_view(path, io="MetaImageIO", fmt="metaimage"):
    """SimpleITK's view of a MetaImage header (ImageFileReader.ReadImageInformation); also of an
    NRRD (NrrdImageIO, which is teem) where pynrrd cannot read a variant the format defines."""
    import SimpleITK as sitk
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    reader.SetImageIO(io)
    try:
        reader.ReadImageInformation()
    except Exception as e:
        return {"format": fmt, "status": "error", "peer_error": f"{type(e).__name__}: {e}"[:200]}
    n = reader.GetDimension()
    size, spacing = list(reader.GetSize()), list(reader.GetSpacing())
    direction = np.array(reader.GetDirection()).reshape(n, n)
    origin = list(reader.GetOrigin())
    m = min(n, 3)
    lps = lps_affine([direction[:m, i] * spacing[i] for i in range(m)], origin[:m])
    ras = np.diag([-1, -1, 1, 1]) @ lps
    comps = reader.GetNumberOfComponents()
    ptype = sitk.GetPixelIDValueAsString(reader.GetPixelID())
    component = next((v for k, v in SITK_COMPONENTS.items() if k in ptype), None)
    dtype = {("uint8", 3): "rgb24", ("uint8", 4): "rgba32"}.get((component, comps), component)
    view = {"format": fmt, "status": "ok", "dims": size, "spacing": spacing, "dtype": dtype, "channels": comps,
            "affine": ras.tolist(), "axcodes": "".join(aff2axcodes(ras))}
    with open(path, "rb") as f:
        head = f.read(65536).decode("latin-1")
    if fmt == "nrrd":
        view["compressed"] = any(l.split(":")[0].strip() == "encoding" and l.split(":", 1)[1].strip() in ("gzip", "gz", "bzip2", "bz2")
                                 for l in head.split("\n\n")[0].splitlines() if ":" in l)
        return view
    view["compressed"] = any(l.split("=")[0].strip() == "CompressedData" and l.split("=", 1)[1].strip()[:1] in "Tt1"
                             for l in head.splitlines() if "=" in l)
    return view


# ---------------------------------------------------------------- pynrrd view (NRRD)

NRRD_DOMAIN_KINDS = {"domain", "space", "time", "???", "none"}
LPS_SPACES = {"left-posterior-superior", "left-posterior-superior-time"}
RAS_SPACES = {"right-anterior-superior", "right-anterior-superior-time"}
LAS_SPACES = {"left-anterior-superior", "left-anterior-superior-time"}
NRRD_SPACE_NAMES = {"ras": "right-anterior-superior", "las": "left-anterior-superior", "lps": "left-posterior-superior",
                    "rast": "right-anterior-superior-time", "last": "left-anterior-superior-time",
                    "lpst": "left-posterior-superior-time"}


def nrrd_view(path):
    """pynrrd's view of an NRRD header (nrrd.read_header), turned into record fields by the
    README's rule: axes with a `none` space direction or a non-domain kind hold channels; spacing
    is the length of each space direction (else `spacings`, else 1); the affine maps the space
    directions and origin to RAS+ (LPS: rows 0, 1 negated; LAS: row 0), none without a named
    patient space."""
    import nrrd
    try:
        with open(path, "rb") as f:
            h = nrrd.read_header(f)
        if h["encoding"] == "hex":
            raise ValueError("pynrrd does not read hex encoding")
    except Exception:
        # pynrrd 1.1.3 does not read `data file: LIST` headers nor hex data: teem (through
        # SimpleITK's NrrdImageIO) judges those.
        return metaimage_view(path, io="NrrdImageIO", fmt="nrrd")
    sizes = [int(x) for x in h["sizes"]]
    nd = len(sizes)
    kinds = [k.lower() for k in h.get("kinds", ["domain"] * nd)]
    dirs = h.get("space directions")
    domain = [k in NRRD_DOMAIN_KINDS for k in kinds]
    if dirs is not None:
        for i, v in enumerate(dirs):
            if v is None or np.all(np.isnan(np.asarray(v, dtype=float))):
                domain[i] = False
    dims = [s for s, d in zip(sizes, domain) if d]
    channels = int(np.prod([s for s, d in zip(sizes, domain) if not d])) if not all(domain) else 1
    dtype = np.dtype(nrrd.reader._determine_datatype(h)).newbyteorder("=")
    component = {"u1": "uint8", "i1": "int8", "u2": "uint16", "i2": "int16", "u4": "uint32", "i4": "int32", "u8": "uint64",
                 "i8": "int64", "f4": "float32", "f8": "float64"}[dtype.str[1:]]
    view = {"format": "nrrd", "status": "ok", "dims": dims, "channels": channels,
            "dtype": {("uint8", 3): "rgb24", ("uint8", 4): "rgba32"}.get((component, channels), component),
            "compressed": h["encoding"] in ("gzip", "gz", "bzip2", "bz2")}
    vectors = [np.asarray(v, dtype=float) for i, v in enumerate(dirs) if domain[i]] if dirs is not None else None
    if vectors is not None:
        view["spacing"] = [float(np.linalg.norm(v)) for v in vectors]
    elif "spacings" in h:
        view["spacing"] = [1.0 if np.isnan(x) else float(x) for x, d in zip(h["spacings"], domain) if d]
    else:
        view["spacing"] = [1.0] * len(dims)
    space = NRRD_SPACE_NAMES.get(str(h.get("space")).lower(), h.get("space"))
    if vectors is not None and space in LPS_SPACES | RAS_SPACES | LAS_SPACES:
        origin = list(h.get("space origin", np.zeros(len(vectors[0]))))
        a = lps_affine(vectors, origin)
        flip = {**{s: [-1, -1, 1, 1] for s in LPS_SPACES}, **{s: [1, 1, 1, 1] for s in RAS_SPACES},
                **{s: [-1, 1, 1, 1] for s in LAS_SPACES}}[space]
        ras = np.diag(flip) @ a
        view["affine"] = ras.tolist()
        view["axcodes"] = "".join(aff2axcodes(ras))
    else:
        view["affine"] = None
        view["axcodes"] = None
    return view


def meta_stats(path, fmt):
    """Statistics of the array SimpleITK (MetaImage) or pynrrd (NRRD) returns."""
    if fmt == "metaimage":
        import SimpleITK as sitk
        return array_stats(sitk.GetArrayFromImage(sitk.ReadImage(path, imageIO="MetaImageIO")))
    import nrrd
    try:
        data, _ = nrrd.read(path)
    except Exception:
        # pynrrd cannot read it (hex, LIST, a data file pattern, byte skip on gzip data): teem can.
        import SimpleITK as sitk
        return array_stats(sitk.GetArrayFromImage(sitk.ReadImage(path, imageIO="NrrdImageIO")))
    return array_stats(data)


# ---------------------------------------------------------------- comparison

def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-4 * max(1.0, abs(float(b)))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


# ---------------------------------------------------------------- pixel statistics

def array_stats(a):
    a = np.asarray(a)
    if a.dtype.names:  # nibabel RGB/RGBA structured voxels: pool the channels
        a = a.view(np.uint8) if a.dtype.itemsize in (3, 4) else a
    a = a.astype(np.float64).ravel()
    finite = a[np.isfinite(a)]
    out = {"count": int(finite.size), "nan_count": int(np.isnan(a).sum()), "inf_count": int(np.isinf(a).sum())}
    if finite.size:
        p = np.percentile(finite, [0.5, 50, 99.5])
        out.update(min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()),
                   std=float(finite.std()), p00_5=float(p[0]), p50=float(p[1]), p99_5=float(p[2]))
    return out


LOSSY_JPEG = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")


def dicom_pixels(ds):
    """The array a pydicom user sees: `pixel_array` (YBR_FULL/_422 already converted to RGB),
    and for PALETTE COLOR the indices mapped through the LUTs by `apply_color_lut`. Lossy JPEG
    is decoded with pydicom's Pillow plugin: lossy decoders may differ by a unit (ISO 10918-2
    accuracy; pylibjpeg-libjpeg's IDCT and chroma upsampling differ from libjpeg-turbo's), and
    ImagingX and Pillow both use libjpeg-turbo; the other plugins stay pydicom's default."""
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    if ts in LOSSY_JPEG:
        try:
            ds.pixel_array_options(decoding_plugin="pillow")
            arr = ds.pixel_array
        except Exception:
            ds.pixel_array_options(decoding_plugin="")
            arr = ds.pixel_array
    elif ts in JPEG_LOSSLESS_SYNTAXES or ts in PYLIBJPEG_SYNTAXES:
        # JPEG Lossless is compared with pylibjpeg-libjpeg, named rather than left to pydicom's
        # plugin order (GDCM would come first where installed).
        ds.pixel_array_options(decoding_plugin="pylibjpeg")
        arr = ds.pixel_array
    else:
        arr = ds.pixel_array
    if ds.get("PhotometricInterpretation") == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut
        arr = apply_color_lut(arr, ds)
    return arr


def peer_stats(path, view):
    """Statistics of the array a pydicom, nibabel or Pillow user gets, or None if the peer cannot
    decode the pixels (no plugin for the codec, unsupported type)."""
    fmt = view.get("format")
    try:
        if fmt == "dicom":
            from pydicom.pixels import apply_rescale
            ds = pydicom.dcmread(path)
            arr = dicom_pixels(ds)
            if "RescaleSlope" not in ds and "RescaleIntercept" not in ds:
                # pydicom's apply_rescale reads top-level attributes only. In enhanced
                # multi-frame objects the rescale lives in the Pixel Value Transformation
                # functional group (PS3.3 C.7.6.16.2.9): shared, else per frame (first frame).
                for seq in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
                    groups = ds.get(seq)
                    item = groups[0] if groups else None
                    pvt = item.get("PixelValueTransformationSequence") if item is not None else None
                    if pvt:
                        slope = float(pvt[0].get("RescaleSlope", 1) or 1)
                        inter = float(pvt[0].get("RescaleIntercept", 0) or 0)
                        return array_stats(arr.astype(np.float64) * slope + inter)
            return array_stats(apply_rescale(arr, ds))
        if fmt in ("nifti1", "nifti2", "analyze"):
            img = nib.load(path)
            if np.iscomplexobj(np.empty(0, dtype=img.get_data_dtype())):
                return None
            return array_stats(np.asanyarray(img.dataobj))
        if fmt in ("metaimage", "nrrd"):
            return meta_stats(path, fmt)
        if fmt in ("png", "jpeg"):
            with Image.open(path) as im:
                if im.mode == "P":
                    im = im.convert("RGB")
                return array_stats(np.asarray(im))
    except Exception:
        return None
    return None


def peer_load_error(path, view):
    """Why the peer cannot load the pixel array a user would ask for (nibabel `get_fdata`, pydicom
    `pixel_array`, Pillow `load`), or None when it can. Our `status: error` for a readable header
    means exactly this: the data it describes cannot be loaded."""
    fmt = view.get("format")
    try:
        if fmt == "dicom":
            ds = pydicom.dcmread(path)
            if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
                return None  # no pixels to load: a status disagreement stays one
            ds.pixel_array
        elif fmt in ("nifti1", "nifti2", "analyze"):
            np.asanyarray(nib.load(path).dataobj)
        elif fmt in ("metaimage", "nrrd"):
            meta_stats(path, fmt)
        elif fmt in ("png", "jpeg"):
            with Image.open(path) as im:
                im.load()
    except Exception as e:
        return f"{type(e).__name__}: {e}"[:200]
    return None


def same_stats(ours, peer):
    """count, NaN and Inf counts exactly; the rest to 1e-9 of the value range (percentiles are
    exact order statistics on both sides; means differ only by summation order)."""
    problems = []
    scale = max(1.0, abs(peer.get("max", 0) or 0), abs(peer.get("min", 0) or 0))
    for key in ("count", "nan_count", "inf_count"):
        if ours.get(key) != peer.get(key):
            problems.append(key)
    for key in ("min", "max", "mean", "std", "p00_5", "p50", "p99_5"):
        a, b = ours.get(key), peer.get(key)
        if a is None or b is None:
            if (a is None) != (b is None):
                problems.append(key)
        elif abs(a - b) > 1e-9 * scale:
            problems.append(key)
    return problems


# ---------------------------------------------------------------- dataset fingerprint

def fingerprint_reference(folder):
    """nnU-Net's dataset_fingerprint.json computed the way nnU-Net does, with nibabel + numpy,
    except that every foreground voxel is used (nnU-Net samples 10^8 with replacement)."""
    images = sorted(glob.glob(os.path.join(folder, "imagesTr", "*")))
    fg, spacings, shapes, rel = [], [], [], []
    for path in images:
        case = os.path.basename(path).rsplit("_", 1)[0]
        img = nib.load(path)
        data = np.asanyarray(img.dataobj).astype(np.float64)
        label = np.asanyarray(nib.load(os.path.join(folder, "labelsTr", case + ".nii.gz")).dataobj)
        fg.append(data[label > 0])
        spacings.append([float(z) for z in img.header.get_zooms()[:3]][::-1])
        nz = np.argwhere(data != 0)
        crop = (nz.max(0) - nz.min(0) + 1).tolist() if len(nz) else list(data.shape)
        shapes.append(crop[::-1])
        rel.append(np.prod(crop) / np.prod(data.shape))
    v = np.concatenate(fg)
    return {"foreground_intensity_properties_per_channel": {"0": {
                "mean": float(v.mean()), "median": float(np.median(v)), "std": float(v.std()),
                "min": float(v.min()), "max": float(v.max()),
                "percentile_00_5": float(np.percentile(v, 0.5)), "percentile_99_5": float(np.percentile(v, 99.5))}},
            "median_relative_size_after_cropping": float(np.median(rel)),
            "shapes_after_crop": shapes, "spacings": spacings}


def check_fingerprint(imagingx, folder, work):
    out = os.path.join(work, "nnunet_fingerprint.json")
    run = subprocess.run([imagingx, "fingerprint", folder, "--output", os.path.join(work, "fingerprint.json"),
                          "--nnunet", out])
    if run.returncode != 0:
        print(f"FAIL fingerprint: imagingx exited {run.returncode}")
        return 1
    ours = json.load(open(out))
    ref = fingerprint_reference(folder)
    bad = 0
    if set(ours) != set(ref):
        print(f"DIFF fingerprint keys: ours={sorted(ours)} nnU-Net={sorted(ref)}")
        bad += 1
    for key in ref:
        if not same_deep(ours.get(key), ref[key]):
            print(f"DIFF fingerprint {key}: ours={json.dumps(ours.get(key))} reference={json.dumps(ref[key])}")
            bad += 1
    print(f"fingerprint: nnU-Net dataset_fingerprint.json of {folder} {'agrees' if not bad else 'DIFFERS'} "
          f"with nibabel + numpy ({len(ref['spacings'])} cases)")
    return bad


def same_deep(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(same_deep(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_deep(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-9 * max(1.0, abs(b))
    return a == b


# ---------------------------------------------------------------- DICOM series geometry

def series_reference(root):
    """Series volumes re-derived from pydicom's values: group by SeriesInstanceUID, orientation
    (0.01) and grid, order by ImagePositionPatient projected on the slice normal, slice spacing
    from the projections, the flags as IDC / dcm2niix define them."""
    files = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            path = os.path.join(dirpath, n)
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            except Exception:
                continue
            if "ImagePositionPatient" not in ds or "ImageOrientationPatient" not in ds:
                continue
            files.append((os.path.relpath(path, root), ds))
    series = {}
    for rel, ds in files:
        series.setdefault(ds.SeriesInstanceUID, []).append((rel, ds))
    out = {}
    for uid, members in series.items():
        loc = [m for m in members if len(ds_type(m[1])) > 2 and "LOCALIZER" in ds_type(m[1])[2].upper()]
        imgs = [m for m in members if m not in loc]
        orients, groups = [], []
        for rel, ds in imgs:
            o = np.array(ds.ImageOrientationPatient, dtype=float)
            if not any(np.all(np.abs(o - p) <= 0.01) for p in orients):
                orients.append(o)
            for g in groups:
                h = g[0][1]
                if np.all(np.abs(np.array(h.ImageOrientationPatient, dtype=float) - o) <= 0.01) and (h.Rows, h.Columns) == (ds.Rows, ds.Columns):
                    g.append((rel, ds))
                    break
            else:
                groups.append([(rel, ds)])
        grids = {(ds.Rows, ds.Columns) for _, ds in imgs}
        for g in groups:
            if len(g) < 2:
                continue
            o = np.array(g[0][1].ImageOrientationPatient, dtype=float)
            row, col = o[:3], o[3:]
            normal = np.cross(row, col)
            normal /= np.linalg.norm(normal)
            order = sorted(g, key=lambda m: (float(np.dot(np.array(m[1].ImagePositionPatient, dtype=float), normal)), m[0].encode()))
            proj = [float(np.dot(np.array(m[1].ImagePositionPatient, dtype=float), normal)) for m in order]
            d = np.diff(proj)
            dup = int((d <= 0.01).sum())
            gaps = d[d > 0.01]
            med = float(np.median(gaps)) if len(gaps) else 0.0
            dev = float(np.abs(gaps - med).max()) if len(gaps) else 0.0
            missing = int(sum(round(x / med) - 1 for x in gaps if x > 1.5 * med)) if med else 0
            first = np.array(order[0][1].ImagePositionPatient, dtype=float)
            last = np.array(order[-1][1].ImagePositionPatient, dtype=float)
            step = last - first
            tilt = float(np.degrees(np.arccos(min(1.0, abs(np.dot(step, normal)) / np.linalg.norm(step))))) if np.linalg.norm(step) else 0.0
            ps = [float(x) for x in order[0][1].PixelSpacing]
            k = step / (len(order) - 1)
            aff = np.eye(4)
            aff[:3, 0] = row * ps[1]
            aff[:3, 1] = col * ps[0]
            aff[:3, 2] = k
            aff[:3, 3] = first
            aff[:2, :] *= -1
            orth = abs(np.dot(row, col)) <= 0.01 and abs(np.linalg.norm(row) - 1) <= 0.01 and abs(np.linalg.norm(col) - 1) <= 0.01
            uniform = dev <= 0.2
            regular = len(orients) == 1 and len(grids) == 1 and orth and dup == 0 and uniform and missing == 0 and tilt <= 0.1
            out[order[0][0]] = {"dims": [int(order[0][1].Columns), int(order[0][1].Rows), len(order)],
                                "spacing": [ps[1], ps[0], med], "affine": aff.tolist(), "duplicate_positions": dup,
                                "missing_slices": missing, "uniform_spacing": uniform, "gantry_tilt_degrees": tilt,
                                "single_orientation": len(orients) == 1, "consistent_dimensions": len(grids) == 1,
                                "regular_volume": regular, "last_file": order[-1][0]}
    return out


def ds_type(ds):
    v = ds.get("ImageType", [])
    return list(v) if not isinstance(v, str) else v.split("\\")


def dcm2niix_corners(folder, work):
    """World (RAS) coordinates of the 8 corner voxels of dcm2niix's NIfTI for `folder`."""
    import shutil
    if not shutil.which("dcm2niix"):
        return None
    out = d2n_dir(work, folder)
    os.makedirs(out, exist_ok=True)
    subprocess.run(["dcm2niix", "-b", "n", "-z", "n", "-f", "vol", "-o", out, folder], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    img = nib.load(os.path.join(out, "vol.nii"))
    return corners(img.affine, img.shape[:3])


def d2n_dir(work, folder):
    """Where dcm2niix writes the NIfTI of `folder` (one directory per converted folder)."""
    return os.path.join(work, "dcm2niix", os.path.normpath(folder).strip("/").replace("/", "_"))


def corners(affine, shape):
    a = np.array(affine, dtype=float)
    pts = [a @ np.array([i, j, k, 1.0]) for i in (0, shape[0] - 1) for j in (0, shape[1] - 1) for k in (0, shape[2] - 1)]
    return sorted(tuple(round(float(x), 3) for x in p[:3]) for p in pts)


def check_series(imagingx, roots, work):
    bad = compared = with_dcm2niix = 0
    for root, dcm2niix_folders in roots:
        run = subprocess.run([imagingx, "series", root], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL series {root}: imagingx exited {run.returncode}")
            bad += 1
            continue
        ours = {r["first_file"]: r for r in map(json.loads, run.stdout.splitlines()) if r["assembled"]}
        ref = series_reference(root)
        if set(ours) != set(ref):
            print(f"DIFF series {root}: volumes ours={sorted(ours)} reference={sorted(ref)}")
            bad += 1
        for first in sorted(set(ours) & set(ref)):
            compared += 1
            for key, want in ref[first].items():
                if not same_deep(ours[first].get(key), want) and not (isinstance(want, float) and abs(ours[first].get(key, 0) - want) < 1e-6):
                    print(f"DIFF series {root}/{first} {key}: ours={json.dumps(ours[first].get(key))} reference={json.dumps(want)}")
                    bad += 1
        for folder in dcm2niix_folders:
            theirs = dcm2niix_corners(os.path.join(root, folder), work)
            if theirs is None:
                print("FAIL series: dcm2niix is not installed (scripts/setup installs it)")
                bad += 1
                continue
            # Overlap: the dcm2niix NIfTI and the DICOM series must hash alike.
            fps = []
            for d in (os.path.join(root, folder), d2n_dir(work, os.path.join(root, folder))):
                fp_run = subprocess.run([imagingx, "fingerprint", d], capture_output=True, text=True)
                fps.append(set((json.loads(fp_run.stdout).get("case_hashes") or {}).values()) if fp_run.returncode == 0 else set())
            if not fps[0] or fps[0] != fps[1]:
                print(f"DIFF overlap {folder}: the DICOM series and dcm2niix's NIfTI hash differently ({fps})")
                bad += 1
            mine = [r for r in ours.values() if folder == "." or r["first_file"].startswith(folder + "/")]
            if len(mine) != 1 or corners(mine[0]["affine"], mine[0]["dims"]) != theirs:
                print(f"DIFF series {folder}: corner voxels ours={corners(mine[0]['affine'], mine[0]['dims']) if mine else None} dcm2niix={theirs}")
                bad += 1
            else:
                with_dcm2niix += 1
    print(f"series: {compared} volumes agree with the projected-position reference; "
          f"{with_dcm2niix} volumes' corner voxels agree with dcm2niix's NIfTI, and their voxel hashes match (overlap detection)")
    return bad


# ---------------------------------------------------------------- fusion plan target spacing

def nnunet_target_spacing(spacings, sizes):
    """nnU-Net v2 default_experiment_planner.determine_fullres_target_spacing, re-implemented
    (ANISO_THRESHOLD = 3), on numpy-order (z, y, x) lists."""
    spacings, sizes = np.vstack(spacings), np.vstack(sizes)
    target = np.percentile(spacings, 50, 0)
    target_size = np.percentile(sizes, 50, 0)
    worst = int(np.argmax(target))
    others = [i for i in range(len(target)) if i != worst]
    if target[worst] > 3 * max(target[i] for i in others) and target_size[worst] * 3 < min(target_size[i] for i in others):
        t = np.percentile(spacings[:, worst], 10)
        if t < max(target[i] for i in others):
            t = max(target[i] for i in others) + 1e-5
        target[worst] = t
    return target.tolist()


def ras_order(codes):
    """For each RAS world axis (R-L, A-P, S-I), the stored axis that runs along it."""
    world = {"L": 0, "R": 0, "P": 1, "A": 1, "I": 2, "S": 2}
    return [next(k for k, c in enumerate(codes) if world[c] == w) for w in range(3)]


def dicom_series_axcodes(folder):
    """Orientation codes of a one-series folder's stored axes (columns, rows, slices), from
    pydicom's ImageOrientationPatient: LPS patient coordinates flipped to nibabel's RAS."""
    ds = pydicom.dcmread(sorted(glob.glob(os.path.join(folder, "*.dcm")))[0], stop_before_pixels=True)
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    row, col = iop[:3], iop[3:]
    aff = np.eye(4)
    aff[:3, 0], aff[:3, 1], aff[:3, 2] = row, col, np.cross(row, col)
    aff[:2, :] *= -1
    return "".join(nib.orientations.aff2axcodes(aff))


def canonical_cases(imagingx, folder, work, i):
    """(spacing, cropped size) per case in numpy order after reorientation to RAS, as nnU-Net
    would see them had every image been reoriented first: NIfTI datasets straight from nibabel's
    as_closest_canonical; a DICOM series folder from our nnU-Net fingerprint (checked against
    dcm2niix elsewhere), permuted by the axes pydicom's ImageOrientationPatient gives."""
    images = sorted(glob.glob(os.path.join(folder, "imagesTr", "*")))
    if images:
        out = []
        for path in images:
            img = nib.as_closest_canonical(nib.load(path))
            data = np.asanyarray(img.dataobj)
            nz = np.argwhere(data != 0)
            crop = (nz.max(0) - nz.min(0) + 1).tolist() if len(nz) else list(data.shape)
            out.append(([float(z) for z in img.header.get_zooms()[:3]][::-1], crop[:3][::-1]))
        return out
    fp_path = os.path.join(work, f"plan_fp_{i}.json")
    subprocess.run([imagingx, "fingerprint", folder, "--output", os.devnull, "--nnunet", fp_path], check=True)
    fp = json.load(open(fp_path))
    order = ras_order(dicom_series_axcodes(folder))
    out = []
    for sp, sz in zip(fp["spacings"], fp["shapes_after_crop"]):
        sp_xyz, sz_xyz = sp[::-1], sz[::-1]
        out.append(([sp_xyz[k] for k in order][::-1], [sz_xyz[k] for k in order][::-1]))
    return out


def write_oriented_dataset(folder, columns, spacing, shape, count):
    """An nnU-Net raw dataset whose images store their axes along `columns` (RAS+ directions)."""
    os.makedirs(os.path.join(folder, "imagesTr"), exist_ok=True)
    with open(os.path.join(folder, "dataset.json"), "w") as f:
        json.dump({"labels": {"background": 0}, "channel_names": {"0": "CT"}, "file_ending": ".nii.gz"}, f)
    rng = np.random.default_rng(7)
    for c in range(count):
        aff = np.eye(4)
        for k in range(3):
            aff[:3, k] = np.array(columns[k], dtype=float) * spacing[k]
        data = rng.integers(1, 1000, size=shape).astype(np.int16)
        nib.save(nib.Nifti1Image(data, aff), os.path.join(folder, "imagesTr", f"case_{c:03d}_0000.nii.gz"))


def check_plan(imagingx, folders, work):
    cases = []
    for i, folder in enumerate(folders):
        cases += canonical_cases(imagingx, folder, work, i)
    run = subprocess.run([imagingx, "plan", *folders, "--json"], capture_output=True, text=True, check=True)
    ours = json.loads(run.stdout)["target_spacing_zyx"]
    ref = nnunet_target_spacing([c[0] for c in cases], [c[1] for c in cases])
    ok = same_deep(ours, ref)
    print(f"plan: target spacing {'agrees' if ok else 'DIFFERS'} with nnU-Net's rule re-implemented in Python on "
          f"RAS-reoriented cases ({len(cases)} cases from {len(folders)} datasets): ours={ours} reference={ref}")
    return 0 if ok else 1


def check_plan_orientations(imagingx, work):
    """An LPS dataset mixed with an IPL one (the same anatomy, slice axis stored first): after
    reorientation nnU-Net's rule gives z 3 mm, y and x 0.76 mm."""
    lps = os.path.join(work, "plan-lps")
    ipl = os.path.join(work, "plan-ipl")
    write_oriented_dataset(lps, [(-1, 0, 0), (0, -1, 0), (0, 0, 1)], (0.76, 0.76, 3.0), (48, 48, 10), 3)
    write_oriented_dataset(ipl, [(0, 0, -1), (0, -1, 0), (-1, 0, 0)], (3.0, 0.76, 0.76), (10, 48, 48), 5)
    failed = check_plan(imagingx, [lps, ipl], work)
    run = subprocess.run([imagingx, "plan", lps, ipl, "--json"], capture_output=True, text=True, check=True)
    ours = json.loads(run.stdout)["target_spacing_zyx"]
    ok = np.allclose(ours, [3.0, 0.76, 0.76], atol=1e-6)
    print(f"plan: LPS + IPL datasets give {'' if ok else 'NOT '}z 3, y 0.76, x 0.76 mm after reorientation: ours={ours}")
    return failed + (0 if ok else 1)


def peer_view(path):
    # SimpleITK and pynrrd choose by extension; our reader sniffs the text keys / magic.
    lower = path.lower()
    if lower.endswith(META_EXTENSIONS):
        return metaimage_view(path)
    if lower.endswith(NRRD_EXTENSIONS):
        return nrrd_view(path)
    return dicom_view(path) or nifti_view(path) or raster_view(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--exclusions", default=os.path.join(HERE, "exclusions.json"))
    ap.add_argument("--generated-dicom", help="folder written by `make-sample-data --dicom-corpus`")
    ap.add_argument("--sample-data", help="the SampleData folder")
    ap.add_argument("--series-corpus", help="folder written by `make-sample-data --series-corpus`")
    ap.add_argument("--layout-corpus", help="folder written by `make-sample-data --layout-corpus`")
    ap.add_argument("--meta-corpus", help="folder written by `make-sample-data --meta-corpus` (MetaImage, NRRD)")
    args = ap.parse_args()

    os.makedirs(args.work, exist_ok=True)
    raster = os.path.join(args.work, "raster")
    subprocess.run([sys.executable, os.path.join(HERE, "make_raster_corpus.py"), raster], check=True,
                   stdout=subprocess.DEVNULL)
    corpora = {
        "pydicom": os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"),
        "nibabel": os.path.join(os.path.dirname(nib.__file__), "tests", "data"),
        "nicom": os.path.join(os.path.dirname(nib.__file__), "nicom", "tests", "data"),
        "raster": raster,
    }
    # Palette Color images with the well-known palettes' LUTs (plain and segmented), native and RLE.
    palettes = os.path.join(args.work, "palettes")
    subprocess.run([sys.executable, os.path.join(HERE, "make_palette_corpus.py"), palettes], check=True,
                   stdout=subprocess.DEVNULL)
    corpora["palettes"] = palettes
    if args.generated_dicom:
        corpora["generated-dicom"] = args.generated_dicom
    if args.meta_corpus:
        corpora["generated-meta"] = args.meta_corpus
    if args.sample_data:
        corpora["sampledata"] = args.sample_data
    with open(args.exclusions) as f:
        exclusions = json.load(f)["exclusions"]
    used = set()

    def excluded(corpus, path, field):
        for i, e in enumerate(exclusions):
            if e["corpus"] == corpus and fnmatch.fnmatch(path, e["path"]) and e["field"] in (field, "*"):
                used.add(i)
                return True
        return False

    passed = failed = excused = 0
    stats_tally = {"compared": 0, "ours only": 0, "neither": 0}
    unloadable = []
    fields_checked = 0
    privacy_leaks = []
    for corpus, root in corpora.items():
        ours_path = os.path.join(args.work, f"{corpus}.ours.jsonl")
        run = subprocess.run([args.imagingx, "scan", root, "--all", "--stats", "--output", ours_path, "--quiet"])
        if run.returncode != 0:
            print(f"FAIL {corpus}: imagingx exited {run.returncode}")
            failed += 1
            continue
        with open(ours_path) as f:
            text = f.read()
        ours = {r["path"]: r for r in map(json.loads, text.splitlines())}
        values_text = "\n".join(json.dumps({k: v for k, v in r.items() if k != "path"}) for r in ours.values())
        refs = []
        for rel in sorted(ours):
            full = os.path.join(root, rel)
            view = peer_view(full)
            refs.append({"path": rel, "peer": view})
            mine = ours[rel]
            problems = []
            if view is None:
                # No peer reads it: we must not claim an image either.
                if mine["status"] == "ok":
                    problems.append(("status", mine["status"], "unreadable by pydicom, nibabel and Pillow"))
            elif view.get("status") == "error":
                if mine["status"] == "ok":
                    problems.append(("status", "ok", view.get("peer_error")))
            else:
                if mine["status"] == "error" and (why := peer_load_error(full, view)):
                    # The header reads on both sides and neither can load the pixels: agreed.
                    unloadable.append(f"{corpus}/{rel} ({why})")
                elif mine["status"] != "ok":
                    problems.append(("status", f'{mine["status"]}: {mine["error"]}', "ok"))
                else:
                    for field, expected in view.items():
                        if field in ("status", "peer_error"):
                            continue
                        fields_checked += 1
                        if not same(mine.get(field), expected):
                            problems.append((field, mine.get(field), expected))
                    peer = peer_stats(full, view)
                    if peer is None:
                        stats_tally["ours only" if mine.get("stats") else "neither"] += 1
                    elif not mine.get("stats"):
                        problems.append(("stats", mine.get("stats_error"), "decoded by the peer"))
                    else:
                        bad_keys = same_stats(mine["stats"], peer)
                        stats_tally["compared"] += 1
                        if bad_keys:
                            problems.append(("stats", {k: mine["stats"].get(k) for k in bad_keys},
                                             {k: peer.get(k) for k in bad_keys}))
            bad = [p for p in problems if not excluded(corpus, rel, p[0])]
            if bad:
                failed += 1
                for field, got, want in bad:
                    print(f"DIFF {corpus}/{rel} {field}: ours={json.dumps(got)} peer={json.dumps(want)}")
            else:
                passed += 1
                excused += bool(problems)
            if corpus != "raster" and view and view.get("format") == "dicom":
                # Paths are printed as the user's folders name them (DICOMDIR layouts often use
                # patient IDs as folder names); every other field must be free of identity.
                for value in identity_values(full):
                    if value in values_text:
                        privacy_leaks.append((corpus, rel, value))
        with open(os.path.join(args.work, f"{corpus}.reference.jsonl"), "w") as f:
            for r in refs:
                f.write(json.dumps(r) + "\n")

    for corpus, rel, value in privacy_leaks:
        print(f"PRIVACY {corpus}/{rel}: an identity value ({len(value)} chars) appears in the output")
    stale = [e for i, e in enumerate(exclusions) if i not in used]
    for e in stale:
        print(f"STALE exclusion (matched nothing): {e['corpus']}/{e['path']} {e['field']}")
    print(f"files agreeing: {passed} ({excused} through listed exclusions); fields compared: {fields_checked}; "
          f"privacy leaks: {len(privacy_leaks)}; stale exclusions: {len(stale)}")
    print(f"status error where the header reads but the pixels cannot be loaded, and the peer cannot load "
          f"them either: {len(unloadable)}" + (" — " + "; ".join(unloadable) if unloadable else ""))
    print(f"stats: {stats_tally['compared']} files compared with the peers' arrays; "
          f"{stats_tally['ours only']} decoded by ImagingX only; {stats_tally['neither']} by neither")
    failed += len(privacy_leaks) + len(stale)
    series_roots = []
    if args.series_corpus:
        series_roots.append((args.series_corpus, ["regular", "oblique"]))
    if args.sample_data:
        series_roots.append((os.path.join(args.sample_data, "ct-series"), ["."]))
    if series_roots:
        failed += check_series(args.imagingx, series_roots, args.work)
    if args.sample_data and args.series_corpus:
        failed += check_plan(args.imagingx, [os.path.join(args.sample_data, "mr-nifti")] +
                             [os.path.join(args.series_corpus, v) for v in ("regular", "gap", "uneven", "tilt", "oblique")], args.work)
    failed += check_plan_orientations(args.imagingx, args.work)
    if args.sample_data:
        failed += check_fingerprint(args.imagingx, os.path.join(args.sample_data, "mr-nifti"), args.work)
    if args.layout_corpus:
        from layouts import check_layouts
        failed += check_layouts(args.imagingx, args.layout_corpus, args.work, same_deep)
    print(f"conformance: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
