#!/usr/bin/env python3
"""Where a first `index --no-datasets` into PostgreSQL spends the server's time (not part of the
test command): the server logs every statement's parse, bind and execute durations
(log_min_duration_statement = 0) during one index of a FILES-file tree, summed here.

    scripts/postgres/profile_statements.py [FILES] [--binary .build/release/imagingx]

It answers whether COPY would pay: COPY removes the parse and bind of the multi-row INSERTs, not
their execution (the upsert into the table and its indexes).
"""
import argparse, os, re, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "scripts", "service"))
from crash_test import make_tree  # noqa: E402
import pgserver  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", type=int, nargs="?", default=30000)
    ap.add_argument("--binary", default=os.path.join(REPO, ".build/release/imagingx"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="imagingx-pgprof-")
    tree = os.path.join(work, "tree")
    n = make_tree(os.path.join(REPO, "SampleData"), tree, a.files, datasets=max(1, a.files // 1000))
    subprocess.run([a.binary, "scan", tree, "-o", "/dev/null", "--quiet"], check=True)  # page-cache the tree
    server = pgserver.Server()
    server.start()
    try:
        server.createdb("p")
        server.psql("p", "ALTER SYSTEM SET log_min_duration_statement = 0")
        server.psql("p", "SELECT pg_reload_conf()")
        t = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "imagingx: user %U s, sys %S s", a.binary, "index", tree, "--db", server.url("p"),
                        "--no-datasets", "--quiet", "--jobs", "2"], env=server.env(), check=True)
        wall = time.perf_counter() - t
        log = open(os.path.join(server.dir, "log")).read()
        phases = {}
        for m in re.finditer(r"duration: ([0-9.]+) ms\s+(statement|execute|parse|bind)", log):
            c = phases.setdefault(m.group(2), [0, 0.0])
            c[0] += 1
            c[1] += float(m.group(1)) / 1000
        print(f"{n} files, index wall {wall:.2f} s (with statement logging on)")
        for phase, (count, seconds) in sorted(phases.items()):
            print(f"  server {phase:9} {count:5} statements {seconds:6.2f} s")
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
