#!/usr/bin/env python3
"""`imagingx scan s3://…` over HTTPS (part of scripts/test).

moto's server on loopback holds SampleData; our proxy (latency_proxy.py) serves it over TLS with
a self-signed certificate for 127.0.0.1 made by the test in its work folder (with `cryptography`,
which moto requires; nothing is committed). Checks:
  - with AWS_CA_BUNDLE naming that certificate (as the AWS tools take a private authority), the
    records over HTTPS equal those over plain HTTP, byte for byte;
  - without it, the certificate is not trusted: the listing fails at once (no retry) with exit 1
    and a message that says so and names AWS_CA_BUNDLE, and no secret is printed;
  - an AWS_CA_BUNDLE that cannot be read is a clear error before any request.

  test_s3_tls.py --imagingx .build/release/imagingx --sample-data SampleData --work DIR
"""
import argparse, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_s3 import BUCKET, SECRET, check, free_port, records, results, run, stop, wait_port  # noqa: E402


def make_certificate(folder):
    """A self-signed certificate (and key) for 127.0.0.1 and localhost, valid for a day."""
    import datetime, ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imagingx test S3 endpoint")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--sample-data", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    imagingx = os.path.abspath(a.imagingx)
    cert, key = make_certificate(a.work)
    procs = []
    try:
        port = free_port()
        moto = subprocess.Popen(["timeout", "600", sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(moto)
        wait_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        import botocore.session
        s3 = botocore.session.get_session().create_client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                                          aws_access_key_id="testing", aws_secret_access_key=SECRET)
        s3.create_bucket(Bucket=BUCKET)
        root = os.path.abspath(a.sample_data)
        objects = 0
        for dirpath, _, files in os.walk(root):
            for name in files:
                full = os.path.join(dirpath, name)
                with open(full, "rb") as f:
                    s3.put_object(Bucket=BUCKET, Key=os.path.relpath(full, os.path.dirname(root)), Body=f.read())
                objects += 1

        tport = free_port()
        proxy = subprocess.Popen(["timeout", "600", sys.executable, os.path.join(HERE, "latency_proxy.py"), "--port", str(tport),
                                  "--upstream", endpoint, "--tls-cert", cert, "--tls-key", key],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(proxy)
        proxy.stdout.readline()
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1")
        for k in ("AWS_PROFILE", "AWS_CA_BUNDLE"):
            env.pop(k, None)
        url = f"s3://{BUCKET}/{os.path.basename(root)}/"
        plain = dict(env, AWS_ENDPOINT_URL_S3=endpoint)
        https = dict(env, AWS_ENDPOINT_URL_S3=f"https://127.0.0.1:{tport}")

        code, expected, err, _ = run([imagingx, "scan", url, "--quiet", "--stats"], plain)
        code2, got, err2, secs = run([imagingx, "scan", url, "--quiet", "--stats"], dict(https, AWS_CA_BUNDLE=cert))
        check(f"HTTPS with AWS_CA_BUNDLE: {len(records(got))} records equal those over plain HTTP byte for byte ({secs:.1f} s)",
              code == 0 and code2 == 0 and got == expected and len(records(got)) == objects, f"exit {code}/{code2} {err2[-300:]}")

        code, out, err, secs = run([imagingx, "scan", url, "--quiet"], https, 120)
        check(f"HTTPS without the bundle: the self-signed certificate is refused at the listing, exit 1, no retries ({secs:.1f} s)",
              code == 1 and out == "" and "not trusted" in err and "AWS_CA_BUNDLE" in err and "attempts" not in err and secs < 30,
              f"exit {code} {err[-300:]}")
        check("… and the secret is not printed", SECRET not in out + err)

        code, out, err, _ = run([imagingx, "scan", url, "--quiet"], dict(https, AWS_CA_BUNDLE=os.path.join(a.work, "missing.pem")))
        check("an AWS_CA_BUNDLE that cannot be read: exit 2 with the reason, no records", code != 0 and "missing.pem" in err and out == "",
              f"exit {code} {err[-200:]}")
    finally:
        for p in procs:
            stop(p)
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
