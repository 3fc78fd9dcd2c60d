#!/usr/bin/env python3
"""The service, tested from outside as a client would use it (part of scripts/test):

  - the index file is readable as it is by Python's sqlite3, and holds no PS3.15 identity value;
  - `serve` refuses a non-loopback address without a token, and with a token every API request
    needs it (the portal's static files do not);
  - refusals: traversal and links out of the roots (403), oversized bodies (413), bad parameters
    (400), unknown ids (404), a second job on a root (409), wrong methods (405); all JSON {code, message};
  - the streamed download equals `imagingx export`; a client that disconnects mid-download costs nothing;
  - an index job started through the API reaches the end, and `serve --watch` picks up a new file;
  - schemathesis runs the OpenAPI document against the live server.
Every server is started with a bounded lifetime and killed by PID at the end.
"""
import argparse, http.client, json, os, shutil, signal, socket, sqlite3, subprocess, sys, tempfile, time, urllib.request

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


class Server:
    def __init__(self, binary, args, lifetime=900):
        self.proc = subprocess.Popen(["timeout", str(lifetime), binary, "serve", "--port", "0"] + args,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            if " at http" in line:
                self.url = line.split(" at ")[1].split(" ")[0].rstrip("/")
                break
        if not self.url:
            self.stop()
            raise SystemExit(f"serve did not start: {args}")
        self.host, self.port = self.url.split("//")[1].rsplit(":", 1)

    def request(self, method, path, body=None, headers=None, raw=False):
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        if raw:
            return r.status, payload, r
        try:
            return r.status, json.loads(payload) if payload else None
        except ValueError:
            return r.status, payload

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def is_error_body(body, code=None):
    return isinstance(body, dict) and set(body) == {"code", "message"} and (code is None or body["code"] == code)


def identity_values(sample):
    import pydicom
    keywords = ["PatientName", "PatientID", "PatientBirthDate", "InstitutionName", "ReferringPhysicianName",
                "AccessionNumber", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID",
                "StudyID", "OperatorsName", "StationName", "DeviceSerialNumber"]
    values = set()
    for dirpath, _, files in os.walk(sample):
        for name in files:
            try:
                ds = pydicom.dcmread(os.path.join(dirpath, name), stop_before_pixels=True)
            except Exception:
                continue
            for k in keywords:
                v = ds.get(k)
                if v is not None and len(str(v)) >= 4:
                    values.add(str(v))
    return values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--sample-data", required=True)
    ap.add_argument("--schemathesis", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    binary = os.path.abspath(a.imagingx)
    os.makedirs(a.work, exist_ok=True)
    work = tempfile.mkdtemp(dir=a.work)
    # The roots: a copy of SampleData (hard links: nothing is duplicated, nothing is modified) and
    # a link inside it that points out of every root.
    root = os.path.join(work, "lab")
    shutil.copytree(a.sample_data, os.path.join(root, "SampleData"), copy_function=os.link)
    outside = os.path.join(work, "outside")
    os.makedirs(outside)
    os.symlink(outside, os.path.join(root, "escape"))
    db = os.path.join(work, "index.sqlite")
    run = subprocess.run([binary, "index", root, "--db", db, "--quiet"], capture_output=True, text=True)
    check(run.returncode == 0, f"index exits 0 ({run.stderr.strip()[:200]})")

    # The index file as Python's sqlite3 reads it.
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    files = con.execute("SELECT count(*) FROM files").fetchone()[0]
    formats = dict(con.execute("SELECT format, count(*) FROM files GROUP BY format").fetchall())
    datasets = con.execute("SELECT count(*) FROM datasets WHERE fingerprint IS NOT NULL").fetchone()[0]
    con.close()
    check(files > 40 and formats.get("dicom", 0) >= 12, f"sqlite3 reads the index: {files} files, {formats}")
    check(datasets >= 8, f"sqlite3 reads {datasets} fingerprinted datasets")
    blob = b"".join(open(p, "rb").read() for p in [db, db + "-wal"] if os.path.exists(p))
    leaks = [v for v in identity_values(a.sample_data) if v.encode() in blob]
    check(not leaks, f"no PS3.15 identity value in the index file ({len(leaks)} found: {leaks[:3]})")

    # A non-loopback bind without a token is refused before anything listens.
    refused = subprocess.run(["timeout", "20", binary, "serve", "--db", db, "--host", "0.0.0.0", "--port", "0"],
                             capture_output=True, text=True)
    check(refused.returncode == 2 and "without a token" in refused.stderr,
          f"0.0.0.0 without --token-file is refused (exit {refused.returncode}: {refused.stderr.strip()[:120]})")
    short = os.path.join(work, "short-token")
    open(short, "w").write("abc\n")
    refused = subprocess.run(["timeout", "20", binary, "serve", "--db", db, "--token-file", short, "--port", "0"],
                             capture_output=True, text=True)
    check(refused.returncode == 2 and "16 characters" in refused.stderr, "a token under 16 characters is refused")

    s = Server(binary, ["--db", db, "--root", root])
    try:
        status, body = s.request("GET", "/api/v1/health")
        check(status == 200 and body["files"] == files, f"health answers with the index totals ({body})")
        for path, code, expect in [
            ("/api/v1/files?limit=5000", 400, "bad_request"), ("/api/v1/files?min_dim_x=-1", 400, "bad_request"),
            ("/api/v1/files?status=maybe", 400, "bad_request"), ("/api/v1/files/999999", 404, "not_found"),
            ("/api/v1/datasets/999999", 404, "not_found"), ("/api/v1/nothing-here", 404, "not_found"),
            ("/api/v1/files?cursor=abc", 400, "bad_request"), ("/api/v1/jobs/77777", 404, "not_found"),
        ]:
            st, b = s.request("GET", path)
            check(st == code and is_error_body(b, expect), f"GET {path} → {code} {expect} (got {st} {b})")
        st, b = s.request("DELETE", "/api/v1/files")
        check(st == 405 and is_error_body(b, "method_not_allowed"), f"DELETE /api/v1/files → 405 ({st})")
        # Paths given to the API must resolve inside a root.
        for bad in ["/etc", root + "/../outside", root + "/escape", root + "/SampleData/../../outside", "relative/path"]:
            st, b = s.request("POST", "/api/v1/jobs", {"root": bad})
            check(st == 403 and is_error_body(b, "forbidden"), f"POST /jobs {bad!r} → 403 (got {st})")
        st, b = s.request("POST", "/api/v1/jobs", b"{not json")
        check(st == 400 and is_error_body(b, "bad_request"), f"malformed JSON body → 400 (got {st})")
        st, b = s.request("POST", "/api/v1/jobs", b'{"root": "' + b"a" * (1 << 20) + b'"}')
        check(st == 413 and is_error_body(b, "too_large"), f"a body over 1 MiB → 413 (got {st})")
        # A job on the root runs to the end; a second one meanwhile is a conflict.
        os.makedirs(os.path.join(root, "new"), exist_ok=True)
        for i in range(400):
            os.link(os.path.join(root, "SampleData", "xray-png", "chest_1.png"), os.path.join(root, "new", f"x{i:03d}.png"))
        st, job = s.request("POST", "/api/v1/jobs", {"root": root})
        check(st == 202 and job["state"] == "running", f"POST /jobs root → 202 running (got {st})")
        st2, b2 = s.request("POST", "/api/v1/jobs", {"root": root + "/SampleData"})
        check(st2 == 409 and is_error_body(b2, "conflict") or (st2 == 202), f"a second job on the same root → 409 (got {st2})")
        deadline = time.time() + 120
        while time.time() < deadline:
            st, job = s.request("GET", f"/api/v1/jobs/{job['id']}")
            if job["state"] != "running":
                break
            time.sleep(0.2)
        check(job["state"] == "finished" and job["outcome"]["read"] >= 400, f"the job finishes ({job['state']}, read {job.get('outcome', {}).get('read')})")
        p = job["progress"]
        check(p["walkFinished"] and p["done"] == p["seen"], f"its progress ends at 100 % ({p['done']}/{p['seen']})")
        # The download equals `imagingx export` (one root: root-relative paths).
        st, payload, _ = s.request("GET", "/api/v1/files/download?output=csv", raw=True)
        export = subprocess.run([binary, "export", "--db", db, "--format", "csv"], capture_output=True).stdout
        check(st == 200 and payload == export, f"the CSV download equals `export` ({len(payload)} vs {len(export)} bytes)")
        # A client that goes away mid-download costs nothing.
        for _ in range(5):
            sock = socket.create_connection((s.host, int(s.port)))
            sock.sendall(b"GET /api/v1/files/download?output=jsonl HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.recv(100)
            sock.close()
        st, body = s.request("GET", "/api/v1/health")
        check(st == 200, "the service answers after clients disconnected mid-download")
        st, b = s.request("GET", "/openapi.json")
        check(st == 200 and b.get("openapi", "").startswith("3.1"), "the OpenAPI 3.1 document is served")
        # The contract, against the live server.
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        st_run = subprocess.run(["timeout", "600", a.schemathesis, "run", s.url + "/openapi.json", "--checks", "all",
                                 "--max-examples", "25", "--seed", "1", "--no-color"],
                                capture_output=True, text=True, env=env)
        tail = [l for l in st_run.stdout.splitlines() if "generated" in l or "failure" in l.lower()][-3:]
        check(st_run.returncode == 0, "schemathesis passes: " + " | ".join(tail))
        if st_run.returncode != 0:
            print(st_run.stdout[-4000:])
    finally:
        s.stop()

    # A token: every API request needs it; the portal's files do not.
    token_file = os.path.join(work, "token")
    token = "t0k3n-" + os.urandom(12).hex()
    open(token_file, "w").write(token + "\n")
    t = Server(binary, ["--db", db, "--root", root, "--token-file", token_file])
    try:
        st, b = t.request("GET", "/api/v1/health")
        check(st == 401 and is_error_body(b, "unauthorized"), f"no token → 401 (got {st})")
        st, b = t.request("GET", "/api/v1/health", headers={"Authorization": "Bearer " + token[:-1] + "x"})
        check(st == 401, f"a wrong token → 401 (got {st})")
        st, b = t.request("GET", "/api/v1/health", headers={"Authorization": "Bearer " + token})
        check(st == 200, f"the token → 200 (got {st})")
        st, page, _ = t.request("GET", "/", raw=True)
        check(st == 200 and b"<html" in page.lower(), "the portal page loads without the token (it holds no data)")
    finally:
        t.stop()

    # Fresh by itself: serve --watch indexes a file that appears under a root.
    watched = os.path.join(work, "watched")
    os.makedirs(os.path.join(watched, "ds"))
    os.link(os.path.join(a.sample_data, "xray-png", "chest_1.png"), os.path.join(watched, "ds", "a.png"))
    wdb = os.path.join(work, "watch.sqlite")
    subprocess.run([binary, "index", watched, "--db", wdb, "--quiet"], check=True)
    w = Server(binary, ["--db", wdb, "--root", watched, "--watch"])
    try:
        time.sleep(0.5)
        os.link(os.path.join(a.sample_data, "xray-png", "chest_1.png"), os.path.join(watched, "ds", "b.png"))
        deadline = time.time() + 30
        count = 0
        while time.time() < deadline:
            count = w.request("GET", "/api/v1/health")[1]["files"]
            if count == 2:
                break
            time.sleep(0.3)
        check(count == 2, f"serve --watch indexes a new file by itself (files: {count})")
    finally:
        w.stop()

    shutil.rmtree(work, ignore_errors=True)
    print(f"service: {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
