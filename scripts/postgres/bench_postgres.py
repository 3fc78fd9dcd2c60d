#!/usr/bin/env python3
"""First-index speed into PostgreSQL against SQLite, in one run on one tree (README "A shared index
on PostgreSQL"). Not part of the test command.

    scripts/postgres/bench_postgres.py [FILES] [--binary .build/release/imagingx] [--repeat 3]

Builds a tree of FILES files (default 100,000: hard links to SampleData's small files in folders
of 1,000), page-caches it with a scan, starts a throwaway PostgreSQL server (scripts/postgres/
pgserver.py: loopback, fsync off as in the test, so the figures are the client's and the
protocol's cost, not the disk's), then measures, best of --repeat, each into a new database/file:
  sqlite 1        `index TREE --no-datasets --jobs 2` into a new SQLite file
  sqlite 4 parts  4 `index --shard K/4 --jobs 1` at once, each into its own part file (no merge)
  postgres 1      `index TREE --no-datasets --jobs 2 --db postgres://…`
  postgres 4      4 `index --shard K/4 --jobs 1` at once into one PostgreSQL database
and prints wall seconds, files/s, and rows/s (files table rows per second of the run), plus the
PostgreSQL table's bytes per row.
"""
import argparse, os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "scripts", "service"))
from crash_test import make_tree  # noqa: E402
import pgserver  # noqa: E402


def together(cmds, env):
    start = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env) for c in cmds]
    errs = [p.communicate()[1] for p in procs]
    seconds = time.perf_counter() - start
    for p, e in zip(procs, errs):
        if p.returncode != 0:
            raise SystemExit(f"failed ({p.returncode}): {e.decode()[-500:]}")
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="?", type=int, default=100_000)
    ap.add_argument("--binary", default=os.path.join(REPO, ".build/release/imagingx"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    work = tempfile.mkdtemp(prefix="imagingx-bench-pg-")
    server = pgserver.Server()
    try:
        tree = os.path.join(work, "tree")
        n = make_tree(os.path.join(REPO, "SampleData"), tree, a.files, datasets=max(1, a.files // 1000))
        subprocess.run([binary, "scan", tree, "--output", "/dev/null"], check=True, capture_output=True)
        server.start()
        env = server.env()
        counter = [0]

        def new_db():
            counter[0] += 1
            name = f"b{counter[0]}"
            server.createdb(name)
            return server.url(name)

        def new_file():
            counter[0] += 1
            return os.path.join(work, f"i{counter[0]}.sqlite")

        base = [binary, "index", tree, "--no-datasets", "--quiet"]
        cases = {
            "sqlite, 1 writer": lambda: [base + ["--jobs", "2", "--db", new_file()]],
            "sqlite, 4 shard parts at once": lambda: (lambda f: [base + ["--jobs", "1", "--shard", f"{k}/4", "--db", f + f".{k}"] for k in range(4)])(new_file()),
            "postgres, 1 writer": lambda: [base + ["--jobs", "2", "--db", new_db()]],
            "postgres, 4 shard writers at once": lambda: (lambda u: [base + ["--jobs", "1", "--shard", f"{k}/4", "--db", u] for k in range(4)])(new_db()),
        }
        results = {}
        for name, make in cases.items():
            times = []
            for _ in range(a.repeat):
                cmds = make()  # the database or file is made before the clock starts
                times.append(together(cmds, env))
            results[name] = min(times)
        size = server.psql(f"b{counter[0]}", "SELECT pg_total_relation_size('files') + pg_total_relation_size('file_findings')").stdout.strip()
        rows = server.psql(f"b{counter[0]}", "SELECT count(*) FROM files").stdout.strip()
        print(f"{n} files, best of {a.repeat}; PostgreSQL 15 on loopback (fsync off), 2 cores")
        print(f"{'':36s} {'seconds':>8s} {'files/s':>9s}  vs sqlite 1 writer")
        for name, s in results.items():
            print(f"{name:36s} {s:8.2f} {n / s:9.0f}  {results['sqlite, 1 writer'] / s:5.2f}x")
        print(f"postgres files + file_findings: {int(size) / max(1, int(rows)):.0f} bytes per row ({rows} rows)")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
