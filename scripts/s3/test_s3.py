#!/usr/bin/env python3
"""`imagingx scan s3://…` against a real S3 server on loopback (moto's), directly and through
our latency-injecting proxy (latency_proxy.py) with faults. Every imagingx run is bounded by a
timeout; servers are killed by PID at the end.

  test_s3.py --imagingx .build/release/imagingx --sample-data SampleData --work DIR

Checks (each prints one line; the last line is "N passed, N failed"):
  - the SigV4 vectors (sigv4_vectors.json) are what botocore signs now;
  - scan s3://bucket/SampleData/ gives the local scan's records, field by field, but the path
    (headers, and with --stats; CSV to a file too);
  - through the proxy (5 ms per request): 503 SlowDown on first tries is retried to the same
    records; Range ignored (200 + whole body) gives the same records; 403, a stalled response
    and a truncated body become error records naming the object, within the time bound;
  - the secret key never appears in any output, even when the store refuses it;
  - a missing bucket ends the command with exit 1 and a message;
  - `index s3://… --no-datasets` (through the proxy, which counts listings and ranged GETs):
    (a) then `export` equals `scan s3://` byte for byte (JSONL, CSV, --file-stat);
    (b) a re-index of the unchanged prefix reads no object (zero ranged GETs), export unchanged;
    (c) after objects are added, replaced and deleted, the re-index reads only those, removes the
        deleted one, and the export equals a fresh `scan s3://`;
    (d) `--shard K/4` for K = 0..3, one after another into one SQLite file, equals the single index;
    (e) a listing answered 403 (or 503 beyond the retries) keeps the stored rows and marks the
        root unavailable with the reason (exit 1); the next good listing makes it available again;
    (f) the secret key appears in no output and nowhere in the SQLite files;
    with --stats the export equals `scan s3:// --stats`; into PostgreSQL (a throwaway server,
    scripts/postgres/pgserver.py) the export is the same, and a database made before schema step
    v2 is refused for export until `index` adds the columns; without --no-datasets it is a usage
    error that says why.
"""
import argparse, json, os, re, signal, socket, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "SECRET-canary-7f3a9b-do-not-print"
BUCKET = "imagingx-test"
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + detail), flush=True)


def stop(p):
    """Kills a server and its children (`timeout` runs it in a process group of its own) by PID."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def run(args, env=None, limit=120):
    cmd = ["timeout", "-k", "5", str(limit)] + args
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode(), time.time() - t


def records(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def compare(local, remote, prefix):
    """'' when equal in everything but the path, else the first difference."""
    if len(local) != len(remote):
        return f"{len(local)} local records, {len(remote)} remote"
    for a, b in zip(local, remote):
        # A local scan of a folder names files relative to it; the remote records carry s3://bucket/key.
        if f"s3://{BUCKET}/{prefix}/{a['path']}" != b["path"]:
            return f"path {a['path']} vs {b['path']}"
        for k in sorted(set(a) | set(b)):
            if k != "path" and a.get(k) != b.get(k):
                return f"{a['path']}: field {k}: local {json.dumps(a.get(k))[:200]} remote {json.dumps(b.get(k))[:200]}"
    return ""


def start_proxy(endpoint, procs, *faults):
    """A latency proxy (5 ms) in front of moto; returns (process, port)."""
    pport = free_port()
    proxy = subprocess.Popen(["timeout", "600", sys.executable, os.path.join(HERE, "latency_proxy.py"),
                              "--port", str(pport), "--upstream", endpoint, "--delay-ms", "5"] + list(faults),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    procs.append(proxy)
    proxy.stdout.readline()
    return proxy, pport


def proxy_stats(pport):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{pport}/__proxy_stats", timeout=10) as r:
        return json.loads(r.read())


def postgres_checks(cli, export, url, penv, pport, fresh):
    """`index s3://` into PostgreSQL (scripts/postgres/pgserver.py's throwaway server): the same
    export, an unchanged re-index reads nothing, and a database made before schema step v2 is
    refused for reading until `index` upgrades it."""
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "postgres"))
    import pgserver
    server = pgserver.Server()
    try:
        server.start()
        server.createdb("s3")
        pg = server.url("s3")
        e = dict(penv, PGPASSWORD=server.password)
        code, _, err = cli("index", url, "--db", pg, "--no-datasets", e=e)
        before = proxy_stats(pport)
        code2, _, err2 = cli("index", url, "--db", pg, "--no-datasets", e=e)
        gets = proxy_stats(pport)["ranged_gets"] - before["ranged_gets"]
        check(f"PostgreSQL: index s3:// then export equals scan s3://; the re-index reads nothing ({gets} ranged GETs)",
              code == 0 and code2 == 0 and export(pg, e=e) == fresh and gets == 0 and " 0 read" in err2, err[-200:] + err2[-200:])
        server.psql("s3", "ALTER TABLE files DROP COLUMN etag; ALTER TABLE files DROP COLUMN last_modified; "
                          "DELETE FROM schema_migrations WHERE identifier = 'v2'")
        old = export(pg, e=e)
        code3, _, err3 = cli("index", url, "--db", pg, "--no-datasets", e=e)
        steps = server.psql("s3", "SELECT string_agg(identifier, ',' ORDER BY identifier) FROM schema_migrations").stdout.strip()
        check("PostgreSQL: a database before step v2 is refused for export, then `index` adds the columns and reads again",
              old.startswith("export failed") and "older" in old and code3 == 0 and steps == "v1,v2"
              and export(pg, e=e) == fresh and " 0 unchanged" in err3, f"{old[:200]} {steps} {err3[-200:]}")
    finally:
        server.stop()


def index_checks(imagingx, work, env, endpoint, s3, url, base, procs):
    """`index s3://…` and `export` (see the module's doc string, (a) to (f))."""
    import sqlite3
    proxy, pport = start_proxy(endpoint, procs)
    penv = dict(env, AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{pport}")
    outputs = []

    def cli(*args, e=penv, limit=120):
        code, out, err, secs = run([imagingx] + list(args), e, limit)
        outputs.append(out + err)
        return code, out, err

    db = os.path.join(work, "s3-index.sqlite")
    code, out, err = cli("index", url, "--db", db)
    check("index s3:// without --no-datasets: a usage error that says why",
          code == 2 and "--no-datasets" in err and "local disk" in err and not os.path.exists(db), f"exit {code} {err[-300:]}")

    def scan(*extra):
        code, out, err = cli("scan", url, "--quiet", *extra)
        return out if code == 0 else f"scan failed: {err[-300:]}"

    def export(d, *extra, e=penv):
        code, out, err = cli("export", "--db", d, *extra, e=e)
        return out if code == 0 else f"export failed: {err[-300:]}"

    before = proxy_stats(pport)
    code, out, err = cli("index", url, "--db", db, "--no-datasets")
    first = proxy_stats(pport)
    expected = scan()
    got = export(db)
    n = len(records(expected))
    check(f"(a) index s3:// then export equals scan s3:// byte for byte ({n} records, {first['ranged_gets'] - before['ranged_gets']} ranged GETs)",
          code == 0 and got == expected and n > 40 and f"{n} read" in err, f"exit {code} {err[-300:]}")
    check("(a) export --format csv equals scan s3:// --format csv",
          export(db, "--format", "csv") == scan("--format", "csv"))
    check("(a) export --file-stat equals scan s3:// --file-stat (an object's file_stat fields are null)",
          export(db, "--file-stat") == scan("--file-stat") and '"device":null' in scan("--file-stat"))

    before = proxy_stats(pport)
    code, out, err = cli("index", url, "--db", db, "--no-datasets")
    after = proxy_stats(pport)
    gets, lists = after["ranged_gets"] - before["ranged_gets"], after["listings"] - before["listings"]
    check(f"(b) re-index unchanged: {gets} objects read, {lists} listing(s), export unchanged",
          code == 0 and gets == 0 and lists >= 1 and f"{n} unchanged" in err and export(db) == expected,
          f"exit {code} gets {gets} {err[-300:]}")

    # (c) one object added, one replaced (other bytes), one deleted.
    prefix = url[len(f"s3://{BUCKET}/"):]
    added, replaced, deleted = prefix + "added/new-chest.png", prefix + "xray-png/chest_1.png", prefix + "ct-series/IM0004.dcm"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
    if replaced not in keys or deleted not in keys:
        check("(c) the objects to replace and delete exist", False, f"{replaced} {deleted} not among {keys[:60]}")
        replaced = next(k for k in keys if k.endswith(".png"))
        deleted = next(k for k in keys if k.endswith(".dcm"))
    other = next(k for k in keys if k.endswith(".jpg"))
    body = s3.get_object(Bucket=BUCKET, Key=other)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=added, Body=s3.get_object(Bucket=BUCKET, Key=replaced)["Body"].read())
    s3.put_object(Bucket=BUCKET, Key=replaced, Body=body)
    s3.delete_object(Bucket=BUCKET, Key=deleted)
    before = proxy_stats(pport)
    code, out, err = cli("index", url, "--db", db, "--no-datasets")
    after = proxy_stats(pport)
    read_keys = set(after["ranged_keys"][len(before["ranged_keys"]):])
    fresh = scan()
    check(f"(c) after an add, a replace and a delete: only {sorted(read_keys)} read, 1 removed, export equals a fresh scan",
          code == 0 and read_keys == {added, replaced} and "1 removed" in err and export(db) == fresh and fresh != expected
          and len(records(fresh)) == n, f"exit {code} read {sorted(read_keys)} {err[-300:]}")

    sharded = os.path.join(work, "s3-index-shards.sqlite")
    seen = 0
    ok = True
    for k in range(4):
        code, out, err = cli("index", url, "--db", sharded, "--no-datasets", "--shard", f"{k}/4")
        ok = ok and code == 0
        m = re.search(r"/: (\d+) files, ", err)
        seen += int(m.group(1)) if code == 0 and m else 0
    single = export(db)
    check(f"(d) --shard K/4 four times into one SQLite index equals the single index ({seen} objects over 4 shards)",
          ok and seen == n and export(sharded) == single, f"seen {seen}")
    code, out, err = cli("index", url, "--db", sharded, "--no-datasets", "--shard", "2/4")
    check("(d) re-running one shard reads nothing and keeps the other shards' rows",
          code == 0 and " 0 read" in err and export(sharded) == single, err[-300:])
    with_stats = os.path.join(work, "s3-index-stats.sqlite")
    code, out, err = cli("index", url, "--db", with_stats, "--no-datasets", "--stats")
    code2, out2, err2 = cli("index", url, "--db", with_stats, "--no-datasets", "--stats")
    check("index s3:// --stats: export --stats equals scan s3:// --stats; the re-index reads nothing",
          code == 0 and code2 == 0 and export(with_stats, "--stats") == scan("--stats") and " 0 read" in err2,
          f"exit {code}/{code2} {err[-200:]} {err2[-200:]}")
    postgres_checks(cli, export, url, penv, pport, fresh)
    stop(proxy)

    def root_row(d):
        con = sqlite3.connect(f"file:{d}?mode=ro", uri=True)
        try:
            return con.execute("SELECT available, unavailable_reason, files FROM roots WHERE path = ?", (url,)).fetchone()
        finally:
            con.close()

    for status, fault, timeout_s in (("403", ["--list-status", "403"], "5"), ("503", ["--list-status", "503"], "5"),
                                     ("timeout", ["--stall-list", "--stall-seconds", "30"], "1")):
        bad, bport = start_proxy(endpoint, procs, *fault)
        t = time.time()
        code, out, err = cli("index", url, "--db", db, "--no-datasets", "--request-timeout", timeout_s,
                             e=dict(env, AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{bport}"), limit=60)
        secs = time.time() - t
        stop(bad)
        row = root_row(db)
        check(f"(e) a listing answered {'by a stall' if 'timeout' in status else status}: exit 1 ({secs:.1f} s), "
              "the root unavailable with the reason, every row kept",
              code == 1 and "unavailable" in err and status in err and row is not None and row[0] == 0
              and status in (row[1] or "") and export(db) == fresh and secs < 30, f"exit {code} {row} {err[-300:]}")
    code, out, err = cli("index", url, "--db", db, "--no-datasets", e=env)
    row = root_row(db)
    check("(e) the next good listing makes the root available again, nothing read",
          code == 0 and row[0] == 1 and row[1] is None and " 0 read" in err and export(db) == fresh, f"{row} {err[-300:]}")
    code, out, err = cli("index", f"s3://no-such-bucket-{pport}/x", "--db", db, "--no-datasets", e=env)
    check("(e) a missing bucket: exit 1 naming it, the other root's rows untouched",
          code == 1 and "no-such-bucket" in err and export(db) == fresh, f"exit {code} {err[-300:]}")

    stored = b""
    for d in (db, sharded, with_stats):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(d + suffix):
                stored += open(d + suffix, "rb").read()
    check("(f) the secret key is in no index output and nowhere in the SQLite files",
          SECRET not in "".join(outputs) and SECRET.encode() not in stored and len(stored) > 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--sample-data", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    imagingx = os.path.abspath(a.imagingx)
    procs = []
    try:
        code, out, err, _ = run([sys.executable, os.path.join(HERE, "sigv4_vectors.py"), "--check",
                                 os.path.join(HERE, "sigv4_vectors.json")])
        check("SigV4 vectors match botocore's signer", code == 0, out + err)

        port = free_port()
        moto = subprocess.Popen(["timeout", "900", sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(moto)
        wait_port(port)
        endpoint = f"http://127.0.0.1:{port}"

        import botocore.session
        s3 = botocore.session.get_session().create_client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key=SECRET)
        s3.create_bucket(Bucket=BUCKET)
        root = os.path.abspath(a.sample_data)
        parent = os.path.dirname(root)
        uploaded = 0
        for dirpath, _, files in os.walk(root):
            for name in files:
                full = os.path.join(dirpath, name)
                key = os.path.relpath(full, parent).replace(os.sep, "/")
                with open(full, "rb") as f:
                    s3.put_object(Bucket=BUCKET, Key=key, Body=f.read())
                uploaded += 1
        # A folder marker and a hidden file: neither is scanned (as a local walk skips hidden names).
        s3.put_object(Bucket=BUCKET, Key="SampleData/empty-folder/", Body=b"")
        s3.put_object(Bucket=BUCKET, Key="SampleData/.hidden.dcm", Body=b"x")

        env = dict(os.environ, AWS_ENDPOINT_URL_S3=endpoint, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1")
        env.pop("AWS_PROFILE", None)
        url = f"s3://{BUCKET}/{os.path.basename(root)}/"
        os.chdir(parent)
        base = os.path.basename(root)

        for stats in (False, True):
            extra = ["--stats"] if stats else []
            code, local_out, err, _ = run([imagingx, "scan", base, "--quiet"] + extra)
            code2, remote_out, err2, secs = run([imagingx, "scan", url, "--quiet"] + extra, env)
            diff = compare(records(local_out), records(remote_out), base)
            label = "scan s3:// --stats" if stats else "scan s3://"
            check(f"{label}: {len(records(remote_out))} records equal the local scan's but the path",
                  code == 0 and code2 == 0 and not diff and len(records(local_out)) == uploaded,
                  diff or f"exit {code}/{code2} {err2[-400:]}")
            check(f"{label}: the secret key is not in the output", SECRET not in remote_out + err2)

        code, local_csv, _, _ = run([imagingx, "scan", base, "--quiet", "--format", "csv"])
        code2, remote_csv, err2, _ = run([imagingx, "scan", url, "--quiet", "--format", "csv", "-o", os.path.join(a.work, "s3.csv")], env)
        remote_csv = open(os.path.join(a.work, "s3.csv"), encoding="utf-8").read() if code2 == 0 else ""
        check("scan s3:// --format csv -o FILE: the local CSV but the path column",
              code == 0 and code2 == 0 and remote_csv.replace(f"s3://{BUCKET}/{base}/", "") == local_csv
              and remote_csv.count("\n") == uploaded + 1, err2[-300:])

        # Shards of a prefix, merged: the single scan's output byte for byte (JSON Lines and CSV).
        for fmt in ("jsonl", "csv"):
            _, single_out, _, _ = run([imagingx, "scan", url, "--quiet", "--format", fmt], env)
            parts, counts, ok = [], [], True
            for k in range(4):
                part = os.path.join(a.work, f"s3-part{k}.{fmt}")
                code, _, err, _ = run([imagingx, "scan", url, "--quiet", "--format", fmt, "--shard", f"{k}/4", "-o", part], env)
                ok &= code == 0 and os.path.exists(part + ".shard.json")
                parts.append(part)
                counts.append(sum(1 for _ in open(part, encoding="utf-8")) - (1 if fmt == "csv" else 0) if os.path.exists(part) else -1)
            merged = os.path.join(a.work, f"s3-merged.{fmt}")
            code, _, err, _ = run([imagingx, "merge"] + parts + ["-o", merged])
            got = open(merged, encoding="utf-8").read() if code == 0 else ""
            check(f"scan s3:// --shard K/4 ({fmt}), merged: the single scan byte for byte (objects per shard {counts})",
                  ok and code == 0 and got == single_out and sum(counts) == uploaded and all(c > 0 for c in counts), err[-300:])
        code, out, err, _ = run([imagingx, "scan", url, "--shard", "0/4"], env)
        check("scan s3:// --shard without --output: a usage error", code == 2 and "--output" in err, f"exit {code} {err[-200:]}")

        # Through the proxy, forwarding to moto.
        def proxied(*faults, timeout_s=None, extra=(), limit=120):
            pport = free_port()
            proxy = subprocess.Popen(["timeout", "600", sys.executable, os.path.join(HERE, "latency_proxy.py"),
                                      "--port", str(pport), "--upstream", endpoint, "--delay-ms", "5",
                                      "--stall-seconds", "20"] + list(faults),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
            procs.append(proxy)
            proxy.stdout.readline()
            penv = dict(env, AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{pport}")
            args = [imagingx, "scan", url] + list(extra)
            if timeout_s:
                args += ["--request-timeout", str(timeout_s)]
            result = run(args, penv, limit)
            stop(proxy)
            return result

        _, local_out, _, _ = run([imagingx, "scan", base, "--quiet"])
        local = records(local_out)

        code, out, err, secs = proxied("--fail-first", "ct-series/IM000", "--fail-first", "dataset.json")
        retries = next((l for l in err.splitlines() if "retries" in l), "")
        check("503 SlowDown on first tries: retried to the local records",
              code == 0 and not compare(local, records(out), base) and "retries 0," not in retries,
              compare(local, records(out), base) + " " + retries + err[-300:])

        code, out, err, secs = proxied("--ignore-range", ".nii.gz", "--ignore-range", "MRHead.nrrd", "--ignore-range", ".dcm")
        ignored = next((l for l in err.splitlines() if "range ignored" in l), "")
        check("Range ignored (200 + whole body): the local records, bodies cut short",
              code == 0 and not compare(local, records(out), base) and "range ignored 0," not in ignored,
              compare(local, records(out), base) + " " + ignored)

        def one(out, name):
            return next((r for r in records(out) if r["path"].endswith(name)), {})

        code, out, err, secs = proxied("--status", "chest_1.png=403", "--status", "IM0004.dcm=404", "--fail-always", "lesion_2.jpg")
        r403, r404, r503 = one(out, "chest_1.png"), one(out, "IM0004.dcm"), one(out, "lesion_2.jpg")
        check("503 SlowDown on every try: an error record after the bounded attempts",
              r503.get("status") == "error" and "503 SlowDown" in r503.get("error", "") and "attempts" in r503.get("error", ""),
              json.dumps(r503)[:300])
        others = [r for r in records(out) if not r["path"].endswith(("chest_1.png", "IM0004.dcm", "lesion_2.jpg"))]
        check("403 and 404 become error records naming the object; the other records are unchanged",
              code == 0 and r403.get("status") == "error" and "403" in r403.get("error", "") and "s3://" in r403.get("error", "")
              and r404.get("status") == "error" and "404" in r404.get("error", "")
              and not compare([r for r in local if not r["path"].endswith(("chest_1.png", "IM0004.dcm", "lesion_2.jpg"))], others, base),
              json.dumps(r403)[:300])
        check("403: the secret key is not in the output", SECRET not in out + err)

        code, out, err, secs = proxied("--stall", "chest_2.png", timeout_s=1, limit=60)
        rs = one(out, "chest_2.png")
        check(f"a stalled response becomes an error record within the timeout and retries ({secs:.1f} s)",
              code == 0 and rs.get("status") == "error" and "s3://" in rs.get("error", "") and secs < 30
              and len(records(out)) == len(local), json.dumps(rs)[:300] + err[-300:])

        code, out, err, secs = proxied("--truncate", "case001.mhd", timeout_s=5, limit=60)
        rt = one(out, "case001.mhd")
        check(f"a truncated body becomes an error record ({secs:.1f} s)",
              code == 0 and rt.get("status") == "error" and "case001.mhd" in rt.get("error", "") and len(records(out)) == len(local),
              json.dumps(rt)[:300] + err[-300:])

        code, out, err, _ = run([imagingx, "scan", f"s3://no-such-bucket-{port}/x", "--quiet"], env, 60)
        check("a missing bucket: exit 1 with a message", code == 1 and "no-such-bucket" in err and out == "", f"exit {code} {err[-300:]}")

        code, out, err, _ = run([imagingx, "scan", url, "--quiet"], dict(env, AWS_ACCESS_KEY_ID="", AWS_PROFILE="none",
                                                                          HOME=a.work), 60)
        check("no credentials: exit 1 naming what to set", code == 1 and "credentials" in err and "--no-sign-request" in err,
              f"exit {code} {err[-300:]}")
        # A public bucket: moto answers anonymous GETs once a bucket policy allows them.
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}))
        code, out, err, _ = run([imagingx, "scan", url, "--quiet", "--no-sign-request"],
                                dict(env, AWS_ACCESS_KEY_ID="", HOME=a.work), 60)
        check("--no-sign-request: anonymous requests give the local records (moto answers them)",
              code == 0 and not compare(local, records(out), base), compare(local, records(out), base) + err[-300:])

        index_checks(imagingx, a.work, env, endpoint, s3, url, base, procs)
    finally:
        for p in procs:
            stop(p)
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
