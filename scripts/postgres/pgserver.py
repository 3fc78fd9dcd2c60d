"""A throwaway PostgreSQL server for tests and benchmarks (Debian's `postgresql`, version 15).

As root, a data folder is made for an unprivileged user (`postgres` when it exists, else
`nobody`) under /tmp, `initdb` runs as that user with password (SCRAM) authentication, and the
server starts on a free port on 127.0.0.1 only, its socket in the data folder. `stop()` runs
`pg_ctl stop` and kills the postmaster by its PID if that fails; the folder is removed.
"""
import glob, os, pwd, shutil, signal, socket, subprocess, tempfile, time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise SystemExit("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return os.path.dirname(found[-1])


class Server:
    user = "imagingx"

    def __init__(self, password="s3cret-Pw-%d" % os.getpid(), tls=False):
        self.password = password
        self.tls = tls
        self.bin = bin_dir()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="imagingx-pg-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.run_as = None
        if os.geteuid() == 0:
            name = "postgres" if _user_exists("postgres") else "nobody"
            self.run_as = pwd.getpwnam(name)
            os.chmod(self.dir, 0o755)
            os.chown(self.dir, self.run_as.pw_uid, self.run_as.pw_gid)
        self.started = False

    def _cmd(self, args, timeout=120, **kw):
        def demote():
            if self.run_as:
                os.setgid(self.run_as.pw_gid)
                os.setuid(self.run_as.pw_uid)
        return subprocess.run(args, preexec_fn=demote, capture_output=True, text=True, timeout=timeout, cwd=self.dir, **kw)

    def start(self):
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if self.run_as:
            os.chown(pwfile, self.run_as.pw_uid, self.run_as.pw_gid)
        r = self._cmd([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", self.user, "--auth=scram-sha-256",
                       "--pwfile", pwfile, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        os.unlink(pwfile)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stderr[-2000:])
        if self.tls:
            self._configure_tls()
        # Loopback only; small shared memory; 100 connections are plenty for 4 writers and readers.
        r = self._cmd([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60",
                       "-o", f"-k {self.data} -h 127.0.0.1 -p {self.port} -c fsync=off -c max_connections=100", "start"],
                      timeout=90)
        if r.returncode != 0:
            log = open(os.path.join(self.dir, "log")).read()[-2000:] if os.path.exists(os.path.join(self.dir, "log")) else ""
            raise RuntimeError("pg_ctl start failed: " + r.stdout + r.stderr + log)
        self.started = True
        return self

    def _configure_tls(self):
        """TLS only: a self-signed certificate for 127.0.0.1 (openssl, which Debian's postgresql
        brings), `ssl = on`, and pg_hba.conf accepting TLS connections and rejecting plain ones.
        `self.cert` is the certificate clients must trust."""
        key, cert = os.path.join(self.data, "server.key"), os.path.join(self.data, "server.crt")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=imagingx test PostgreSQL",
                            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=critical,CA:TRUE"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("openssl failed: " + r.stderr[-1000:])
        os.chmod(key, 0o600)
        if self.run_as:
            for f in (key, cert):
                os.chown(f, self.run_as.pw_uid, self.run_as.pw_gid)
        self.cert = os.path.join(self.dir, "root.crt")
        shutil.copyfile(cert, self.cert)
        os.chmod(self.cert, 0o644)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n")

    def pids(self):
        """The postmaster's PID and its children's (backends and helpers)."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                main = int(f.readline())
        except (OSError, ValueError):
            return []
        children = subprocess.run(["pgrep", "-P", str(main)], capture_output=True, text=True).stdout.split()
        return [main] + [int(c) for c in children]

    def kill_now(self):
        """Stops the server at once (`pg_ctl stop -m immediate`: no goodbye to the clients)."""
        self._cmd([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "-t", "30", "stop"], timeout=60)

    def restart(self):
        r = self._cmd([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60",
                       "-o", f"-k {self.data} -h 127.0.0.1 -p {self.port} -c fsync=off -c max_connections=100", "start"],
                      timeout=90)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: " + r.stdout + r.stderr)

    def env(self):
        return dict(os.environ, PGPASSWORD=self.password)

    def url(self, db, password=False):
        pw = ":" + self.password if password else ""
        return f"postgres://{self.user}{pw}@127.0.0.1:{self.port}/{db}"

    def psql(self, db, sql, check=True, timeout=60):
        r = subprocess.run([os.path.join(self.bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", db,
                            "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], capture_output=True, text=True, env=self.env(), timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr}")
        return r

    def createdb(self, db):
        r = subprocess.run([os.path.join(self.bin, "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, db],
                           capture_output=True, text=True, env=self.env(), timeout=60)
        if r.returncode != 0:
            raise RuntimeError("createdb failed: " + r.stderr)

    def stop(self):
        try:
            if self.started:
                r = self._cmd([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop"], timeout=60)
                if r.returncode != 0:
                    self._kill()
        except Exception:
            self._kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline())
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
