#!/usr/bin/env python3
"""`imagingx serve --db postgres://…` against a real PostgreSQL server (part of scripts/test).

The server is started by scripts/postgres/pgserver.py as in test_postgres.py (initdb in /tmp as an
unprivileged user, SCRAM passwords, 127.0.0.1 and a free port only; always stopped at the end).
The tree is scripts/service/crash_test.py's make_tree (hard links to SampleData's small files).
One `ok`/`FAIL` line per check:
  (h) a service started with `serve --db postgres://…` on an empty database (it makes the schema)
      is queried in a loop (file lists with filters and cursors, facets, counts, roots, health)
      while 4 `index --shard K/4 --no-datasets --stats` writers fill it: no request fails (503s
      would be allowed only before the first success), and the reads saw the index partly
      written; then its answers equal those of a service on the SQLite index of the same tree
      (`--stats` too), URL by URL.
      The shard writers run without the dataset pass (their dataset ids would follow which shard
      finishes a dataset last), so the same dataset rows (from an SQLite index made with the
      dataset pass) are copied into both indexes: datasets, a dataset, its fingerprint and cases,
      series, compat and plan (POST, then GET) are compared too.
      File ids must differ (4 writers interleave their rows): files are compared by root and
      path, and each filtered listing walked page by page through its cursors (same page sizes,
      ascending ids, next_cursor = the page's last id, the same files in all).
  (h2) the same URLs on a PostgreSQL index written by one writer with the dataset pass (its
      datasets, cases, series and fingerprints written by PostgreSQL's dataset store): its ids are
      SQLite's (rows are inserted in the same order), so every answer must be the same bytes, page
      by page, but `fingerprinted_at` (a time).
  (h3) index jobs started through the API (POST /jobs) on that PostgreSQL index: an unchanged tree
      reads nothing; after a file is added and one removed, a job reads 1 (and the other hard links
      of the removed file's inode, whose ctime changed) and removes 1, and the API lists them so;
      the job's dataset pass leaves the datasets, cases and series of a fresh SQLite index.
  (i) refusals: serve to an address where no server listens fails at start with a clear message
      within 40 s; the PostgreSQL server stopped (immediate shutdown) while serving: every request
      gets a JSON 503 within 20 s, and the service answers again (the same bytes) once the
      server is back; the server hung (SIGSTOP): JSON 503s within 20 s, answers once it runs on; the service's refusals hold (no token off loopback, a job outside the
      roots); a password given in the URL works; `serve` prints no password, nor does any answer
      or error it gave.
Normalised, and only these: `indexed_at` of roots and `fingerprinted_at` of datasets (times of day), the ids of files in (h) (see
above), and the ids POST /compat and /plans give (the SQLite service, shared by (h) and (h2), has
saved (h)'s already; each stored plan is read back by its own id and compared).
"""
import argparse, http.client, json, os, shutil, signal, sqlite3, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "scripts", "service"))
from crash_test import make_tree  # noqa: E402
import pgserver  # noqa: E402
import pg_datasets  # noqa: E402

failures = []
answers = []  # every body and message the services gave (checked for the password)
REQUEST_TIMEOUT = 60


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


class Serve:
    """`imagingx serve --port 0`; its stderr goes to a file (read for the URL and for the password)."""

    def __init__(self, binary, db, root, env, log, wait=True):
        self.log = log
        self.err = open(log, "wb")
        self.started = time.time()
        self.proc = subprocess.Popen(["timeout", "1800", binary, "serve", "--db", db, "--root", root, "--port", "0"],
                                     stdout=subprocess.DEVNULL, stderr=self.err, env=env)
        self.url = None
        if wait:
            self.wait_url()

    def wait_url(self, seconds=120):
        deadline = time.time() + seconds
        while time.time() < deadline and self.proc.poll() is None:
            text = self.stderr()
            if " at http" in text:
                self.url = text.split(" at http", 1)[1].split(" ")[0]
                self.url = "http" + self.url.rstrip("/")
                self.host, self.port = self.url.split("//")[1].rsplit(":", 1)
                return True
            time.sleep(0.05)
        return False

    def stderr(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, path, method="GET", body=None, timeout=REQUEST_TIMEOUT):
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=timeout)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        answers.append(payload.decode(errors="replace"))
        return r.status, payload, r.getheader("Content-Type") or ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        answers.append(self.stderr())


def sqlite_rows(path, sql, args=()):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def copy_datasets(full, target_sqlite=None, pg=None, pgdb=None):
    """Copies the dataset pass's rows (datasets, cases, series, files.dataset_id) of `full` into an
    SQLite index or a PostgreSQL database holding the same root and files (ids kept, by root path)."""
    datasets = sqlite_rows(full, "SELECT d.id, r.path, d.folder, d.name, d.layout, d.modality, d.files, d.bytes, d.cases, "
                                 "d.cases_failed, d.fingerprint, d.catalog_id, d.fingerprinted_at FROM datasets d JOIN roots r ON r.id = d.root_id")
    cases = sqlite_rows(full, "SELECT dataset_id, case_id, summary FROM cases")
    series = sqlite_rows(full, "SELECT s.id, r.path, s.dataset_id, s.series_key, s.first_file, s.modality, s.slices, s.regular_volume, s.record "
                               "FROM series s JOIN roots r ON r.id = s.root_id")
    claims = sqlite_rows(full, "SELECT r.path, f.path, f.dataset_id FROM files f JOIN roots r ON r.id = f.root_id WHERE f.dataset_id IS NOT NULL")
    root = "(SELECT id FROM roots WHERE path = {})"
    sql = []
    for d in datasets:
        sql.append("INSERT INTO datasets(id, root_id, folder, name, layout, modality, files, bytes, cases, cases_failed, fingerprint, "
                   "catalog_id, fingerprinted_at) VALUES (" + ", ".join([literal(d[0]), root.format(literal(d[1]))] + [literal(v) for v in d[2:]]) + ")")
    for c in cases:
        sql.append("INSERT INTO cases(dataset_id, case_id, summary) VALUES (" + ", ".join(literal(v) for v in c) + ")")
    for s in series:
        sql.append("INSERT INTO series(id, root_id, dataset_id, series_key, first_file, modality, slices, regular_volume, record) VALUES ("
                   + ", ".join([literal(s[0]), root.format(literal(s[1]))] + [literal(v) for v in s[2:]]) + ")")
    for r, p, d in claims:
        sql.append(f"UPDATE files SET dataset_id = {d} WHERE root_id = {root.format(literal(r))} AND path = {literal(p)}")
    if target_sqlite:
        con = sqlite3.connect(target_sqlite)
        with con:
            for s in sql:
                con.execute(s)
        con.close()
    else:
        text = "BEGIN;\n" + ";\n".join(sql) + ";\n"
        # Identity columns: the next ids after the copied ones (as SQLite's max(rowid) + 1).
        text += "SELECT setval(pg_get_serial_sequence('datasets', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM datasets), false);\n"
        text += "SELECT setval(pg_get_serial_sequence('series', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM series), false);\nCOMMIT;\n"
        r = subprocess.run([os.path.join(pg.bin, "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.user, "-d", pgdb,
                            "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"], input=text, capture_output=True, text=True, env=pg.env(), timeout=300)
        if r.returncode != 0:
            raise SystemExit("copying the dataset rows into PostgreSQL failed: " + r.stderr[-1000:])
    return len(datasets), len(cases), len(series)


# The listings walked through their cursors (filters, page sizes) and the single answers compared.
LISTINGS = [
    "/api/v1/files?limit=200",
    "/api/v1/files?format=dicom&limit=37",
    "/api/v1/files?status=error&limit=5",
    "/api/v1/files?modality=CT&min_dim_x=64&limit=50",
    "/api/v1/files?path=ds0&max_spacing_z=3.5&limit=40",
    "/api/v1/files?finding=spacing_mismatch&limit=10",
    "/api/v1/files?ndim=3&dtype=int16&limit=25",
    "/api/v1/files?format=png&min_dim_y=1&max_dim_y=512&limit=30",
    "/api/v1/files?dataset=3&limit=20",
    "/api/v1/files?path=f0001&limit=7",
]
SINGLE = [
    "/api/v1/health",
    "/api/v1/roots",
    "/api/v1/files/facets",
    "/api/v1/files/facets?format=dicom",
    "/api/v1/files/facets?path=ds01/&status=ok",
    "/api/v1/files/facets?finding=spacing_mismatch",
    "/api/v1/files/facets?path=%00",
    "/api/v1/files?path=%00",
    "/api/v1/files?count=true&limit=3",
    "/api/v1/files?count=true&modality=MR&limit=3",
    "/api/v1/files?count=true&min_spacing_x=0.5&max_spacing_x=1.0&limit=2",
    "/api/v1/datasets",
    "/api/v1/datasets?sort=files",
    "/api/v1/datasets?q=ds0&sort=bytes",
    "/api/v1/datasets/2",
    "/api/v1/datasets/2/fingerprint",
    "/api/v1/datasets/2/cases",
    "/api/v1/datasets/2/nnunet-fingerprint",
    "/api/v1/datasets/999999",
    "/api/v1/series",
    "/api/v1/series?dataset=1",
    "/api/v1/files/999999999",
    "/api/v1/version",
]


def load(payload):
    try:
        return json.loads(payload)
    except ValueError:
        return None


def file_keys(svc):
    """id -> (root, path) of every file the service lists (walked by cursors)."""
    out = {}
    cursor = None
    while True:
        status, body, _ = svc.request("/api/v1/files?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
        page = load(body)
        if status != 200 or page is None:
            return None
        for f in page["items"]:
            out[f["id"]] = (f["root"], f["record"]["path"])
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def normalise(value, keys):
    """File ids replaced by (root, path); times of day dropped."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("indexed_at", "created_at", "fingerprinted_at"):
                out[k] = "<time>" if v is not None else None
            elif k in ("id", "file_id") and isinstance(v, int) and keys is not None and "record" in value:
                out[k] = keys.get(v, ("?", v))
            elif k == "file_id" and isinstance(v, int) and keys is not None:
                out[k] = keys.get(v, ("?", v))
            else:
                out[k] = normalise(v, keys)
        return out
    if isinstance(value, list):
        return [normalise(v, keys) for v in value]
    return value


def walk(svc, url):
    """The pages of a listing through its cursors: [(status, items, next_cursor)], and whether the
    cursor rules held (ids ascending, next_cursor the last id of a full page, none after the last)."""
    pages = []
    cursor = None
    rules = True
    last = -1
    while True:
        status, body, _ = svc.request(url + (f"&cursor={cursor}" if cursor else ""))
        page = load(body)
        if status != 200 or page is None:
            return pages, False
        ids = [f["id"] for f in page["items"]]
        rules &= ids == sorted(ids) and all(i > last for i in ids)
        last = ids[-1] if ids else last
        nxt = page["next_cursor"]
        if nxt is not None:
            rules &= bool(ids) and nxt == str(ids[-1])
        pages.append((status, page["items"], nxt))
        if nxt is None or len(pages) > 10000:
            return pages, rules
        cursor = nxt


def compare_services(label, a, b, exact):
    """`a` (PostgreSQL) against `b` (SQLite), URL by URL. `exact`: the same bytes after the times
    of day (the ids are the same); else file ids compared through their paths."""
    keys_a, keys_b = (None, None) if exact else (file_keys(a), file_keys(b))
    if not exact and (keys_a is None or keys_b is None):
        return check(False, f"{label} the services list their files")
    if not exact:
        check(sorted(keys_a.values()) == sorted(keys_b.values()) and len(keys_a) == len(keys_b),
              f"{label} the same {len(keys_b)} files (root, path) on both")
    compared = 0
    differ = []
    for url in LISTINGS:
        pa, ra = walk(a, url)
        pb, rb = walk(b, url)
        same_sizes = [len(p[1]) for p in pa] == [len(p[1]) for p in pb]
        if exact:
            same = [(s, i, n) for s, i, n in pa] == [(s, i, n) for s, i, n in pb]
        else:
            items_a = sorted(json.dumps(normalise(i, keys_a), sort_keys=True) for p in pa for i in p[1])
            items_b = sorted(json.dumps(normalise(i, keys_b), sort_keys=True) for p in pb for i in p[1])
            same = items_a == items_b
        compared += 1
        if not (ra and rb and same_sizes and same and pa):
            differ.append(f"{url} (cursor rules {ra}/{rb}, page sizes {[len(p[1]) for p in pa]} vs {[len(p[1]) for p in pb]}, same items {same})")
    # One file's detail: the same path in both (ids looked up per service).
    probe = ["/api/v1/files?limit=1", "/api/v1/files?status=error&limit=1", "/api/v1/files?format=dicom&limit=1&path=ds02"]
    singles = list(SINGLE)
    for p in probe:
        _, body, _ = b.request(p)
        items = (load(body) or {}).get("items") or []
        if items:
            path = items[0]["record"]["path"]
            if exact:
                singles.append(f"/api/v1/files/{items[0]['id']}")
            else:
                ida = next((i for i, k in keys_a.items() if k[1] == path), None)
                singles.append((f"/api/v1/files/{ida}", f"/api/v1/files/{items[0]['id']}"))
    for url in singles:
        ua, ub = (url, url) if isinstance(url, str) else url
        sa, ba, ta = a.request(ua)
        sb, bb, tb = b.request(ub)
        if exact:
            same = (sa, normalise(load(ba), None) if load(ba) is not None else ba) == (sb, normalise(load(bb), None) if load(bb) is not None else bb)
            # Bytes where nothing needs normalising.
            if same and b"indexed_at" not in ba and b"created_at" not in ba and b"fingerprinted_at" not in ba:
                same = ba == bb
        elif ub.startswith("/api/v1/files?") and sa == sb == 200:
            # One page in id order: which files it holds depends on the ids; its size, total and
            # whether more follow do not (the pages themselves are compared in LISTINGS).
            pa, pb = load(ba), load(bb)
            same = (len(pa["items"]), pa["total"], pa["next_cursor"] is None) == (len(pb["items"]), pb["total"], pb["next_cursor"] is None)
        else:
            same = sa == sb and normalise(load(ba), keys_a) == normalise(load(bb), keys_b)
        same = same and ta == tb
        compared += 1
        if not same:
            differ.append(f"{ub}: {sa} {ba[:160]!r} vs {sb} {bb[:160]!r}")
    # Compat and a plan: POST to both, then GET the stored plan.
    posts = [("/api/v1/compat", {"datasets": [1, 2, 3], "threshold": 0.5}), ("/api/v1/plans", {"datasets": [1, 2], "target": "auto"}),
             ("/api/v1/compat", {"datasets": [1, 999]}), ("/api/v1/plans", {"datasets": []})]
    for url, body in posts:
        sa, ba, _ = a.request(url, "POST", body)
        sb, bb, _ = b.request(url, "POST", body)
        ja, jb = load(ba), load(bb)
        compared += 1
        if sa == 200 and sb == 200 and isinstance(ja, dict) and isinstance(jb, dict):
            ida, idb = ja.pop("id", None), jb.pop("id", None)
            ok = ja == jb and isinstance(ida, int) and isinstance(idb, int)
            if ok and url.endswith("plans"):
                ga, gb = a.request(f"/api/v1/plans/{ida}"), b.request(f"/api/v1/plans/{idb}")
                pa, pb = load(ga[1]), load(gb[1])
                ok = ga[0] == gb[0] == 200 and pa["request"] == pb["request"] == body and pa["plan"] == pb["plan"]
                ea = a.request(f"/api/v1/plans/{ida}/export?format=csv")
                eb = b.request(f"/api/v1/plans/{idb}/export?format=csv")
                ok = ok and ea[0] == eb[0] == 200 and ea[1] == eb[1]
                compared += 2
            if not ok:
                differ.append(f"POST {url} {body}: {ba[:200]!r} vs {bb[:200]!r}")
        elif (sa, ja) != (sb, jb):
            differ.append(f"POST {url} {body}: {sa} {ba[:200]!r} vs {sb} {bb[:200]!r}")
    check(not differ, f"{label} {compared} answers equal the SQLite service's" + (" byte for byte" if exact else " (file ids by path)")
          + ("" if not differ else ": " + "; ".join(differ[:4])))
    return compared


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--sample-data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--dirs", type=int, default=20)
    a = ap.parse_args()
    binary = os.path.abspath(a.imagingx)
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tree = os.path.join(work, "tree")
    files = make_tree(a.sample_data, tree, a.files, datasets=a.dirs)
    tree = os.path.realpath(tree)
    print(f"tree: {files} files in {a.dirs} folders", flush=True)
    services = []
    server = pgserver.Server()
    server.start()
    try:
        env = server.env()
        for db in ("shared", "single"):
            server.createdb(db)

        # The SQLite side: the files (--no-datasets, as on PostgreSQL), and the dataset rows from
        # an index made with the dataset pass, copied in.
        full = os.path.join(work, "full.sqlite")
        lite = os.path.join(work, "files.sqlite")
        for db, extra in ((full, []), (lite, ["--no-datasets", "--stats"])):
            r = subprocess.run([binary, "index", tree, "--db", db, "--quiet", "--jobs", "1"] + extra, capture_output=True, timeout=900)
            if r.returncode != 0:
                raise SystemExit(f"index {db} failed: {r.stderr.decode()[:400]}")
        counts = copy_datasets(full, target_sqlite=lite)
        print(f"dataset rows copied: {counts[0]} datasets, {counts[1]} cases, {counts[2]} series", flush=True)
        sqlite_service = Serve(binary, lite, tree, env, os.path.join(work, "serve-sqlite.log"))
        services.append(sqlite_service)

        # (h) the service on the shared database, queried while 4 shard writers write it.
        # (With --stats the writers take long enough for the reads to overlap them on any machine.)
        pg = Serve(binary, server.url("shared"), tree, env, os.path.join(work, "serve-pg.log"), wait=False)
        services.append(pg)
        started = pg.wait_url()
        check(started, f"(h) serve --db postgres://… starts on an empty database (making the schema) ({pg.stderr().strip()[:200]})")
        stop = threading.Event()
        log = {"requests": 0, "errors": [], "early503": 0, "success": False, "slowest": 0.0, "seen": set()}
        loop_urls = ["/api/v1/files?limit=50", "/api/v1/files?format=dicom&limit=20", "/api/v1/files/facets",
                     "/api/v1/files?count=true&status=ok&limit=5", "/api/v1/roots", "/api/v1/health",
                     "/api/v1/files/facets?path=ds0", "/api/v1/files?min_dim_x=2&limit=100"]

        def reader():
            k = 0
            cursor = None
            while not stop.is_set() and started:
                url = loop_urls[k % len(loop_urls)]
                if url.startswith("/api/v1/files?limit=50") and cursor:
                    url += "&cursor=" + cursor
                k += 1
                t = time.time()
                try:
                    status, body, ctype = pg.request(url)
                except Exception as e:  # noqa: BLE001
                    log["errors"].append(f"{url}: {e}")
                    continue
                log["slowest"] = max(log["slowest"], time.time() - t)
                log["requests"] += 1
                if status == 200:
                    log["success"] = True
                    if url == "/api/v1/health":
                        log["seen"].add((load(body) or {}).get("files"))
                    if url.startswith("/api/v1/files?limit=50"):
                        cursor = (load(body) or {}).get("next_cursor")
                elif status == 503 and not log["success"] and "json" in ctype:
                    log["early503"] += 1
                else:
                    log["errors"].append(f"{url}: {status} {body[:200]!r}")

        t = threading.Thread(target=reader)
        t.start()
        writers = [subprocess.Popen([binary, "index", tree, "--db", server.url("shared"), "--no-datasets", "--stats", "--shard", f"{k}/4",
                                     "--jobs", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for k in range(4)]
        results = []
        for w in writers:
            out, err = w.communicate(timeout=900)
            answers.append(err.decode(errors="replace") + out.decode(errors="replace"))
            results.append(w.returncode)
        stop.set()
        t.join()
        check(results == [0, 0, 0, 0], f"(h) the 4 shard writers exit 0 ({results})")
        partial = sorted(n for n in log["seen"] if isinstance(n, int) and 0 < n < files)
        check(log["requests"] >= 10 and log["success"] and not log["errors"] and partial,
              f"(h) {log['requests']} requests during the writes: no error ({log['early503']} 503s before the first answer, "
              f"slowest {log['slowest']:.2f} s; {len(partial)} different partial file counts seen)"
              f"{': ' + '; '.join(log['errors'][:3]) if log['errors'] else ''}")
        copy_datasets(full, pg=server, pgdb="shared")
        compare_services("(h)", pg, sqlite_service, exact=False)

        # (h2) one writer: the same ids as SQLite, so the same bytes.
        r = subprocess.run([binary, "index", tree, "--db", server.url("single"), "--stats", "--quiet", "--jobs", "1"],
                           capture_output=True, env=env, timeout=900)
        answers.append(r.stderr.decode(errors="replace"))
        check(r.returncode == 0, f"(h2) index into PostgreSQL with one writer and the dataset pass exits 0 {r.stderr.decode()[-200:]}")
        single = Serve(binary, server.url("single"), tree, env, os.path.join(work, "serve-single.log"))
        services.append(single)
        compare_services("(h2)", single, sqlite_service, exact=True)

        # (h3) index jobs through the API write PostgreSQL (the file pass, under the root's advisory lock)
        def job(svc):
            status, body, _ = svc.request("/api/v1/jobs", "POST", {"root": tree})
            j = load(body) or {}
            deadline = time.time() + 300
            while status == 202 and j.get("state") == "running" and time.time() < deadline:
                time.sleep(0.2)
                j = load(svc.request(f"/api/v1/jobs/{j['id']}")[1]) or {}
            return status, j
        status, j = job(single)
        o = j.get("outcome") or {}
        check(status == 202 and j.get("state") == "finished" and o.get("seen") == files and o.get("unchanged") == files and o.get("read") == 0,
              f"(h3) POST /jobs on the PostgreSQL index: {j.get('state')}, {o.get('seen')} seen, {o.get('unchanged')} unchanged, "
              f"{o.get('read')} read {j.get('error') or ''}")
        png = next(os.path.join(tree, d, n) for d in sorted(os.listdir(tree)) for n in sorted(os.listdir(os.path.join(tree, d))) if n.endswith(".png"))
        shutil.copyfile(png, os.path.join(tree, "ds00", "added-by-job.png"))
        gone = os.path.join(tree, "ds01", sorted(os.listdir(os.path.join(tree, "ds01")))[0])
        # The tree's files are hard links: removing one changes its inode's ctime, so the job
        # rightly reads again the tree's other links to that inode.
        ino = os.stat(gone).st_ino
        relinked = sum(1 for d, _, ns in os.walk(tree) for n in ns if os.path.join(d, n) != gone and os.stat(os.path.join(d, n)).st_ino == ino)
        os.unlink(gone)
        status, j = job(single)
        o = j.get("outcome") or {}
        listed = load(single.request("/api/v1/files?path=added-by-job&count=true")[1]) or {}
        removed = load(single.request("/api/v1/files?count=true&limit=1&path=" + os.path.relpath(gone, tree))[1]) or {}
        total = (load(single.request("/api/v1/health")[1]) or {}).get("files")
        check(j.get("state") == "finished" and o.get("read") == 1 + relinked and o.get("removed") == 1 and listed.get("total") == 1
              and removed.get("total") == 0 and total == files and (o.get("datasets_fingerprinted") or 0) >= 2,
              f"(h3) after a file added and one removed, a job reads 1 (+ {relinked} other links of the removed one's inode) "
              f"and removes 1 ({o.get('read')}, {o.get('removed')}); "
              f"the API lists the new file and not the gone one, {total} files; {o.get('datasets_fingerprinted')} datasets fingerprinted again")
        fresh = os.path.join(work, "after-job.sqlite")
        subprocess.run([binary, "index", tree, "--db", fresh, "--quiet", "--jobs", "1"], capture_output=True, timeout=900, check=True)
        diff = pg_datasets.differences(pg_datasets.sqlite_rows(fresh), pg_datasets.pg_rows(server, "single"))
        check(not diff, f"(h3) … and the job's dataset pass leaves PostgreSQL with a fresh SQLite index's datasets, cases and series {diff}")

        # (i) no server at the address
        t0 = time.time()
        nobody = pgserver.free_port()
        r = subprocess.run([binary, "serve", "--db", f"postgres://imagingx@127.0.0.1:{nobody}/x", "--port", "0", "--root", tree],
                           capture_output=True, env=env, timeout=120)
        took = time.time() - t0
        msg = r.stderr.decode(errors="replace")
        answers.append(msg)
        check(r.returncode == 1 and took < 40 and "cannot" in msg and "127.0.0.1" in msg and "serving" not in msg,
              f"(i) serve to an address where no server listens: exit {r.returncode} in {took:.1f} s: {msg.strip()[:200]}")

        # (i) the server stopped while serving, then back
        urls = ["/api/v1/health", "/api/v1/files?limit=3", "/api/v1/files/facets", "/api/v1/roots", "/api/v1/datasets"]
        before = [single.request(u)[1] for u in urls]
        server.kill_now()
        down = []
        for u in urls + ["/api/v1/files?count=true&limit=1"]:
            t0 = time.time()
            try:
                status, body, ctype = single.request(u, timeout=60)
            except Exception as e:  # noqa: BLE001
                status, body, ctype = None, str(e).encode(), ""
            err = load(body) if isinstance(load(body), dict) else {}
            down.append((u, status, time.time() - t0, err, ctype))
        ok = all(s == 503 and took < 20 and "json" in ct and err.get("code") == "index_unavailable" and err.get("message")
                 for _, s, took, err, ct in down)
        check(ok, "(i) the server down: JSON 503s within 20 s (" + ", ".join(f"{u.split('?')[0].rsplit('/', 1)[-1]} {s} in {t:.1f} s"
                                                               for u, s, t, _, _ in down) + ")")
        print("     e.g. " + json.dumps(down[0][3])[:240], flush=True)
        server.restart()
        t0 = time.time()
        back = None
        while time.time() - t0 < 60:
            try:
                if single.request("/api/v1/health", timeout=30)[0] == 200:
                    back = time.time() - t0
                    break
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.2)
        after = [single.request(u)[1] for u in urls]
        check(back is not None and after == before,
              f"(i) the server back: the service answers again ({back if back is None else round(back, 1)} s), the same bytes as before")
        check(single.proc.poll() is None, "(i) the service kept running through the outage")

        # (i) the server hung (every PostgreSQL process stopped by SIGSTOP: connections accepted by
        # the kernel, nothing answered): requests get JSON 503s within the service's bounds, and
        # answers again once the server runs on.
        pids = server.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        hung = []
        try:
            for u in ["/api/v1/files?limit=3", "/api/v1/health"]:
                t0 = time.time()
                try:
                    status, body, ctype = single.request(u, timeout=90)
                except Exception as e:  # noqa: BLE001
                    status, body, ctype = None, str(e).encode(), ""
                hung.append((u, status, time.time() - t0, (load(body) or {}) if isinstance(load(body), dict) else {}))
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        check(pids and all(st == 503 and t < 20 and e.get("code") == "index_unavailable" for _, st, t, e in hung),
              "(i) the server hung (SIGSTOP): JSON 503s within 20 s (" + ", ".join(f"{st} in {t:.1f} s" for _, st, t, _ in hung) + ")")
        t0 = time.time()
        back = None
        while time.time() - t0 < 60:
            try:
                if single.request("/api/v1/files?limit=3", timeout=30)[0] == 200:
                    back = time.time() - t0
                    break
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.2)
        check(back is not None, f"(i) … and answers again once it runs on ({back if back is None else round(back, 1)} s)")
        # The service's own refusals hold on PostgreSQL: no token off loopback, paths outside the roots.
        r = subprocess.run([binary, "serve", "--db", server.url("single"), "--host", "0.0.0.0", "--port", "0", "--root", tree],
                           capture_output=True, env=env, timeout=60)
        answers.append(r.stderr.decode(errors="replace"))
        outside = single.request("/api/v1/jobs", "POST", {"root": "/etc"})
        check(r.returncode == 2 and "without a token" in r.stderr.decode() and outside[0] == 403,
              f"(i) refusals as on SQLite: --host 0.0.0.0 without a token exits {r.returncode}; a job outside the roots: {outside[0]}")

        # The password in the URL (no PGPASSWORD): served, and named nowhere.
        bare = {k: v for k, v in env.items() if k != "PGPASSWORD"}
        inurl = Serve(binary, server.url("single", password=True), tree, bare, os.path.join(work, "serve-url.log"))
        services.append(inurl)
        status = inurl.request("/api/v1/health")[0] if inurl.url else None
        check(status == 200 and "@127.0.0.1" in inurl.stderr(), f"(i) the password given in the URL works: health {status}")
        for s in services:
            s.stop()
        leaked = [x for x in answers if server.password in x]
        check(not leaked, f"(i) the password is in none of {len(answers)} answers, errors and serve/index messages")
    finally:
        for s in services:
            try:
                s.stop()
            except Exception:  # noqa: BLE001
                pass
        server.stop()
    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        sys.exit(1)
    print("all serve-on-PostgreSQL checks passed", flush=True)


if __name__ == "__main__":
    main()
