"""The writer lock's own connection lost mid-job (checks (k) of scripts/postgres/test_postgres.py).

A psql session waits (inside the server, polling pg_locks every 2 ms) for the job's advisory lock
on the root, then ends the backend holding it (pg_terminate_backend):
  (k) nobody else takes the lock: the job takes it again on a new connection and completes, and
      its export equals `scan`;
  (k) the session takes the lock itself right away (pg_advisory_lock, queued before the job can
      notice): the job refuses to write on without it, exits 1 saying the lock was lost and
      another job holds it, and the index holds only whole records that `scan` prints.
"""
import os, subprocess, threading


def watcher_sql(tree, take):
    key = f"imagingx-index root {tree}".replace("'", "''")
    sql = f"""
DO $$
DECLARE h bigint := hashtextextended('{key}', 0); p int;
BEGIN
  FOR i IN 1..15000 LOOP
    SELECT pid INTO p FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
      AND classid::bigint = ((h >> 32) & 4294967295) AND objid::bigint = (h & 4294967295) LIMIT 1;
    EXIT WHEN p IS NOT NULL;
    PERFORM pg_sleep(0.002);
  END LOOP;
  IF p IS NULL THEN RAISE EXCEPTION 'the job never took its lock'; END IF;
  PERFORM pg_terminate_backend(p);
END $$;
"""
    if take:
        sql += f"SELECT pg_advisory_lock(hashtextextended('{key}', 0));\n"
    return sql + "SELECT 'done';\n"


def run_checks(binary, tree, expected, server, env, check, outputs):
    for db in ("k1", "k2"):
        server.createdb(db)
    for db, take in (("k1", False), ("k2", True)):
        holder = subprocess.Popen([os.path.join(server.bin, "psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", server.user,
                                   "-d", db, "-At", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, text=True)
        try:
            holder.stdin.write(watcher_sql(tree, take))
            holder.stdin.flush()
            job = subprocess.run([binary, "index", tree, "--db", server.url(db), "--no-datasets", "--stats", "--jobs", "1"],
                                 capture_output=True, env=env, timeout=600)
            message = job.stderr.decode(errors="replace")
            outputs.append(message)
            done = ""
            for line in holder.stdout:  # "DO", the lock's empty result, then "done" (or EOF on an error)
                if line.strip() == "done":
                    done = "done"
                    break
            exported = subprocess.run([binary, "export", "--db", server.url(db), "--file-stat", "--stats"], capture_output=True,
                                      env=env, timeout=600)
            if not take:
                check(done == "done" and job.returncode == 0 and exported.stdout == expected,
                      f"(k) the lock's connection ended mid-job: the job takes the lock again and completes, export equals scan "
                      + f"(watcher {done!r}, exit {job.returncode}) {message.strip()[-200:]}")
            else:
                lines = set(expected.splitlines())
                got = exported.stdout.splitlines()
                check(done == "done" and job.returncode == 1 and "writer lock" in message and "was lost" in message,
                      f"(k) … and when another session took it meanwhile, the job stops: exit {job.returncode}: {message.strip()[-240:]}")
                check(exported.returncode == 0 and all(line in lines for line in got) and len(got) < len(lines),
                      f"(k) … leaving only whole records ({len(got)} of {len(lines)})")
        finally:
            try:
                holder.stdin.close()
            except OSError:
                pass
            try:
                holder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                holder.kill()


def shard_count_checks(binary, tree, server, env, check, run, db):
    """(e) shards of two counts writing one root at once: the later count is refused while the
    first count's writers run (they hold its key shared), and allowed once they are done."""
    key = f"imagingx-index root {tree} shards 4".replace("'", "''")
    holder = subprocess.Popen([os.path.join(server.bin, "psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", server.user,
                               "-d", db, "-At"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    holder.stdin.write(f"SELECT pg_advisory_lock_shared(hashtextextended('{key}', 0));\nSELECT 'held';\n")
    holder.stdin.flush()
    held = ""
    for line in holder.stdout:
        if line.strip() == "held":
            held = "held"
            break
    try:
        r = run([binary, "index", tree, "--db", server.url(db), "--no-datasets", "--shard", "0/3"], env)
        msg = r.stderr.decode(errors="replace")
        check(held and r.returncode == 1 and "another count" in msg and "N = 4" in msg,
              f"(e) a shard of another count (0/3) while shards of 4 write the root is refused: {msg.strip()[:240]}")
        r = run([binary, "index", tree, "--db", server.url(db), "--no-datasets", "--shard", "1/4"], env)
        check(r.returncode == 0, f"(e) … a shard of the same count is not ({r.stderr.decode(errors='replace')[-160:]})")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    r = run([binary, "index", tree, "--db", server.url(db), "--no-datasets", "--shard", "0/3"], env)
    check(r.returncode == 0, f"(e) … and once they are done, shards of another count may write ({r.stderr.decode(errors='replace')[-160:]})")
