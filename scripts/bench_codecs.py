"""JPEG-LS and JPEG 2000 pixel statistics: `imagingx scan --stats --jobs 1` against pydicom
`pixel_array` (decoded by pylibjpeg: pylibjpeg-libjpeg for JPEG-LS, pylibjpeg-openjpeg for JPEG 2000)
+ `apply_rescale` + the same statistics in numpy (count, min, max, mean, std, 0.5/50/99.5
percentiles, NaN/Inf), on the same files, written by `make-sample-data --bench-codecs`.
One run per side (files page-cached first). Reports decoded MB/s, peak RSS and the ratios of
wall time and of CPU time (ours: the whole process, user + system; the peer: its decode loop
only, imports excluded), the latter being steadier on a shared machine.

Usage: bench_codecs.py IMAGINGX MAKE_SAMPLE_DATA WORKDIR [COUNT]
"""
import os, resource, subprocess, sys, time
import numpy as np

PYLIBJPEG = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}


def stats(a):
    a = a.astype(np.float64).ravel()
    f = a[np.isfinite(a)]
    p = np.percentile(f, [0.5, 50, 99.5])
    return (f.size, f.min(), f.max(), f.mean(), f.std(), p[0], p[1], p[2], int(np.isnan(a).sum()), int(np.isinf(a).sum()))


def peer(files):
    import pydicom
    from pydicom.pixels import apply_rescale
    decoded = 0
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        ds = pydicom.dcmread(path)
        if ds.file_meta.TransferSyntaxUID in PYLIBJPEG:
            ds.pixel_array_options(decoding_plugin="pylibjpeg")
        arr = ds.pixel_array
        decoded += arr.nbytes
        stats(apply_rescale(arr, ds))
    return time.perf_counter() - start, time.process_time() - cpu, decoded


def ours(imagingx, folder):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", imagingx, "scan", "--stats", "--quiet", "--jobs", "1",
                        folder, "-o", "/dev/null"], capture_output=True, text=True, check=True)
    rss, user, sys_ = p.stderr.strip().splitlines()[-1].split()
    return time.perf_counter() - t, int(rss), float(user) + float(sys_)


def main():
    imagingx, make, work = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 24
    if not os.path.isdir(os.path.join(work, "jls-ct")):
        subprocess.run([make, "--bench-codecs", work, str(count)], check=True, stdout=subprocess.DEVNULL)
    print("| corpus | files | decoded MB | imagingx --jobs 1 MB/s | peak RSS | pydicom + pylibjpeg + numpy MB/s | peer RSS | ratio (wall) | ratio (CPU time) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in ("jls-ct", "jls-rgb", "j2k-ct-53", "j2k-ct-97"):
        d = os.path.join(work, kind)
        files = sorted(os.path.join(d, f) for f in os.listdir(d))
        for f in files:
            with open(f, "rb") as fh:
                fh.read()  # page cache
        t1, rss1, c1 = ours(imagingx, d)
        child = subprocess.run([sys.executable, __file__, "--peer", *files], capture_output=True, text=True, check=True)
        tp, cp, decoded, prss = child.stdout.split()
        tp, cp, decoded, prss = float(tp), float(cp), int(decoded), int(prss)
        mb = decoded / 1e6  # decoded samples at their stored width, the same count on both sides
        print(f"| {kind} | {len(files)} | {mb:.0f} | {mb / t1:.0f} | {rss1 / 1024:.0f} MiB | {mb / tp:.1f} | "
              f"{prss / 1024:.0f} MiB | {tp / t1:.2f}× | {cp / c1:.2f}× |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        files = sys.argv[2:]
        peer(files[:1])  # warm imports and plugins
        t, cpu, decoded = peer(files)
        print(t, cpu, decoded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    else:
        main()
