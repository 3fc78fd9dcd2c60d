"""The dataset pass on PostgreSQL (checks (h) of scripts/postgres/test_postgres.py).

On a copy of SampleData (DICOM series, nnU-Net and plain NIfTI, MetaImage, NRRD, PNG, JPEG and
broken files) plus folders of hard links made by make_tree:
  (h) `index` into PostgreSQL with the dataset pass gives the rows an SQLite index gives:
      datasets (name, layout, modality, file and byte counts, cases, failed cases, fingerprint),
      every case summary, every series volume in order, and each file's dataset;
  (h) 4 `index --shard K/4` writers started together into one database give the same rows (each
      shard keeps its part of a dataset; the last part in reduces it, as `merge` does);
  (h) after adding, replacing and removing files, the 4 shard writers again (and one writer on
      the unsharded database) give the rows of a fresh SQLite index of the changed tree;
  (h) a DICOM series with slices in folders of different shards is refused with the reason.
Only `fingerprinted_at` (a time) and row ids are left out of the comparison.
"""
import hashlib, os, shutil, sqlite3, subprocess


def md5(text):
    return hashlib.md5(text.encode()).hexdigest() if text is not None else ""


def sqlite_rows(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        folder = dict(db.execute("SELECT id, folder FROM datasets"))
        datasets = sorted((f, n, l, m or "", str(fi), str(b), str(c), str(cf), md5(fp)) for f, n, l, m, fi, b, c, cf, fp in db.execute(
            "SELECT folder, name, layout, modality, files, bytes, cases, cases_failed, fingerprint FROM datasets"))
        cases = sorted((folder[d], c, md5(s)) for d, c, s in db.execute("SELECT dataset_id, case_id, summary FROM cases"))
        series = [(folder.get(d, ""), k, ff, md5(r)) for _, d, k, ff, r in sorted(
            db.execute("SELECT id, dataset_id, series_key, first_file, record FROM series"), key=lambda t: (folder.get(t[1], "").encode(), t[0]))]
        files = sorted((p, folder.get(d, "")) for p, d in db.execute("SELECT path, dataset_id FROM files"))
        return {"datasets": datasets, "cases": cases, "series": series, "files": files}
    finally:
        db.close()


def pg_rows(server, db):
    def q(sql):
        return [tuple(line.split("|")) for line in server.psql(db, sql).stdout.splitlines()]
    datasets = sorted(q("SELECT folder, name, layout, coalesce(modality, ''), files, bytes, cases, cases_failed, coalesce(md5(fingerprint), '') FROM datasets"))
    cases = sorted(q("SELECT d.folder, c.case_id, md5(c.summary) FROM cases c JOIN datasets d ON d.id = c.dataset_id"))
    rows = q("SELECT coalesce(d.folder, ''), s.id, s.series_key, s.first_file, md5(s.record) FROM series s LEFT JOIN datasets d ON d.id = s.dataset_id")
    series = [(f, k, ff, h) for f, _, k, ff, h in sorted(rows, key=lambda t: (t[0].encode(), int(t[1])))]
    files = sorted(q("SELECT f.path, coalesce(d.folder, '') FROM files f LEFT JOIN datasets d ON d.id = f.dataset_id"))
    return {"datasets": datasets, "cases": cases, "series": series, "files": files}


def differences(a, b):
    out = []
    for table in ("datasets", "cases", "series", "files"):
        if a[table] != b[table]:
            only_a = [r for r in a[table] if r not in b[table]][:2]
            only_b = [r for r in b[table] if r not in a[table]][:2]
            out.append(f"{table}: {len(a[table])} vs {len(b[table])} rows; only in the first {only_a}, only in the second {only_b}")
    return out


def shard_writers(binary, tree, url, env, outputs, n=4):
    procs = [subprocess.Popen([binary, "index", tree, "--db", url, "--shard", f"{k}/{n}", "--jobs", "1", "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for k in range(n)]
    codes = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        outputs.append(err.decode(errors="replace") + out.decode(errors="replace"))
        codes.append((p.returncode, err.decode(errors="replace")[-300:]))
    return codes


def run_checks(binary, sample, work, server, env, check, run, make_tree, outputs):
    tree = os.path.join(work, "datasets-tree")
    shutil.copytree(sample, tree, symlinks=True)
    # More cases in four folders of one plain dataset, no DICOM (make_tree links the same DICOM
    # files into every folder: one series across folders of different shards, refused below).
    no_dicom = os.path.join(work, "no-dicom")
    shutil.copytree(sample, no_dicom, ignore=lambda d, names: [n for n in names if n.endswith(".dcm")])
    make_tree(no_dicom, os.path.join(tree, "extra"), 240, datasets=4)
    tree = os.path.realpath(tree)
    for db in ("h", "i", "j"):
        server.createdb(db)

    def reference(name):
        path = os.path.join(work, name)
        r = run([binary, "index", tree, "--db", path, "--quiet"], env)
        if r.returncode != 0:
            raise SystemExit("SQLite index failed: " + r.stderr.decode()[:300])
        return sqlite_rows(path)

    ref = reference("datasets-ref.sqlite")
    r = run([binary, "index", tree, "--db", server.url("h")], env)
    diff = differences(ref, pg_rows(server, "h"))
    check(r.returncode == 0 and not diff and len(ref["datasets"]) >= 8 and ref["series"] and ref["cases"],
          f"(h) index into PostgreSQL with the dataset pass: the rows of the SQLite index ({len(ref['datasets'])} datasets, "
          + f"{len(ref['cases'])} cases, {len(ref['series'])} series, {len(ref['files'])} files) {r.stderr.decode()[-200:]} {diff}")

    codes = shard_writers(binary, tree, server.url("i"), env, outputs)
    diff = differences(ref, pg_rows(server, "i"))
    check(all(c == 0 for c, _ in codes) and not diff,
          f"(h) 4 concurrent shard writers with the dataset pass: the same rows {[e for c, e in codes if c]} {diff}")

    # Changes: a case added to the nnU-Net dataset, a file replaced, one removed, a folder removed.
    nifti = os.path.join(tree, "mr-nifti")
    images = sorted(n for n in os.listdir(os.path.join(nifti, "imagesTr"))) if os.path.isdir(os.path.join(nifti, "imagesTr")) else []
    if images:
        shutil.copyfile(os.path.join(nifti, "imagesTr", images[0]), os.path.join(nifti, "imagesTr", "zz_added_0000.nii.gz"))
    extra = os.path.join(tree, "extra")
    ds1 = os.path.join(extra, "ds01")
    names = sorted(os.listdir(ds1))
    os.unlink(os.path.join(ds1, names[0]))
    os.unlink(os.path.join(ds1, names[1]))
    shutil.copyfile(os.path.join(ds1, names[2]), os.path.join(ds1, names[1]))
    shutil.rmtree(os.path.join(extra, "ds03"))
    ref2 = reference("datasets-ref2.sqlite")
    check(ref2 != ref, "(h) the changes change the SQLite index's rows (the next checks can fail)")
    codes = shard_writers(binary, tree, server.url("i"), env, outputs)
    diff = differences(ref2, pg_rows(server, "i"))
    check(all(c == 0 for c, _ in codes) and not diff, f"(h) after changes, the shard writers again: a fresh SQLite index's rows {diff}")
    r = run([binary, "index", tree, "--db", server.url("h")], env)
    diff = differences(ref2, pg_rows(server, "h"))
    check(r.returncode == 0 and not diff, f"(h) … and one writer on the unsharded database too {diff}")

    # A DICOM series whose slices lie in folders of different shards cannot be reduced from
    # parts (as `merge` refuses it): the writer that finds it says so and exits 1.
    split = os.path.join(work, "split-series")
    make_tree(sample, os.path.join(split, "extra"), 240, datasets=4)
    codes = shard_writers(binary, split, server.url("j"), env, outputs)
    failed = [e for c, e in codes if c != 0]
    check(failed and all(c in (0, 1) for c, _ in codes) and all("index it unsharded" in e for e in failed),
          f"(h) a series across folders of different shards is refused with the reason: {[c for c, _ in codes]} {failed[:1]}")
