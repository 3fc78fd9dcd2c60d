#!/usr/bin/env python3
"""Header-scan throughput of `imagingx scan s3://…` against latency (not part of the test command).

latency_proxy.py serves COPIES copies of SampleData (52 files each, under copyNNNNN/) from its own
memory as an S3 bucket (ListObjectsV2 and ranged GetObject), each answer sent after DELAY ms.
So the figure is our client's (requests in flight × latency), not moto's; --moto adds moto alone
(no proxy, no delay) on a smaller set for comparison. For --io-depth 1, 8, 64 and 256: files/s
(objects / wall seconds, listing included), requests, and peak RSS (/usr/bin/time).

  bench_s3.py --imagingx .build/release/imagingx --sample-data SampleData [--copies 100] [--delay-ms 20] [--moto]

--index: instead, `index s3://bench/ --no-datasets` into a new SQLite file (the first index: every
object read by Range), then the same again (unchanged: the listing only, 1,000 keys a page), at
--io-depth 64: objects/s of each, with the listings and ranged GETs the proxy counted.
"""
import argparse, json, os, re, signal, socket, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_s3 import stop, free_port  # noqa: E402  (one copy of the server helpers)


def scan(imagingx, url, depth, env, limit=900):
    cmd = ["timeout", str(limit), "/usr/bin/time", "-f", "RSS_KB %M", imagingx, "scan", url, "--io-depth", str(depth), "-o", "/dev/null"]
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, env=env, text=True)
    secs = time.time() - t
    if p.returncode != 0:
        raise SystemExit(f"scan failed ({p.returncode}): {p.stderr[-800:]}")
    objects = int(re.search(r"scanned (\d+) objects", p.stderr).group(1))
    requests = int(re.search(r"requests (\d+)", p.stderr).group(1))
    errors = int(re.search(r"errors (\d+)", p.stderr).group(1))
    rss = int(re.search(r"RSS_KB (\d+)", p.stderr).group(1))
    return {"depth": depth, "objects": objects, "requests": requests, "errors": errors, "seconds": round(secs, 2),
            "files_per_s": round(objects / secs), "requests_per_s": round(requests / secs), "peak_rss_mb": round(rss / 1024, 1)}


def index_bench(imagingx, env, port, depth, work):
    """The first index and an unchanged re-index of s3://bench/ (objects/s, requests)."""
    import tempfile, urllib.request
    def stats():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__proxy_stats", timeout=30) as r:
            s = json.loads(r.read())
        return s["listings"], s["ranged_gets"]
    folder = tempfile.mkdtemp(dir=work)
    db = os.path.join(folder, "bench-index.sqlite")
    rows = []
    for label in ("first index", "unchanged re-index", "unchanged re-index"):
        l0, g0 = stats()
        cmd = ["timeout", "900", "/usr/bin/time", "-f", "RSS_KB %M", imagingx, "index", "s3://bench/", "--db", db, "--no-datasets",
               "--io-depth", str(depth)]
        t = time.time()
        p = subprocess.run(cmd, capture_output=True, env=env, text=True)
        secs = time.time() - t
        if p.returncode != 0:
            raise SystemExit(f"index failed ({p.returncode}): {p.stderr[-800:]}")
        l1, g1 = stats()
        m = re.search(r": (\d+) files, (\d+) read, (\d+) unchanged", p.stderr)
        objects, read = int(m.group(1)), int(m.group(2))
        rss = int(re.search(r"RSS_KB (\d+)", p.stderr).group(1))
        row = {"run": label, "objects": objects, "read": read, "listings": l1 - l0, "ranged_gets": g1 - g0,
               "seconds": round(secs, 2), "objects_per_s": round(objects / secs), "peak_rss_mb": round(rss / 1024, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print("| run | objects | read | listing pages | ranged GETs | seconds | objects/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['objects']} | {r['read']} | {r['listings']} | {r['ranged_gets']} | {r['seconds']} | {r['objects_per_s']} | {r['peak_rss_mb']} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--sample-data", required=True)
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--delay-ms", type=float, default=20)
    ap.add_argument("--depths", default="1,8,64,256")
    ap.add_argument("--moto", action="store_true")
    ap.add_argument("--index", action="store_true", help="the first index and an unchanged re-index instead of the scan curve")
    ap.add_argument("--work", default="/tmp")
    a = ap.parse_args()
    imagingx = os.path.abspath(a.imagingx)
    port = free_port()
    proxy = subprocess.Popen(["timeout", "3600", sys.executable, os.path.join(HERE, "latency_proxy.py"), "--port", str(port),
                              "--memory-root", os.path.abspath(a.sample_data), "--bucket", "bench", "--copies", str(a.copies),
                              "--delay-ms", str(a.delay_ms)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    rows = []
    try:
        proxy.stdout.readline()
        env = dict(os.environ, AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench",
                   AWS_SECRET_ACCESS_KEY="bench-secret", AWS_REGION="us-east-1")
        if a.index:
            index_bench(imagingx, env, port, 64, a.work)
            return
        for depth in [int(d) for d in a.depths.split(",")]:
            # At depth 1 every request waits its delay in turn: a tenth of the copies keeps it short.
            url = "s3://bench/copy0000" if depth == 1 and a.copies >= 10 else "s3://bench/"
            row = scan(imagingx, url, depth, env)
            row["target_files_per_s"] = round(0.5 * depth / (a.delay_ms / 1000))
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        stop(proxy)
    if a.moto:
        mport = free_port()
        moto = subprocess.Popen(["timeout", "1800", sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(mport)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            time.sleep(2)
            import botocore.session
            s3 = botocore.session.get_session().create_client("s3", endpoint_url=f"http://127.0.0.1:{mport}", region_name="us-east-1",
                                                              aws_access_key_id="bench", aws_secret_access_key="bench-secret")
            s3.create_bucket(Bucket="bench")
            root = os.path.abspath(a.sample_data)
            n = 0
            for c in range(10):
                for dirpath, _, files in os.walk(root):
                    for name in files:
                        full = os.path.join(dirpath, name)
                        s3.put_object(Bucket="bench", Key=f"copy{c:05d}/" + os.path.relpath(full, root), Body=open(full, "rb").read())
                        n += 1
            env = dict(os.environ, AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{mport}", AWS_ACCESS_KEY_ID="bench",
                       AWS_SECRET_ACCESS_KEY="bench-secret", AWS_REGION="us-east-1")
            for depth in (8, 64):
                row = scan(imagingx, "s3://bench/", depth, env)
                row["server"] = "moto alone, no added delay"
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            stop(moto)
    print()
    print(f"| io-depth | objects | requests | seconds | files/s | target (50 % of depth/{a.delay_ms:g} ms) | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        target = r.get("target_files_per_s", "—") if "server" not in r else "moto alone"
        print(f"| {r['depth']} | {r['objects']} | {r['requests']} | {r['seconds']} | {r['files_per_s']} | {target} | {r['peak_rss_mb']} |")


if __name__ == "__main__":
    main()
