#!/usr/bin/env python3
"""kill -9 while indexing (part of scripts/test): the index is consistent at every instant.

A tree of FILES files (hard links to SampleData's files, in 20 dataset folders) is indexed once
cleanly. Then KILLS times: a new index of the tree is killed with SIGKILL at a random instant
(half of them inside the file pass, half inside the dataset pass), SQLite's integrity check must
pass and no path may appear twice; the index is run again to the end, and its export must equal
the clean index's byte for byte and every dataset's fingerprint must equal the clean one.
"""
import argparse, os, random, shutil, signal, sqlite3, subprocess, sys, tempfile, time


def make_tree(sample, root, files, datasets=20):
    sources = []
    for dirpath, _, names in os.walk(sample):
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            if os.path.getsize(p) < 64 << 10 and not n.endswith((".raw", ".zraw", ".json")) and "broken" not in dirpath:
                sources.append(p)
    sources.sort()
    per = files // datasets
    for d in range(datasets):
        folder = os.path.join(root, f"ds{d:02d}")
        os.makedirs(folder)
        for i in range(per):
            src = sources[(d * per + i) % len(sources)]
            name = os.path.basename(src)
            stem, dot, ending = name.partition(".")
            os.link(src, os.path.join(folder, f"f{i:05d}.{ending}" if dot else f"f{i:05d}"))
    return per * datasets


def index(binary, root, db, timeout=900):
    return subprocess.run(["timeout", str(timeout), binary, "index", root, "--db", db, "--quiet", "--jobs", "2"],
                          capture_output=True, text=True)


def export(binary, db):
    r = subprocess.run([binary, "export", "--db", db, "--file-stat"], capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"export failed: {r.stderr.decode()[:300]}")
    return r.stdout


def fingerprints(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT folder, layout, cases, cases_failed, files, fingerprint FROM datasets ORDER BY folder").fetchall()
    con.close()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--sample-data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=20261201)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    binary = os.path.abspath(a.imagingx)
    os.makedirs(a.work, exist_ok=True)
    work = tempfile.mkdtemp(dir=a.work)
    root = os.path.join(work, "tree")
    n = make_tree(a.sample_data, root, a.files)
    clean_db = os.path.join(work, "clean.sqlite")
    started = time.time()
    r = index(binary, root, clean_db)
    clean_seconds = time.time() - started
    if r.returncode != 0:
        raise SystemExit(f"clean index failed: {r.stderr[:300]}")
    print(f"tree of {n} files; a clean index takes {clean_seconds:.1f} s")

    files_db = os.path.join(work, "files-only.sqlite")
    started = time.time()
    subprocess.run(["timeout", "900", binary, "index", root, "--db", files_db, "--quiet", "--jobs", "2", "--no-datasets"], check=True)
    files_seconds = time.time() - started
    print(f"the file pass alone takes {files_seconds:.1f} s")
    clean_export, clean_fingerprints = export(binary, clean_db), fingerprints(clean_db)
    problems = []
    landed = 0
    for k in range(a.kills):
        db = os.path.join(work, f"crash-{k}.sqlite")
        delay = rng.uniform(0.02, files_seconds) if k % 2 == 0 else rng.uniform(files_seconds, clean_seconds * 0.95)
        proc = subprocess.Popen([binary, "index", root, "--db", db, "--quiet", "--jobs", "2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            proc.wait(delay)
            status = "finished before the kill"
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            landed += 1
            status = "killed"
        rows = "no index file yet"
        if os.path.exists(db):
            con = sqlite3.connect(db)
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            count, distinct = con.execute("SELECT count(*), count(DISTINCT root_id || '/' || path) FROM files").fetchone()
            con.close()
            rows = f"{count} rows, integrity {integrity}"
            if integrity != "ok":
                problems.append(f"integrity after kill {k + 1}: {integrity}")
            if count != distinct:
                problems.append(f"after kill {k + 1}: {count} rows for {distinct} paths")
        r = index(binary, root, db)
        if r.returncode != 0:
            problems.append(f"the run after kill {k + 1} failed: {r.stderr[:300]}")
        same = export(binary, db) == clean_export
        same_fp = fingerprints(db) == clean_fingerprints
        print(f"kill {k + 1:2d} at {delay:5.2f} s: {status}; {rows}; rerun: export {'equal' if same else 'DIFFERENT'}, "
              f"fingerprints {'equal' if same_fp else 'DIFFERENT'}")
        if not same:
            problems.append(f"kill {k + 1}: the export after the rerun differs from the clean export")
        if not same_fp:
            problems.append(f"kill {k + 1}: dataset fingerprints differ from the clean index's")
        for p in [db, db + "-wal", db + "-shm", db + "-writer.lock"]:
            if os.path.exists(p):
                os.remove(p)
    print(f"{landed} of {a.kills} kills landed mid-job; {len(problems)} problems")

    # Incremental at scale: remove, add and change files spread over the tree (so the stored
    # files are merged with the walk across many pages), re-index, and the export must equal a
    # fresh scan of the tree, file stats included.
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs)
    for p in rng.sample(files, 100):
        os.remove(p)
    for i, p in enumerate(rng.sample(files, 100)):
        if os.path.exists(p):
            folder = os.path.dirname(p)
            os.link(files[i], os.path.join(folder, f"new{i:03d}-" + os.path.basename(files[i])))
    for p in rng.sample(files, 100):
        if os.path.exists(p):
            # A changed file: the link is replaced by a copy (SampleData itself is never touched).
            data = open(p, "rb").read()
            os.remove(p)
            with open(p, "wb") as f:
                f.write(data)
    r = index(binary, root, clean_db)
    scan = subprocess.run([binary, "scan", root, "--file-stat", "--quiet"], capture_output=True).stdout
    same = r.returncode == 0 and export(binary, clean_db) == scan
    print(f"after removing, adding and rewriting 100 files each, the re-index's export {'equals' if same else 'DIFFERS from'} a fresh scan")
    if not same:
        problems.append("the incremental re-index differs from a fresh scan")
    shutil.rmtree(work, ignore_errors=True)
    for p in problems:
        print("FAIL " + p)
    if landed < a.kills // 2:
        print(f"FAIL only {landed} kills landed mid-job")
        sys.exit(1)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
