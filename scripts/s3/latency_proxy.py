#!/usr/bin/env python3
"""A latency-injecting HTTP/1.1 proxy for the S3 tests and benchmark (asyncio, no dependencies).

Every request waits --delay-ms before it is answered. Requests go to --upstream (moto's server),
one upstream connection each, or, with --memory-root DIR --bucket B, are answered from an
in-memory copy of DIR's files as bucket B (ListObjectsV2 with prefix/max-keys/continuation-token,
GetObject with Range: a minimal S3 of our own, so a benchmark measures the client, not moto).

Faults, each for the object keys that contain a given substring (repeatable options):
  --fail-first SUB    503 SlowDown to the first GET of each such key (a retry then succeeds)
  --fail-always SUB   503 SlowDown to every GET of such keys
  --status SUB=CODE   answer CODE (403, 404, ...) with an S3 error body
  --stall SUB         send nothing for --stall-seconds (longer than the client's timeout)
  --truncate SUB      send the headers and half the body, then close the connection
  --ignore-range SUB  drop the Range header: the whole object comes back with 200
  --list-status CODE  answer every listing (GET on the bucket) with CODE and an S3 error body
  --stall-list        send nothing to a listing for --stall-seconds
Writes "listening PORT" on stdout when ready. Counts: GET /__proxy_stats (JSON): requests, listings,
ranged_gets (object GETs with a Range header) and the keys they asked for (ranged_keys).
"""
import argparse, asyncio, json, os, ssl, sys, time
from urllib.parse import urlsplit, parse_qs, quote, unquote
from xml.sax.saxutils import escape

STATS = {"requests": 0, "by_fault": {}, "max_in_flight": 0, "listings": 0, "ranged_gets": 0, "ranged_keys": []}
IN_FLIGHT = 0
SEEN_FIRST = set()


def reason(code):
    return {200: "OK", 206: "Partial Content", 403: "Forbidden", 404: "Not Found", 416: "Range Not Satisfiable",
            500: "Internal Server Error", 503: "Slow Down"}.get(code, "Status")


def response(code, headers, body):
    head = [f"HTTP/1.1 {code} {reason(code)}"]
    hs = dict(headers)
    hs.setdefault("Content-Length", str(len(body)))
    for k, v in hs.items():
        head.append(f"{k}: {v}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def error_body(code, message):
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>').encode()


class Memory:
    """bucket → sorted keys → bytes, from a directory tree."""

    def __init__(self, root, bucket, copies):
        self.bucket = bucket
        self.objects = {}
        for dirpath, _, files in os.walk(root):
            for name in files:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                data = open(full, "rb").read()
                for c in range(copies):
                    key = rel if copies == 1 else f"copy{c:05d}/{rel}"
                    self.objects[key] = data
        self.keys = sorted(self.objects, key=lambda k: k.encode())

    def handle(self, path, query, headers):
        parts = path.lstrip("/").split("/", 1)
        if parts[0] != self.bucket:
            return response(404, {"Content-Type": "application/xml"}, error_body("NoSuchBucket", "no such bucket"))
        if len(parts) == 1 or parts[1] == "":
            q = parse_qs(query, keep_blank_values=True)
            prefix = q.get("prefix", [""])[0]
            max_keys = min(1000, int(q.get("max-keys", ["1000"])[0]))
            token = q.get("continuation-token", [""])[0]
            keys = [k for k in self.keys if k.startswith(prefix) and (not token or k.encode() > token.encode())]
            page, more = keys[:max_keys], len(keys) > max_keys
            out = ['<?xml version="1.0" encoding="UTF-8"?>',
                   '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
                   f"<Name>{self.bucket}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>",
                   f"<MaxKeys>{max_keys}</MaxKeys><IsTruncated>{'true' if more else 'false'}</IsTruncated>"]
            for k in page:
                out.append(f"<Contents><Key>{escape(k)}</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified>"
                           f"<ETag>&quot;0&quot;</ETag><Size>{len(self.objects[k])}</Size><StorageClass>STANDARD</StorageClass></Contents>")
            if more:
                out.append(f"<NextContinuationToken>{escape(page[-1])}</NextContinuationToken>")
            out.append("</ListBucketResult>")
            return response(200, {"Content-Type": "application/xml"}, "".join(out).encode())
        key = unquote(parts[1])
        data = self.objects.get(key)
        if data is None:
            return response(404, {"Content-Type": "application/xml"}, error_body("NoSuchKey", "no such key"))
        rng = headers.get("range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            size = len(data)
            if a == "":
                start, end = max(0, size - int(b)), size - 1
            else:
                start, end = int(a), min(size - 1, int(b) if b else size - 1)
            if start >= size:
                return response(416, {"Content-Type": "application/xml"}, error_body("InvalidRange", "bad range"))
            return response(206, {"Content-Range": f"bytes {start}-{end}/{size}"}, data[start:end + 1])
        return response(200, {}, data)


async def read_request(reader):
    line = await reader.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = []
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers.append((k.strip(), v.strip()))
    length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return method, target, headers, body


async def forward(args, method, target, headers, body):
    r, w = await asyncio.open_connection(args.upstream_host, args.upstream_port)
    lines = [f"{method} {target} HTTP/1.1"]
    for k, v in headers:
        if k.lower() not in ("connection", "keep-alive"):
            lines.append(f"{k}: {v}")
    lines.append("Connection: close")
    w.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await w.drain()
    data = await r.read()
    w.close()
    # Re-frame: moto may answer chunked or close-delimited; we send Content-Length.
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *hlines = head.decode("latin-1").split("\r\n")
    code = int(status_line.split(" ")[1])
    hs = {}
    chunked = False
    for hl in hlines:
        k, _, v = hl.partition(":")
        if k.lower() == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
            continue
        if k.lower() in ("connection", "content-length", "keep-alive"):
            continue
        hs[k.strip()] = v.strip()
    if chunked:
        out, i = b"", 0
        while True:
            j = rest.index(b"\r\n", i)
            n = int(rest[i:j].split(b";")[0], 16)
            if n == 0:
                break
            out += rest[j + 2:j + 2 + n]
            i = j + 2 + n + 2
        rest = out
    return code, hs, rest


def matching(subs, key):
    return any(s in key for s in subs)


def count(fault):
    STATS["by_fault"][fault] = STATS["by_fault"].get(fault, 0) + 1


async def handle(args, memory, reader, writer):
    global IN_FLIGHT
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                break
            method, target, headers, body = req
            url = urlsplit(target)
            if url.path == "/__proxy_stats":
                writer.write(response(200, {"Content-Type": "application/json"}, json.dumps(STATS).encode()))
                await writer.drain()
                continue
            STATS["requests"] += 1
            IN_FLIGHT += 1
            STATS["max_in_flight"] = max(STATS["max_in_flight"], IN_FLIGHT)
            try:
                await asyncio.sleep(args.delay_ms / 1000)
                key = unquote(url.path.lstrip("/").split("/", 1)[1]) if url.path.count("/") >= 2 else ""
                hmap = {k.lower(): v for k, v in headers}
                is_object = method == "GET" and key != ""
                if is_object and "range" in hmap:
                    STATS["ranged_gets"] += 1
                    STATS["ranged_keys"].append(key)
                if method == "GET" and not is_object and url.path.strip("/") != "":
                    STATS["listings"] += 1
                    if args.stall_list:
                        count("stall_list")
                        await asyncio.sleep(args.stall_seconds)
                        raise StopIteration
                    if args.list_status:
                        count("list_status")
                        code = args.list_status
                        writer.write(response(code, {"Content-Type": "application/xml"},
                                              error_body("AccessDenied" if code == 403 else "SlowDown" if code == 503 else "Error", "injected")))
                        await writer.drain()
                        continue
                if is_object:
                    for spec in args.status:
                        sub, _, code = spec.rpartition("=")
                        if sub in key:
                            count("status")
                            writer.write(response(int(code), {"Content-Type": "application/xml"},
                                                  error_body("AccessDenied" if code == "403" else "NoSuchKey", "injected")))
                            await writer.drain()
                            raise StopIteration
                    if matching(args.fail_always, key) or (matching(args.fail_first, key) and (key, hmap.get("range")) not in SEEN_FIRST):
                        SEEN_FIRST.add((key, hmap.get("range")))
                        count("slowdown")
                        writer.write(response(503, {"Content-Type": "application/xml"}, error_body("SlowDown", "Please reduce your request rate.")))
                        await writer.drain()
                        continue
                    if matching(args.stall, key):
                        count("stall")
                        await asyncio.sleep(args.stall_seconds)
                        raise StopIteration
                    if matching(args.ignore_range, key):
                        count("ignore_range")
                        headers = [(k, v) for k, v in headers if k.lower() != "range"]
                        hmap.pop("range", None)
                if memory is not None:
                    raw = memory.handle(url.path, url.query, hmap)
                else:
                    code, hs, data = await forward(args, method, target, headers, body)
                    raw = response(code, hs, data)
                if is_object and matching(args.truncate, key):
                    count("truncate")
                    head, _, data = raw.partition(b"\r\n\r\n")
                    writer.write(head + b"\r\n\r\n" + data[: len(data) // 2])
                    await writer.drain()
                    raise StopIteration
                writer.write(raw)
                await writer.drain()
            finally:
                IN_FLIGHT -= 1
    except (StopIteration, ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--upstream", default="")
    p.add_argument("--memory-root")
    p.add_argument("--bucket", default="bench")
    p.add_argument("--copies", type=int, default=1, help="memory mode: serve the tree this many times, under copyNNNNN/")
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--fail-first", action="append", default=[])
    p.add_argument("--fail-always", action="append", default=[])
    p.add_argument("--status", action="append", default=[])
    p.add_argument("--stall", action="append", default=[])
    p.add_argument("--stall-seconds", type=float, default=30)
    p.add_argument("--truncate", action="append", default=[])
    p.add_argument("--ignore-range", action="append", default=[])
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (and --tls-key)")
    p.add_argument("--tls-key")
    p.add_argument("--list-status", type=int, default=0)
    p.add_argument("--stall-list", action="store_true", help="send nothing to a listing for --stall-seconds")
    args = p.parse_args()
    memory = Memory(args.memory_root, args.bucket, args.copies) if args.memory_root else None
    if args.upstream:
        u = urlsplit(args.upstream)
        args.upstream_host, args.upstream_port = u.hostname, u.port
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    server = await asyncio.start_server(lambda r, w: handle(args, memory, r, w), "127.0.0.1", args.port, backlog=1024, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
