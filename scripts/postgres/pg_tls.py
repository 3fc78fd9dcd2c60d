"""TLS to PostgreSQL (checks (l) of scripts/postgres/test_postgres.py).

A second server accepts TLS only (pgserver.Server(tls=True): a self-signed certificate for
127.0.0.1, `hostnossl … reject`):
  (l) sslmode=verify-full with sslrootcert naming the certificate: index, then export equals scan;
  (l) sslmode=require (encrypted, the certificate not checked) works too;
  (l) sslmode=disable is refused by the server: the connections above were encrypted;
  (l) verify-full without the certificate (the system's authorities do not know it): a clear
      error naming sslrootcert, without retries, and the same with PGSSLMODE instead of the URL;
  the password appears in none of these outputs (the caller's check (f) reads them all).
"""
import os, time

import pgserver


def run_checks(binary, tree, expected, check, run, outputs):
    server = pgserver.Server(tls=True)
    server.start()
    try:
        server.createdb("t")
        env = server.env()
        base = server.url("t")
        good = f"{base}?sslmode=verify-full&sslrootcert={server.cert}"
        r = run([binary, "index", tree, "--db", good, "--no-datasets", "--quiet"], env)
        got = run([binary, "export", "--db", good, "--file-stat"], env).stdout
        check(r.returncode == 0 and got == expected,
              f"(l) TLS, sslmode=verify-full with sslrootcert: index, then export equals scan {r.stderr.decode()[-200:]}")
        r = run([binary, "export", "--db", base + "?sslmode=require", "--file-stat"], env)
        check(r.returncode == 0 and r.stdout == expected, f"(l) sslmode=require works too {r.stderr.decode()[-200:]}")
        r = run([binary, "export", "--db", base + "?sslmode=disable"], env)
        msg = r.stderr.decode()
        check(r.returncode == 1 and "pg_hba.conf" in msg and "no encryption" in msg,
              f"(l) sslmode=disable is refused by a TLS-only server (so the above were encrypted): {msg.strip()[:200]}")
        for label, db, extra in (("in the URL", base + "?sslmode=verify-full", {}), ("by PGSSLMODE", base, {"PGSSLMODE": "verify-full"})):
            t = time.time()
            r = run([binary, "export", "--db", db], dict(env, **extra), timeout=120)
            took = time.time() - t
            msg = r.stderr.decode()
            check(r.returncode == 1 and "not trusted" in msg and "sslrootcert" in msg and "attempts" not in msg and took < 20,
                  f"(l) verify-full {label} without the certificate's authority: a clear error in {took:.1f} s: {msg.strip()[:220]}")
    finally:
        server.stop()
