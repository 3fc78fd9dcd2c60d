#!/usr/bin/env python3
"""Header-scan throughput of `imagingx scan s3://…` against latency (not part of the test command).

latency_proxy.py serves COPIES copies of SampleData (52 files each, under copyNNNNN/) from its own
memory as an S3 bucket (ListObjectsV2 and ranged GetObject), each answer sent after DELAY ms.
So the figure is our client's (requests in flight × latency), not moto's; --moto adds moto alone
(no proxy, no delay) on a smaller set for comparison. For --io-depth 1, 8, 64 and 256: files/s
(objects / wall seconds, listing included), requests, and peak RSS (/usr/bin/time).

  bench_s3.py --imagingx .build/release/imagingx --sample-data SampleData [--copies 100] [--delay-ms 20] [--moto]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--sample-data", required=True)
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--delay-ms", type=float, default=20)
    ap.add_argument("--depths", default="1,8,64,256")
    ap.add_argument("--moto", action="store_true")
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
