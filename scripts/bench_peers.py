"""Runs imagingx and the Python peers side by side on the same warm corpus (see bench-peers).

Every tool runs as its own process; peak RSS is that process's ru_maxrss (os.wait4). Each
measurement is the best of five runs after one warm-up run that puts the files in the page
cache. imagingx is timed as a whole process (start-up, walk, parse, JSON output to /dev/null);
the Python peers are timed inside their loop only (imports and the file listing excluded), which
favours the peers. gdcmscanner is timed as a whole process, like imagingx.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

PEERS = {
    "dicom": ("pydicom dcmread(stop_before_pixels=True)",
              "import pydicom\nfor p in paths:\n    ds = pydicom.dcmread(p, stop_before_pixels=True)\n    ds.Rows, ds.Columns, ds.get('PixelSpacing')"),
    "nii": ("nibabel load(...).header",
            "import nibabel as nib\nfor p in paths:\n    h = nib.load(p).header\n    h.get_zooms(), h.get_best_affine()"),
    "niigz": ("nibabel load(...).header",
              "import nibabel as nib\nfor p in paths:\n    h = nib.load(p).header\n    h.get_zooms(), h.get_best_affine()"),
    "png": ("Pillow Image.open(...).size",
            "from PIL import Image\nfor p in paths:\n    with Image.open(p) as im:\n        im.size, im.mode, im.info.get('dpi')"),
    "jpeg": ("Pillow Image.open(...).size",
             "from PIL import Image\nfor p in paths:\n    with Image.open(p) as im:\n        im.size, im.mode, im.info.get('dpi')"),
}

PEER_DRIVER = """
import os, sys, time
root = sys.argv[1]
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if not f.startswith('.'))
code = compile(sys.argv[2], 'peer', 'exec')
start = time.perf_counter()
exec(code, {'paths': paths})
print(len(paths), time.perf_counter() - start)
"""


def run(argv, stdout=subprocess.DEVNULL):
    """Runs a process; returns (wall seconds, peak RSS in MiB, stdout text)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode() if stdout is None else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} exited {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss / 1024.0, out


def best(fn, repeats=5):
    fn()  # warm-up: page cache, dentries
    results = [fn() for _ in range(repeats)]
    return min(results, key=lambda r: r[0]), max(r[1] for r in results)


def count_files(d):
    return sum(1 for _, _, fs in os.walk(d) for f in fs if not f.startswith("."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--before", help="another imagingx binary (e.g. the previous commit's): timed against --imagingx, "
                                     "runs interleaved, and reported as after/before ratios; the peers are skipped")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--stats", action="store_true", help="with --before: time `scan --stats` instead of headers")
    args = ap.parse_args()
    if args.before:
        return compare(args)

    rows = []

    def ours(d, jobs):
        wall, rss, _ = run([args.imagingx, "scan", d, "--jobs", str(jobs), "--output", "/dev/null", "--quiet"])
        return wall, rss

    def peer(d, code):
        _, rss, out = run([sys.executable, "-c", PEER_DRIVER, d, code], stdout=None)
        n, loop = out.split()
        return float(loop), rss

    for fmt in ["dicom", "nii", "niigz", "png", "jpeg"]:
        d = os.path.join(args.corpus, fmt)
        n = count_files(d)
        (w1, r1), _ = best(lambda: ours(d, 1))
        (w2, r2), _ = best(lambda: ours(d, 2))
        name, code = PEERS[fmt]
        (wp, rp), _ = best(lambda: peer(d, code))
        row = {"format": fmt, "files": n,
               "imagingx_j1_files_s": n / w1, "imagingx_j1_rss_mib": r1,
               "imagingx_j2_files_s": n / w2, "imagingx_j2_rss_mib": r2,
               "peer": name, "peer_files_s": n / wp, "peer_rss_mib": rp}
        if fmt == "dicom":
            tags = ["0002,0010", "0008,0016", "0008,0060", "0020,000e", "0020,0032", "0020,0037",
                    "0028,0010", "0028,0011", "0028,0030", "0028,0100", "0028,1052", "0028,1053"]
            argv = ["gdcmscanner", "-d", d, "-r"] + [x for t in tags for x in ("-t", t)]
            (wg, rg), _ = best(lambda: run(argv)[:2])
            row.update({"gdcmscanner_files_s": n / wg, "gdcmscanner_rss_mib": rg})
        rows.append(row)

    print(f"# {platform.node()} {platform.machine()}, {os.cpu_count()} cores; corpus {args.corpus}; best of 5 after a warm-up")
    header = "| format | files | imagingx -j1 files/s | -j2 files/s | -j2/-j1 | peer | peer files/s | imagingx/peer | RSS MiB imagingx / peer |"
    print(header)
    print("|" + "---|" * 9)
    for r in rows:
        print(f"| {r['format']} | {r['files']} | {r['imagingx_j1_files_s']:,.0f} | {r['imagingx_j2_files_s']:,.0f} | "
              f"{r['imagingx_j2_files_s'] / r['imagingx_j1_files_s']:.2f}× | {r['peer']} | {r['peer_files_s']:,.0f} | "
              f"{r['imagingx_j1_files_s'] / r['peer_files_s']:.1f}× | {r['imagingx_j1_rss_mib']:.0f} / {r['peer_rss_mib']:.0f} |")
        if "gdcmscanner_files_s" in r:
            print(f"| dicom | {r['files']} | | | | gdcmscanner (12 tags) | {r['gdcmscanner_files_s']:,.0f} | "
                  f"{r['imagingx_j1_files_s'] / r['gdcmscanner_files_s']:.1f}× | {r['imagingx_j1_rss_mib']:.0f} / {r['gdcmscanner_rss_mib']:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


def compare(args):
    """Before/after on the same files in one run: for each format and job count, one warm-up of
    each binary, then `repeats` rounds alternating the two; the best wall time of each, the
    highest peak RSS."""
    extra = ["--stats"] if args.stats else []

    def timed(binary, d, jobs):
        wall, rss, _ = run([binary, "scan", d, "--jobs", str(jobs), "--output", "/dev/null", "--quiet"] + extra)
        return wall, rss

    print(f"# {platform.node()} {platform.machine()}, {os.cpu_count()} cores; corpus {args.corpus}; "
          f"{'scan --stats' if args.stats else 'header scan'}; best of {args.repeats} interleaved rounds after a warm-up")
    print("| format | files | jobs | before files/s | after files/s | after / before | peak RSS MiB before / after |")
    print("|" + "---|" * 7)
    rows = []
    for fmt in ["dicom", "nii", "niigz", "png", "jpeg"]:
        d = os.path.join(args.corpus, fmt)
        if not os.path.isdir(d):
            continue
        n = count_files(d)
        for jobs in (1, 2):
            timed(args.before, d, jobs)
            timed(args.imagingx, d, jobs)
            b, a = [], []
            for _ in range(args.repeats):
                b.append(timed(args.before, d, jobs))
                a.append(timed(args.imagingx, d, jobs))
            wb, wa = min(x[0] for x in b), min(x[0] for x in a)
            rb, ra = max(x[1] for x in b), max(x[1] for x in a)
            rows.append({"format": fmt, "files": n, "jobs": jobs, "before_files_s": n / wb, "after_files_s": n / wa,
                         "ratio": wb / wa, "before_rss_mib": rb, "after_rss_mib": ra})
            print(f"| {fmt} | {n} | {jobs} | {n / wb:,.0f} | {n / wa:,.0f} | {wb / wa:.3f} | {rb:.0f} / {ra:.0f} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
