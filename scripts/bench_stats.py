"""Pixel-statistics throughput: `imagingx scan --stats` against nibabel, pydicom and Pillow + numpy
computing the same statistics (count, min, max, mean, std, 0.5/50/99.5 percentiles, NaN/Inf) on
the same generated, page-cached corpus. Reports decoded MB/s, files/s, peak RSS and ratios.

Usage: bench_stats.py IMAGINGX WORKDIR
"""
import os, resource, subprocess, sys, time
import numpy as np


def make(work):
    import nibabel as nib, pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    from PIL import Image
    rng = np.random.default_rng(7)
    dirs = {k: os.path.join(work, k) for k in ("nii", "niigz", "dicom", "dicom-ybr", "dicom-palette", "png", "jpeg")}
    if all(os.path.isdir(d) and os.listdir(d) for d in dirs.values()):
        return dirs
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    for i in range(6):  # CT-like int16 volumes, 256x256x96 (12 MiB each), air padding
        a = rng.normal(40, 300, (256, 256, 96)).astype(np.int16)
        a[:, :48, :] = -1024
        img = nib.Nifti1Image(a, np.eye(4))
        nib.save(img, os.path.join(dirs["nii"], f"ct{i}.nii"))
        if i < 3:
            nib.save(img, os.path.join(dirs["niigz"], f"ct{i}.nii.gz"))
    for i in range(96):  # 512x512 int16 CT slices
        a = rng.normal(40, 300, (512, 512)).astype(np.int16)
        a[:64] = -2000
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = "CT"
        ds.Rows, ds.Columns = a.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = a.tobytes()
        ds.save_as(os.path.join(dirs["dicom"], f"s{i:03d}.dcm"), enforce_file_format=True)
    for i in range(32):  # 512x512 colour: native YBR_FULL (→ RGB) and PALETTE COLOR (16-bit LUT entries)
        for kind in ("dicom-ybr", "dicom-palette"):
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
            meta.MediaStorageSOPInstanceUID = generate_uid()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = Dataset()
            ds.file_meta = meta
            ds.SOPClassUID = meta.MediaStorageSOPClassUID
            ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
            ds.Modality = "OT"
            ds.Rows, ds.Columns = 512, 512
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
            if kind == "dicom-ybr":
                ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
                ds.PhotometricInterpretation = "YBR_FULL"
                ds.PixelData = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8).tobytes()
            else:
                ds.SamplesPerPixel = 1
                ds.PhotometricInterpretation = "PALETTE COLOR"
                lut = np.arange(256, dtype=np.uint16) * 257
                for c, name in enumerate(("Red", "Green", "Blue")):
                    setattr(ds, f"{name}PaletteColorLookupTableDescriptor", [256, 0, 16])
                    setattr(ds, f"{name}PaletteColorLookupTableData", (lut[::-1] if c == 1 else lut).tobytes())
                ds.PixelData = rng.integers(0, 256, (512, 512), dtype=np.uint8).tobytes()
            ds.save_as(os.path.join(dirs[kind], f"c{i:03d}.dcm"), enforce_file_format=True)
    for i in range(48):  # 8-bit grey photographs / X-ray, 1024x1024
        yy, xx = np.mgrid[0:1024, 0:1024]
        a = ((np.sin(xx / 37.0 + i) + np.cos(yy / 23.0)) * 60 + 128 + rng.normal(0, 8, (1024, 1024))).clip(0, 255).astype(np.uint8)
        Image.fromarray(a).save(os.path.join(dirs["png"], f"x{i:03d}.png"))
        Image.fromarray(a).save(os.path.join(dirs["jpeg"], f"x{i:03d}.jpg"), quality=90)
    return dirs


def stats(a):
    a = a.astype(np.float64).ravel()
    f = a[np.isfinite(a)]
    p = np.percentile(f, [0.5, 50, 99.5])
    return (f.size, f.min(), f.max(), f.mean(), f.std(), p[0], p[1], p[2], int(np.isnan(a).sum()), int(np.isinf(a).sum()))


def peer(kind, files):
    import nibabel as nib, pydicom
    from pydicom.pixels import apply_rescale
    from PIL import Image
    decoded = 0
    start = time.perf_counter()
    for path in files:
        if kind in ("nii", "niigz"):
            a = np.asanyarray(nib.load(path).dataobj)
        elif kind == "dicom":
            ds = pydicom.dcmread(path)
            a = apply_rescale(ds.pixel_array, ds)
            decoded += ds.pixel_array.nbytes - a.nbytes
        elif kind.startswith("dicom-"):
            # What a user sees: YBR_FULL already RGB; palette indices through apply_color_lut.
            from pydicom.pixels import apply_color_lut
            ds = pydicom.dcmread(path)
            a = ds.pixel_array
            if kind == "dicom-palette":
                a = apply_color_lut(a, ds)
        else:
            with Image.open(path) as im:
                a = np.asarray(im)
        decoded += a.nbytes
        stats(a)
    return time.perf_counter() - start, decoded


def ours(imagingx, folder, jobs):
    best = None
    for _ in range(3):
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", imagingx, "scan", "--stats", "--quiet", "--jobs", str(jobs),
                            folder, "-o", "/dev/null"], capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - t
        rss = int(p.stderr.strip().splitlines()[-1])
        if best is None or elapsed < best[0]:
            best = (elapsed, rss)
    return best


def main():
    imagingx, work = sys.argv[1], sys.argv[2]
    dirs = make(work)
    if len(sys.argv) > 3:
        return
    print("| format | files | decoded MB | imagingx --jobs 1 MB/s | --jobs 2 MB/s | files/s (1 job) | peak RSS | peer + numpy MB/s | peer RSS | ratio (1 job) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    only = os.environ.get("BENCH_KINDS", "").split(",")
    for kind, d in dirs.items():
        if only != [""] and kind not in only:
            continue
        files = sorted(os.path.join(d, f) for f in os.listdir(d))
        for f in files:
            with open(f, "rb") as fh:
                fh.read()  # page cache
        t1, rss1 = ours(imagingx, d, 1)
        t2, _ = ours(imagingx, d, 2)
        child = subprocess.run([sys.executable, __file__, "--peer", kind, *files], capture_output=True, text=True, check=True)
        tp, decoded, prss = child.stdout.split()
        tp, decoded, prss = float(tp), int(decoded), int(prss)
        # Decoded bytes as the stored samples (int16 = 2 bytes/voxel); the peer's figure is the
        # same count of samples at the same width.
        mb = decoded / 1e6
        print(f"| {kind} | {len(files)} | {mb:.0f} | {mb / t1:.0f} | {mb / t2:.0f} | {len(files) / t1:.0f} | {rss1 / 1024:.0f} MiB "
              f"| {mb / tp:.1f} | {prss / 1024:.0f} MiB | {tp / t1:.0f}× |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        kind, files = sys.argv[2], sys.argv[3:]
        peer(kind, files[:1])  # warm imports
        t, decoded = peer(kind, files)
        print(t, decoded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    else:
        main()
