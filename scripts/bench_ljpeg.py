"""JPEG Lossless decoding speed: `imagingx scan --stats --jobs 1` against pydicom + pylibjpeg
(`pixel_array`) with the same statistics in numpy, on the same files, one worker each.

One warm-up pass of each side (page cache), then one measured run of each. imagingx is timed as
a whole process (start-up, walk, header parse, decode, statistics, JSON to /dev/null); the
Python side is timed inside its loop only (interpreter start-up and imports excluded), which
favours it. imagingx's CPU time (user + system) is reported too: on a shared machine wall time
also counts the time spent waiting for a core. Peak RSS is each process's ru_maxrss (os.wait4). MB/s counts decoded sample bytes
(Rows × Columns × Samples × Bits Allocated / 8 per frame).

Usage: bench_ljpeg.py --imagingx PATH --corpus DIR [--json FILE]
(scripts/bench-ljpeg builds the release binary and the corpus, then runs this.)
"""
import argparse
import json
import os
import subprocess
import sys
import time

PEER = r"""
import os, sys, time
import numpy as np
import pydicom
root = sys.argv[1]
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith('.dcm'))
decoded = 0
start = time.perf_counter()
for p in paths:
    ds = pydicom.dcmread(p)
    a = ds.pixel_array
    decoded += a.nbytes
    v = a.astype(np.float64).ravel()
    stats = (v.size, v.min(), v.max(), v.mean(), v.std(), np.percentile(v, [0.5, 50, 99.5]))
print(len(paths), decoded, time.perf_counter() - start)
"""


def run_rss(argv):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{argv[0]} exited {code}")
    return wall, usage.ru_maxrss / 1024.0, out, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--json")
    args = ap.parse_args()

    ours_cmd = [args.imagingx, "scan", "--stats", "--jobs", "1", "--quiet", args.corpus]
    peer_cmd = [sys.executable, "-c", PEER, args.corpus]

    # Warm-up: page cache for both, and a check that every file decodes on both sides.
    _, _, records, _ = run_rss(ours_cmd)
    lines = [json.loads(l) for l in records.splitlines() if l.strip()]
    failures = [r["path"] for r in lines if not r.get("stats")]
    if failures:
        raise SystemExit(f"imagingx did not decode {len(failures)} files, e.g. {failures[0]}")
    decoded = sum(r["stats"]["count"] * 2 for r in lines)
    run_rss(peer_cmd)

    ours_wall, ours_rss, _, ours_cpu = run_rss(ours_cmd)
    _, peer_rss, out, _ = run_rss(peer_cmd)
    files, peer_decoded, peer_loop = out.split()
    files, peer_decoded, peer_loop = int(files), int(peer_decoded), float(peer_loop)
    if peer_decoded != decoded:
        raise SystemExit(f"decoded bytes differ: imagingx {decoded}, pydicom {peer_decoded}")

    mb = decoded / 1e6
    result = {
        "files": files,
        "decoded_mb": round(mb, 2),
        "imagingx_s": round(ours_wall, 3),
        "imagingx_mb_s": round(mb / ours_wall, 1),
        "imagingx_cpu_s": round(ours_cpu, 3),
        "imagingx_mb_per_cpu_s": round(mb / ours_cpu, 1),
        "imagingx_peak_rss_mib": round(ours_rss, 1),
        "pydicom_pylibjpeg_loop_s": round(peer_loop, 3),
        "pydicom_pylibjpeg_mb_s": round(mb / peer_loop, 1),
        "pydicom_peak_rss_mib": round(peer_rss, 1),
        "ratio": round(peer_loop / ours_wall, 2),
    }
    print(f"JPEG Lossless, {files} files, {mb:.1f} MB of decoded samples, one worker each (one run):")
    print(f"  imagingx scan --stats --jobs 1      {ours_wall:7.3f} s  {mb / ours_wall:7.1f} MB/s  peak RSS {ours_rss:6.1f} MiB")
    print(f"  pydicom+pylibjpeg pixel_array+numpy {peer_loop:7.3f} s  {mb / peer_loop:7.1f} MB/s  peak RSS {peer_rss:6.1f} MiB")
    print(f"  imagingx CPU time {ours_cpu:.3f} s: {mb / ours_cpu:.1f} MB per CPU second (the per-core rate; wall time "
          f"also counts waiting for a shared core)")
    print(f"  imagingx is {peer_loop / ours_wall:.2f}x the peer (whole process against the peer's loop, wall time)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
