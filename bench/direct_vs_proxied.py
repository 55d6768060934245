#!/usr/bin/python3
"""Upload throughput: through Coffer (POST /api/v1/files/, raw body) versus direct (presigned part
URLs of POST /api/v1/uploads, PUT by curl), in one run against one server, and how many request
body bytes Coffer received for each (coffer_http_bytes_in_total from /metrics).

    bench/direct_vs_proxied.py [--storage s3|fs] [--size 1GiB] [--parallel 2] [--coffer build/coffer]

--storage s3 (the default) uses the RGW named by COFFER_TEST_S3_ENDPOINT (with COFFER_TEST_S3_BUCKET
and the AWS_* credentials), or else starts a throw-away one with scripts/start-ceph.sh on
--ceph-port and stops it at the end. The file is made once (deterministic bytes) and cut into the
parts the upload asks for before any clock starts; both paths send it with curl from disk. The
presigned figure is given for the part PUTs alone and with complete, which on a multipart upload
reads the object back once to compute its SHA-256. Coffer's bytes-in counter is read around the
part PUTs alone (zero on S3: the file's bytes go to RGW) and around the whole presigned flow (the
JSON bodies of POST /api/v1/uploads and complete)."""
import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MiB = 1 << 20
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


class Server:
    def __init__(self, coffer, workdir, env):
        self.coffer, self.workdir = coffer, workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
        self.env.update({"COFFER_DATA_DIR": os.path.join(workdir, "var"), "COFFER_LISTEN": "127.0.0.1:0",
                         "COFFER_ACCESS_LOG": "false", "COFFER_LOG_LEVEL": "warn"})
        self.env.update(env)
        self.proc = None

    def cli(self, *args):
        return subprocess.run([self.coffer, *args], env=self.env, cwd=self.workdir, check=True,
                              capture_output=True, text=True).stdout.strip()

    def start(self):
        self.log = open(os.path.join(self.workdir, "server.log"), "w+")
        self.env["COFFER_LOG_LEVEL"] = "info"  # the "listening on" line
        self.proc = subprocess.Popen([self.coffer, "serve"], env=self.env, cwd=self.workdir,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(1000):
            self.log.seek(0)
            m = re.search(r"listening on http://[^:]+:(\d+)", self.log.read())
            if m:
                self.url = f"http://127.0.0.1:{m.group(1)}"
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.log.seek(0)
        raise RuntimeError("coffer did not start:\n" + self.log.read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)

    def bytes_in(self):
        text = requests.get(self.url + "/metrics", timeout=30).text
        return int(re.search(r"^coffer_http_bytes_in_total (\d+)$", text, re.M).group(1))


def curl(*args):
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-D", "-", "-w", "\n%{http_code}", *args],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    lines = r.stdout.strip().split("\n")
    headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
               for l in lines[:-1] if ":" in l}
    return int(lines[-1]), headers


def make_file(path, size, seed=1):
    rng, h = random.Random(seed), hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = rng.randbytes(min(MiB, left))
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--storage", choices=["s3", "fs"], default="s3")
    ap.add_argument("--size", type=parse_size, default=1 << 30)
    ap.add_argument("--parallel", type=int, default=2, help="part PUTs at once (1 or more)")
    ap.add_argument("--coffer", default=os.path.join(ROOT, "build", "coffer"))
    ap.add_argument("--ceph-port", type=int, default=17590)
    ap.add_argument("--workdir", default=None, help="default: a temporary directory")
    args = ap.parse_args()

    workdir = args.workdir or tempfile.mkdtemp(prefix="coffer-bench-")
    env, started_ceph = {}, False
    server = None
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
        server = Server(args.coffer, workdir, env)
        server.cli("tenant", "create", "bench", "--admin", "boss")
        token = server.cli("token", "--tenant", "bench", "--user", "boss", "--ttl", "2h")
        auth = {"Authorization": f"Bearer {token}"}
        server.start()

        path = os.path.join(workdir, "file.bin")
        log(f"making {args.size} bytes")
        digest = make_file(path, args.size)

        # -- through Coffer ---------------------------------------------------------------------
        # (No '/' before the query: curl -T appends the file's name to a URL path ending in '/'.)
        before = server.bytes_in()
        t0 = time.monotonic()
        status, _ = curl("-X", "POST", "-T", path, "-H", f"Authorization: Bearer {token}",
                         "-H", "Content-Type: application/octet-stream", "-H", f"X-Checksum-Sha256: {digest}",
                         f"{server.url}/api/v1/files?path=proxied.bin")
        proxied_s = time.monotonic() - t0
        proxied_in = server.bytes_in() - before
        assert status == 201, status

        # -- direct -----------------------------------------------------------------------------
        before = server.bytes_in()
        t0 = time.monotonic()
        r = requests.post(f"{server.url}/api/v1/uploads", headers=auth, timeout=60,
                          json={"path": "direct.bin", "size": args.size, "sha256": digest, "expires_in": 3600})
        r.raise_for_status()
        up = r.json()
        issue_s = time.monotonic() - t0
        parts = up.get("parts") or [{"number": 1, "url": up["url"], "size": args.size}]
        part_dir = os.path.join(workdir, "parts")
        os.makedirs(part_dir, exist_ok=True)
        files = cut(path, part_dir, [p["size"] for p in parts])
        headers = [a for k, v in up["headers"].items() if k.lower() != "content-length"
                   for a in ("-H", f"{k}: {v}")]

        def put(part):
            status, h = curl("-X", "PUT", "-T", files[part["number"] - 1], *headers, part["url"])
            assert status == 200, (part["number"], status)
            return {"number": part["number"], "etag": h["etag"]}

        put_before = server.bytes_in()
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
            done = list(pool.map(put, parts))
        put_s = time.monotonic() - t0
        put_in = server.bytes_in() - put_before
        t1 = time.monotonic()
        r = requests.post(f"{server.url}/api/v1/uploads/{up['upload_id']}/complete", headers=auth,
                          json={"parts": done} if "parts" in up else None, timeout=3600)
        complete_s = time.monotonic() - t1
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == digest
        direct_in = server.bytes_in() - before

        mib = args.size / MiB
        result = {
            "storage": args.storage, "bytes": args.size, "parts": len(parts), "parallel": args.parallel,
            "proxied": {"seconds": round(proxied_s, 2), "MiB_per_s": round(mib / proxied_s, 1),
                        "coffer_bytes_in": proxied_in},
            "direct": {"issue_seconds": round(issue_s, 3), "put_seconds": round(put_s, 2),
                       "put_MiB_per_s": round(mib / put_s, 1), "complete_seconds": round(complete_s, 2),
                       "total_MiB_per_s": round(mib / (issue_s + put_s + complete_s), 1),
                       "coffer_bytes_in_during_puts": put_in,
                       "coffer_bytes_in": direct_in},
        }
        print(json.dumps(result, indent=2))
        print(f"{args.storage}: {mib:.0f} MiB through POST /api/v1/files/: {result['proxied']['MiB_per_s']} MiB/s "
              f"({proxied_in} bytes into Coffer); presigned, {len(parts)} parts {args.parallel} at a time: "
              f"{result['direct']['put_MiB_per_s']} MiB/s for the PUTs, "
              f"{result['direct']['total_MiB_per_s']} MiB/s with issue and complete "
              f"({put_in} bytes into Coffer during the PUTs; {direct_in} in all, the JSON of "
              f"POST /api/v1/uploads and complete)")
    finally:
        if server:
            server.stop()
        if started_ceph:
            subprocess.run([os.path.join(ROOT, "scripts", "stop-ceph.sh")],
                           env={**os.environ, "S3_PORT": str(args.ceph_port)}, stderr=subprocess.DEVNULL)
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
