#!/usr/bin/python3
"""Upload throughput of one file, in one run against one server: through Coffer (POST
/api/v1/files, raw body) versus direct (the presigned part URLs of POST /api/v1/uploads, PUT by
curl, then complete), and how many request-body bytes Coffer received for each
(coffer_http_bytes_in_total from /metrics).

    bench/direct_vs_proxied.py [--storage s3|fs] [--size 1GiB] [--parallel 2] [--build build]
                               [--json FILE]

--storage s3 (the default) uses the RGW named by COFFER_TEST_S3_ENDPOINT (with COFFER_TEST_S3_BUCKET
and the AWS_* credentials), or else starts a throw-away one with scripts/start-ceph.sh on
--ceph-port and stops it at the end. The file is made once and cut into the parts the upload asks
for before any clock starts; both paths send it with curl from disk. The presigned figure is given
for the part PUTs alone and with complete, which on a multipart upload reads the object back once
to compute its SHA-256. Coffer's bytes-in counter is read around the part PUTs alone (zero on S3:
the file's bytes go to RGW) and around the whole presigned flow (the JSON bodies of POST
/api/v1/uploads and complete)."""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid

import requests

from bench_common import MiB, ROOT, CofferProcess, coffer_bin, curl, mib_s, sha256_file, write_random_file

CEPH_KEYS = {"AWS_ACCESS_KEY_ID": "TESTACCESSKEY0000001",
             "AWS_SECRET_ACCESS_KEY": "testsecretkey0000000000000000000000000001",
             "AWS_REGION": "us-east-1"}


def parse_size(text):
    m = re.fullmatch(r"(\d+)\s*(KiB|MiB|GiB)?", text)
    if not m:
        raise argparse.ArgumentTypeError("a size like 1GiB, 512MiB or 1048576")
    return int(m.group(1)) * {None: 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m.group(2)]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def bytes_in(server):
    text = requests.get(server.url + "/metrics", timeout=30).text
    return int(re.search(r"^coffer_http_bytes_in_total (\d+)$", text, re.M).group(1))


def cut(path, directory, part_sizes):
    paths = []
    with open(path, "rb") as src:
        for n, size in enumerate(part_sizes, 1):
            p = os.path.join(directory, f"part-{n}")
            with open(p, "wb") as dst:
                left = size
                while left:
                    chunk = src.read(min(MiB, left))
                    dst.write(chunk)
                    left -= len(chunk)
            paths.append(p)
    return paths


def proxied(server, path, digest):
    before = bytes_in(server)
    # No '/' before the query: curl -T appends the file's name to a URL path ending in '/'.
    seconds, out = curl("-X", "POST", "-T", path, "-H", f"Authorization: Bearer {server.token}",
                        "-H", "Content-Type: application/octet-stream", "-H", f"X-Checksum-Sha256: {digest}",
                        f"{server.url}/api/v1/files?path=proxied.bin")
    assert out["status"] == 201, out
    return {"seconds": round(seconds, 2), "MiB_per_s": round(mib_s(os.path.getsize(path), seconds), 1),
            "coffer_bytes_in": bytes_in(server) - before}


def direct(server, path, digest, size, parallel, workdir):
    auth = {"Authorization": f"Bearer {server.token}"}
    before = bytes_in(server)
    t0 = time.monotonic()
    r = requests.post(f"{server.url}/api/v1/uploads", headers=auth, timeout=60,
                      json={"path": "direct.bin", "size": size, "sha256": digest, "expires_in": 3600})
    r.raise_for_status()
    up = r.json()
    issue_s = time.monotonic() - t0
    parts = up.get("parts") or [{"number": 1, "url": up["url"], "size": size}]
    part_dir = os.path.join(workdir, "parts")
    os.makedirs(part_dir, exist_ok=True)
    files = cut(path, part_dir, [p["size"] for p in parts])
    headers = [a for k, v in up["headers"].items() if k.lower() != "content-length" for a in ("-H", f"{k}: {v}")]

    def put(part):
        _, out = curl("-X", "PUT", "-T", files[part["number"] - 1], *headers, "-o", "/dev/null", "-D", "-",
                      part["url"])
        etag = re.search(rb"^etag:\s*(\S+)", out["body"], re.M | re.I)
        assert out["status"] == 200 and etag, (part["number"], out)
        return {"number": part["number"], "etag": etag.group(1).decode()}

    put_before = bytes_in(server)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        done = list(pool.map(put, parts))
    put_s = time.monotonic() - t0
    put_in = bytes_in(server) - put_before
    t0 = time.monotonic()
    r = requests.post(f"{server.url}/api/v1/uploads/{up['upload_id']}/complete", headers=auth,
                      json={"parts": done} if "parts" in up else None, timeout=3600)
    complete_s = time.monotonic() - t0
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == digest
    return {"parts": len(parts), "issue_seconds": round(issue_s, 3), "put_seconds": round(put_s, 2),
            "put_MiB_per_s": round(mib_s(size, put_s), 1), "complete_seconds": round(complete_s, 2),
            "total_MiB_per_s": round(mib_s(size, issue_s + put_s + complete_s), 1),
            "coffer_bytes_in_during_puts": put_in, "coffer_bytes_in": bytes_in(server) - before}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--storage", choices=["s3", "fs"], default="s3")
    ap.add_argument("--size", type=parse_size, default=1 << 30)
    ap.add_argument("--parallel", type=int, default=2, help="part PUTs at once (1 or more)")
    ap.add_argument("--build", default="build", help="the build directory holding coffer")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--ceph-port", type=int, default=17590)
    args = ap.parse_args()

    env, started_ceph, server = {}, False, None
    with tempfile.TemporaryDirectory(prefix="coffer-bench-direct-") as workdir:
        try:
            if args.storage == "s3":
                endpoint = os.environ.get("COFFER_TEST_S3_ENDPOINT")
                bucket = os.environ.get("COFFER_TEST_S3_BUCKET", "test-bucket")
                if not endpoint:
                    log(f"starting Ceph RGW on port {args.ceph_port}")
                    subprocess.run([os.path.join(ROOT, "scripts", "start-ceph.sh")], check=True,
                                   stdout=subprocess.DEVNULL,
                                   env={**os.environ, "S3_PORT": str(args.ceph_port), "CEPH_WITH_MGR": "0",
                                        "CEPH_MEMSTORE_GIB": str(max(4, 3 * args.size // (1 << 30) + 2))})
                    started_ceph = True
                    endpoint = f"http://127.0.0.1:{args.ceph_port}"
                    env.update(CEPH_KEYS)
                env.update({"COFFER_STORAGE_URL": f"s3://{bucket}/coffer-bench/{uuid.uuid4().hex}",
                            "AWS_ENDPOINT_URL_S3": endpoint, "COFFER_S3_PATH_STYLE": "true"})
            server = CofferProcess(coffer_bin(args.build), env=env, workdir=workdir).start()

            path = os.path.join(workdir, "file.bin")
            log(f"making {args.size} bytes")
            write_random_file(path, args.size)
            digest = sha256_file(path)
            result = {"storage": args.storage, "bytes": args.size, "parallel": args.parallel,
                      "proxied": proxied(server, path, digest),
                      "direct": direct(server, path, digest, args.size, args.parallel, workdir)}
        finally:
            if server:
                server.stop()
            if started_ceph:
                subprocess.run([os.path.join(ROOT, "scripts", "stop-ceph.sh")],
                               env={**os.environ, "S3_PORT": str(args.ceph_port)}, stderr=subprocess.DEVNULL)

    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    p, d = result["proxied"], result["direct"]
    print(f"{args.storage}: {args.size / MiB:.0f} MiB through POST /api/v1/files: {p['MiB_per_s']} MiB/s "
          f"({p['coffer_bytes_in']} bytes into Coffer); presigned, {d['parts']} parts {args.parallel} at a time: "
          f"{d['put_MiB_per_s']} MiB/s for the PUTs, {d['total_MiB_per_s']} MiB/s with issue and complete "
          f"({d['coffer_bytes_in_during_puts']} bytes into Coffer during the PUTs; {d['coffer_bytes_in']} in all, "
          f"the JSON of POST /api/v1/uploads and complete)")


if __name__ == "__main__":
    main()
