#!/usr/bin/env python3
"""The shared index on PostgreSQL, against a real server (part of scripts/test).

A PostgreSQL 15 server (Debian's `postgresql`) is started by scripts/postgres/pgserver.py: initdb in
a temporary folder as an unprivileged user, password (SCRAM) authentication, 127.0.0.1 and a free
port only; it is always stopped at the end. On a tree of FILES files (hard links to SampleData's
small files in DIRS folders, made by scripts/service/crash_test.py's make_tree), one `ok`/`FAIL`
line per check:
  (a) `index --db postgres://… --no-datasets`, then `export --file-stat`, equals `scan --file-stat`
      byte for byte, and the export of the same tree indexed into SQLite;
  (b) 4 `index --shard K/4` writers started together into one database while a reader exports it
      and counts duplicate paths in a loop: every writer exits 0 and read part of the tree, the
      export equals the SQLite writer's, no path is stored twice, and the reader never failed
      once the schema existed;
  (c) after removing, adding and replacing files, the 4 shard writers again: the export equals a
      fresh `scan`, and the writers removed exactly the files removed;
  (d) lost connections: every connection of a running `index --stats` is terminated by the server
      (pg_terminate_backend) as soon as it has some, and again 0.2 s later; the job retries and its export equals `scan`;
  (e) refusals: a writer on a (root, shard) whose lock is held (by a psql session taking the same
      advisory locks) is refused with the message, another shard is not, a whole-root writer is;
      an address where no server listens fails within 40 s with a clear error; a database holding
      a newer schema step, or tables ImagingX did not create, is refused;
  (f) the password (given by PGPASSWORD, or in the URL) appears in no output or message;
  (k) the writer lock's own connection ended mid-job: taken again, or the job stops when another
      session took it (scripts/postgres/pg_lock.py);
  (l) TLS: verify-full with sslrootcert, require, disable refused by a TLS-only server, an
      untrusted certificate (scripts/postgres/pg_tls.py);
  (h) the dataset pass, unsharded and by 4 concurrent shard writers (scripts/postgres/pg_datasets.py);
  (g) the server stops (immediate shutdown) during a job and stays down: the job exits 1 with the
      error within 60 s, the index holds only whole, correct records, and a rerun completes it.
"""
import argparse, os, random, shutil, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "scripts", "service"))
from crash_test import make_tree  # noqa: E402
import pgserver  # noqa: E402
import pg_datasets  # noqa: E402
import pg_lock  # noqa: E402
import pg_tls  # noqa: E402

failures = []
outputs = []  # every message imagingx printed (checked for the password)


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def run(args, env, timeout=600):
    r = subprocess.run(args, capture_output=True, env=env, timeout=timeout)
    outputs.append(r.stderr.decode(errors="replace"))
    if args[1] != "export":  # records: large, and they hold no address
        outputs.append(r.stdout.decode(errors="replace"))
    return r


def scan(binary, tree):
    r = subprocess.run([binary, "scan", tree, "--file-stat"], capture_output=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit("scan failed: " + r.stderr.decode()[:500])
    return r.stdout


def export(binary, db, env):
    r = run([binary, "export", "--db", db, "--file-stat"], env)
    if r.returncode != 0:
        return None, r.stderr.decode(errors="replace")
    return r.stdout, ""


def shard_writers(binary, tree, url, env, n=4):
    procs = [subprocess.Popen([binary, "index", tree, "--db", url, "--no-datasets", "--shard", f"{k}/{n}", "--jobs", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for k in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        outputs.append(err.decode(errors="replace") + out.decode(errors="replace"))
        results.append((p.returncode, err.decode(errors="replace")))
    return results


def counts(stderr):
    """(seen, read, removed) from `indexed ROOT: S files, R read, U unchanged, X removed, …`."""
    for line in stderr.splitlines():
        if line.startswith("indexed "):
            words = line.split(": ", 1)[1].replace(",", "").split()
            return int(words[0]), int(words[2]), int(words[6])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--sample-data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--dirs", type=int, default=30)
    a = ap.parse_args()
    binary = os.path.abspath(a.imagingx)
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tree = os.path.join(work, "tree")
    files = make_tree(a.sample_data, tree, a.files, datasets=a.dirs)
    tree = os.path.realpath(tree)
    print(f"tree: {files} files in {a.dirs} folders", flush=True)
    server = pgserver.Server()
    started = time.time()
    server.start()
    try:
        env = server.env()
        print(f"PostgreSQL on 127.0.0.1:{server.port} ({time.time() - started:.1f} s to start)", flush=True)
        for db in ("a", "b", "c", "d", "e"):
            server.createdb(db)
        expected = scan(binary, tree)

        # (a) one writer
        sqlite = os.path.join(work, "single.sqlite")
        r = run([binary, "index", tree, "--db", sqlite, "--no-datasets", "--quiet"], env)
        check(r.returncode == 0, f"index into SQLite exits 0 ({r.stderr.decode()[:200]})")
        sqlite_export, _ = export(binary, sqlite, env)
        t = time.time()
        r = run([binary, "index", tree, "--db", server.url("a"), "--no-datasets"], env)
        check(r.returncode == 0, f"index --db postgres://… --no-datasets exits 0 ({time.time() - t:.2f} s) {r.stderr.decode()[-300:]}")
        got, err = export(binary, server.url("a"), env)
        check(got == expected, f"(a) export from PostgreSQL equals scan --file-stat byte for byte ({len(expected)} bytes) {err[:200]}")
        check(got == sqlite_export, "(a) … and equals the export of the SQLite index")
        r = run([binary, "index", tree, "--db", server.url("a"), "--no-datasets"], env)
        c = counts(r.stderr.decode())
        check(r.returncode == 0 and c is not None and c[1] == 0 and c[2] == 0,
              f"(a) re-index of the unchanged tree reads and removes nothing: {c}")

        # (b) 4 shard writers at once, and a reader
        stop = threading.Event()
        reader = {"ok": 0, "errors": [], "dup": 0}

        def read_loop():
            schema = False
            while not stop.is_set():
                out, err = export(binary, server.url("b"), env)
                if out is None:
                    if schema:
                        reader["errors"].append(err[:200])
                else:
                    schema = True
                    reader["ok"] += 1
                    paths = [line.split(b'"path":', 1)[1].split(b",", 1)[0] for line in out.splitlines()]
                    if len(paths) != len(set(paths)):
                        reader["dup"] += 1
                q = server.psql("b", "SELECT count(*) - count(DISTINCT (root_id, path)) FROM files", check=False)
                if q.returncode == 0:
                    schema = True
                    reader["dup"] += int(q.stdout.strip() or 0) != 0
                elif schema:
                    reader["errors"].append(q.stderr[:200])
        th = threading.Thread(target=read_loop)
        th.start()
        t = time.time()
        results = shard_writers(binary, tree, server.url("b"), env)
        elapsed = time.time() - t
        time.sleep(0.3)
        stop.set()
        th.join(timeout=120)
        check(all(rc == 0 for rc, _ in results), f"(b) 4 concurrent shard writers all exit 0 ({elapsed:.2f} s) "
              + "; ".join(e[-200:] for rc, e in results if rc != 0))
        reads = [counts(e) for _, e in results]
        check(all(c and c[1] > 0 for c in reads) and sum(c[1] for c in reads if c) == files,
              f"(b) every shard read part of the tree, together all of it: {[c[1] if c else None for c in reads]}")
        got, err = export(binary, server.url("b"), env)
        check(got == sqlite_export, f"(b) the shared index's export equals the single SQLite writer's {err[:200]}")
        paths = [line.split(b'"path":', 1)[1].split(b",", 1)[0] for line in (got or b"").splitlines()]
        check(len(paths) == len(set(paths)) == files, f"(b) no path twice ({len(paths)} rows, {len(set(paths))} paths)")
        check(reader["ok"] > 0 and not reader["errors"] and reader["dup"] == 0,
              f"(b) the reader never failed and never saw a path twice ({reader['ok']} exports; errors {reader['errors'][:2]})")
        roots = server.psql("b", "SELECT count(*), max(files) FROM roots").stdout.strip()
        check(roots == f"1|{files}", f"(b) one root row, shared by the shards, with all files: {roots}")

        # (c) changes, then the shard writers again
        rng = random.Random(11)
        all_files = sorted(os.path.join(d, n) for d, _, ns in os.walk(tree) for n in ns)
        picked = rng.sample(all_files, 15)
        removed, replaced, donors = picked[:5], picked[5:10], picked[10:]
        for p in removed:
            os.unlink(p)
        for p, donor in zip(replaced, donors):
            os.unlink(p)  # a hard link to SampleData: never written in place
            shutil.copyfile(donor, p)
        os.makedirs(os.path.join(tree, "new-folder"))
        for i, donor in enumerate(donors):
            shutil.copyfile(donor, os.path.join(tree, "new-folder", f"n{i}" + os.path.splitext(donor)[1]))
            shutil.copyfile(donor, os.path.join(tree, "ds00", f"added{i}" + os.path.splitext(donor)[1]))
        expected = scan(binary, tree)
        results = shard_writers(binary, tree, server.url("b"), env)
        check(all(rc == 0 for rc, _ in results), "(c) the shard writers re-index the changed tree: all exit 0")
        reads = [counts(e) for _, e in results]
        # (Unlinking a hard link changes the ctime of its other names: those are read again too.)
        check(all(reads) and sum(c[2] for c in reads) == len(removed) and sum(c[1] for c in reads) >= len(replaced) + 2 * len(donors),
              f"(c) together they removed the {len(removed)} removed files and read the {len(replaced) + 2 * len(donors)} new or "
              + f"replaced ones: removed {[c[2] if c else None for c in reads]}, read {[c[1] if c else None for c in reads]}")
        got, err = export(binary, server.url("b"), env)
        check(got == expected, f"(c) export after the changes equals a fresh scan {err[:200]}")

        # (d) connections lost during a job
        killer_stop = threading.Event()
        killed = []

        def killer():
            # As soon as the job has connections, terminate them all; once more 0.2 s later.
            while not killer_stop.is_set() and len(killed) < 2:
                q = server.psql("postgres", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE application_name = 'imagingx' AND datname = 'c'", check=False)
                n = int(q.stdout.strip() or 0) if q.returncode == 0 else 0
                if n:
                    killed.append(n)
                    time.sleep(0.2)
                else:
                    time.sleep(0.02)
        kt = threading.Thread(target=killer)
        kt.start()
        r = run([binary, "index", tree, "--db", server.url("c"), "--no-datasets", "--stats", "--jobs", "1"], env, timeout=900)
        killer_stop.set()
        kt.join()
        expected_stats = subprocess.run([binary, "scan", tree, "--file-stat", "--stats"], capture_output=True, timeout=900).stdout
        got = run([binary, "export", "--db", server.url("c"), "--file-stat", "--stats"], env).stdout
        check(r.returncode == 0 and got == expected_stats and killed,
              f"(d) index --stats with its connections terminated ({killed}) retries and completes; export equals scan --stats "
              + r.stderr.decode()[-300:])

        # (g) the server goes away for good during a job: a clear error in bounded time, a consistent index
        server.createdb("g")
        proc = subprocess.Popen([binary, "index", tree, "--db", server.url("g"), "--no-datasets", "--stats", "--jobs", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        while proc.poll() is None:
            # Once the first batches have landed (with --stats a batch is 256 files).
            q = server.psql("g", "SELECT count(*) FROM files", check=False)
            if q.returncode == 0 and int(q.stdout.strip() or 0) > 0:
                break
            time.sleep(0.01)
        t = time.time()
        server.kill_now()
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        took = time.time() - t
        msg = err.decode(errors="replace")
        outputs.append(msg)
        server.restart()
        check(proc.returncode == 1 and took < 60 and "postgres://" in msg,
              f"(g) the server stopped during a job: exit {proc.returncode} after {took:.1f} s with the error: {msg.strip()[:200]}")
        got = run([binary, "export", "--db", server.url("g"), "--file-stat", "--stats"], env).stdout
        lines = got.splitlines()
        paths = [line.split(b'"path":', 1)[1].split(b",", 1)[0] for line in lines]
        check(0 < len(lines) < files and set(lines) <= set(expected_stats.splitlines()) and len(paths) == len(set(paths)),
              f"(g) … and the index holds only whole, correct records ({len(lines)} of {len(expected_stats.splitlines())}), no path twice")
        r = run([binary, "index", tree, "--db", server.url("g"), "--no-datasets", "--stats"], env)
        got = run([binary, "export", "--db", server.url("g"), "--file-stat", "--stats"], env).stdout
        check(r.returncode == 0 and got == expected_stats, "(g) … and a rerun completes it: export equals scan --stats")

        # (k) the writer lock's connection lost mid-job
        pg_lock.run_checks(binary, tree, expected_stats, server, env, check, outputs)
        pg_lock.shard_count_checks(binary, tree, server, env, check, run, "b")

        # (l) TLS
        pg_tls.run_checks(binary, tree, scan(binary, tree), check, run, outputs)

        # (e) refusals
        key = f"imagingx-index root {tree}"
        holder = subprocess.Popen([os.path.join(server.bin, "psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", server.user,
                                   "-d", "b", "-At"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        holder.stdin.write(f"SELECT pg_advisory_lock_shared(hashtextextended('{key}', 0)), "
                           f"pg_advisory_lock(hashtextextended('{key} shard 1/4', 0));\n")
        holder.stdin.flush()
        held = holder.stdout.readline().strip()
        try:
            r = run([binary, "index", tree, "--db", server.url("b"), "--no-datasets", "--shard", "1/4"], env)
            msg = r.stderr.decode()
            check(held == "|" and r.returncode == 1 and "another index job is writing" in msg and "shard 1/4" in msg,
                  f"(e) a second writer on the same (root, shard) is refused: {msg.strip()[:200]}")
            r = run([binary, "index", tree, "--db", server.url("b"), "--no-datasets", "--shard", "2/4"], env)
            check(r.returncode == 0, f"(e) … while another shard's writer runs ({r.stderr.decode()[-200:]})")
            r = run([binary, "index", tree, "--db", server.url("b"), "--no-datasets"], env)
            check(r.returncode == 1 and "another index job is writing" in r.stderr.decode(),
                  "(e) … and a writer of the whole root is refused while a shard's writer runs")
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        dead = f"postgres://{server.user}@127.0.0.1:{pgserver.free_port()}/x"
        t = time.time()
        r = run([binary, "index", tree, "--db", dead, "--no-datasets"], env, timeout=120)
        took = time.time() - t
        msg = r.stderr.decode()
        check(r.returncode == 1 and took < 40 and "cannot open index postgres://" in msg and "127.0.0.1" in msg,
              f"(e) no server at the address: exit {r.returncode} in {took:.1f} s: {msg.strip()[:240]}")
        r = run([binary, "index", tree, "--db", server.url("e"), "--no-datasets", "--quiet"], env)
        server.psql("e", "INSERT INTO schema_migrations(identifier) VALUES ('v9')")
        r = run([binary, "index", tree, "--db", server.url("e"), "--no-datasets"], env)
        r2 = run([binary, "export", "--db", server.url("e")], env)
        check(r.returncode == 1 and "newer ImagingX" in r.stderr.decode() and r2.returncode == 1 and "newer ImagingX" in r2.stderr.decode(),
              f"(e) a database with a newer schema step is refused by index and export: {r.stderr.decode().strip()[:200]}")
        server.psql("d", "CREATE TABLE patients (id int)")
        r = run([binary, "index", tree, "--db", server.url("d"), "--no-datasets"], env)
        tables = server.psql("d", "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = 'public'").stdout.strip()
        check(r.returncode == 1 and "did not create" in r.stderr.decode() and tables == "patients",
              f"(e) a database with tables of its own is refused and left as it was: {r.stderr.decode().strip()[:200]}")

        # (h) the dataset pass
        pg_datasets.run_checks(binary, a.sample_data, work, server, env, check, run, make_tree, outputs)

        # (f) the password in the URL instead of PGPASSWORD, and never printed
        bare = {k: v for k, v in env.items() if k != "PGPASSWORD"}
        r = run([binary, "index", tree, "--db", server.url("a", password=True), "--no-datasets"], bare)
        check(r.returncode == 0, f"(f) the password given in the URL works {r.stderr.decode()[-200:]}")
        r = run([binary, "index", tree, "--db", server.url("a"), "--no-datasets"], bare)
        check(r.returncode == 1 and "password" in r.stderr.decode().lower(),
              f"(f) without a password: a clear error {r.stderr.decode().strip()[:200]}")
        leaked = [o for o in outputs if server.password in o]
        check(not leaked, f"(f) the password is in none of {len(outputs)} outputs and messages")
    finally:
        server.stop()
    if failures:
        print(f"{len(failures)} PostgreSQL checks failed")
        sys.exit(1)
    print("all PostgreSQL checks passed")


if __name__ == "__main__":
    main()
