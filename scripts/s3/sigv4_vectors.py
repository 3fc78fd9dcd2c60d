#!/usr/bin/env python3
"""Writes SigV4 test vectors signed by botocore's own signer: botocore.auth.S3SigV4Auth, the
SigV4Auth subclass botocore uses for S3 (the path is signed as sent, not normalised again), with
payload signing off, so the payload hash is UNSIGNED-PAYLOAD as in our GETs.

Each vector: method, URL, the headers given to the signer, the date, the credentials and the
region, and what botocore adds (X-Amz-Date, X-Amz-Security-Token, Authorization). The Swift
test (RemoteTests) signs the same inputs with ImagingXRemote.SigV4 and must give the same
headers. Usage: sigv4_vectors.py OUT.json   (or --check FILE: exit 1 if FILE differs)
"""
import datetime, json, sys
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CASES = [
    # (method, url, headers, access, secret, token, region, date)
    ("GET", "https://examplebucket.s3.amazonaws.com/test.txt", {"Range": "bytes=0-9"},
     "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None, "us-east-1",
     "2013-05-24T00:00:00"),
    ("GET", "http://127.0.0.1:5000/bucket/SampleData/dicom/ct_001.dcm", {"Range": "bytes=0-4095"},
     "testing", "testing-secret", None, "us-east-1", "2026-12-01T12:00:00"),
    ("GET", "http://127.0.0.1:5000/bucket/SampleData/nifti/brain.nii.gz", {"Range": "bytes=-4"},
     "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEJr//////////token/with+chars=",
     "eu-west-1", "2026-01-31T23:59:59"),
    ("GET", "http://localhost:9000/bucket?continuation-token=1%2Fab%2Bc%3D%3D&list-type=2&max-keys=1000&prefix=Sample%20Data%2F",
     {}, "minio", "minio-secret", None, "us-west-2", "2026-06-15T08:30:05"),
    ("GET", "https://s3.eu-central-1.amazonaws.com/bucket/a%20key/with%C3%A9/%2B%3D%2C.dcm",
     {"Range": "bytes=4096-8191"}, "AKIA1", "s3cr3t", None, "eu-central-1", "2025-02-28T00:00:01"),
    ("GET", "https://idc-open-data.s3.amazonaws.com/?list-type=2&prefix=00000&delimiter=%2F",
     {}, "AKIA2", "another/secret+key", "session", "us-east-1", "2024-12-31T23:59:59"),
]


def sign(method, url, headers, access, secret, token, region, date):
    request = AWSRequest(method=method, url=url, headers=dict(headers))
    request.context["client_config"] = type("Config", (), {"s3": {"payload_signing_enabled": False}})()
    when = datetime.datetime.strptime(date, "%Y-%m-%dT%H:%M:%S")
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        botocore.auth.S3SigV4Auth(Credentials(access, secret, token), "s3", region).add_auth(request)
    return {k: v for k, v in request.headers.items()}


def vectors():
    out = []
    for method, url, headers, access, secret, token, region, date in CASES:
        signed = sign(method, url, headers, access, secret, token, region, date)
        out.append({"method": method, "url": url, "headers": headers, "access_key": access, "secret_key": secret,
                    "session_token": token, "region": region, "date": date + "Z",
                    "x_amz_date": signed["X-Amz-Date"], "x_amz_content_sha256": signed["X-Amz-Content-SHA256"], "authorization": signed["Authorization"],
                    "security_token": signed.get("X-Amz-Security-Token")})
    return out


def main():
    text = json.dumps({"signer": "botocore " + __import__("botocore").__version__ + " S3SigV4Auth (UNSIGNED-PAYLOAD)",
                       "vectors": vectors()}, indent=1, ensure_ascii=False) + "\n"
    if sys.argv[1] == "--check":
        if open(sys.argv[2], encoding="utf-8").read() != text:
            print(f"{sys.argv[2]} differs from what botocore signs now; regenerate it with {sys.argv[0]} {sys.argv[2]}")
            sys.exit(1)
        print(f"SigV4 vectors: {len(CASES)} match botocore's signer")
        return
    open(sys.argv[1], "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
