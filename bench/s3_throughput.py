#!/usr/bin/python3
"""Issue 5's benchmark: a 1 GiB file uploaded and downloaded through Coffer on Ceph RGW and, in the
same run, straight to RGW with curl on presigned URLs; prints MiB/s of each, the ratio (target:
Coffer at 90% of direct or better) and Coffer's resident memory growth during the transfers.

    /usr/bin/python3 bench/s3_throughput.py [--build build] [--size-mib 1024] [--runs 1]
                                            [--port 17780] [--osd-store memstore|bluestore]
                                            [--json PATH]

Starts its own single-node Ceph with scripts/start-ceph.sh on --port (memstore sized for the
objects by default; bluestore writes a sparse file under /tmp/ceph-<port>) and stops it at the
end; --endpoint URL --bucket NAME uses a running RGW instead (credentials from AWS_*).
Every transfer is curl: `curl -T file` (Content-Length known: Coffer streams it as an S3 multipart
upload) and `curl -o /dev/null`, to Coffer with a bearer token and to RGW on a presigned PUT URL
(boto3's signer) and on Coffer's own download-url. Coffer's VmRSS is sampled every 100 ms.
Writes the figures as JSON to PATH (default bench/results/s3_throughput-<time>.json).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (MiB, ROOT, CofferProcess, RssSampler, coffer_bin, curl, mib_s, print_table,  # noqa: E402
                          sha256_file, write_random_file, write_results)

TARGET_RATIO = 0.90
ACCESS_KEY = "TESTACCESSKEY0000001"  # start-ceph.sh's fixed test credentials
SECRET_KEY = "testsecretkey0000000000000000000000000001"


def start_ceph(port, store, memstore_gib):
    env = dict(os.environ, S3_PORT=str(port), CEPH_WITH_MGR="0", CEPH_OSD_STORE=store,
               CEPH_MEMSTORE_GIB=str(memstore_gib))
    out = subprocess.run([os.path.join(ROOT, "scripts", "start-ceph.sh")], env=env, capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit("start-ceph.sh failed:\n" + out.stderr[-3000:])
    exports = {}
    for line in out.stdout.splitlines():
        if line.startswith("export "):
            k, _, v = line[7:].partition("=")
            exports[k] = v.strip("'\"")
    return exports


def stop_ceph(port):
    subprocess.run([os.path.join(ROOT, "scripts", "stop-ceph.sh")], env=dict(os.environ, S3_PORT=str(port)),
                   capture_output=True, timeout=300)


def s3_client(endpoint):
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--json", metavar="PATH", help="where the figures go (default bench/results/s3_throughput-<time>.json)")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=1, help="repeat the four transfers; the best of each counts")
    ap.add_argument("--port", type=int, default=17780)
    ap.add_argument("--osd-store", default="memstore", choices=["memstore", "bluestore"])
    ap.add_argument("--endpoint", help="use this running RGW instead of starting one")
    ap.add_argument("--bucket", default="test-bucket")
    ap.add_argument("--workdir", default=None, help="where the source file goes (default: <build>/bench-tmp)")
    ap.add_argument("--coffer-env", action="append", default=[], metavar="K=V",
                    help="extra settings for coffer serve, e.g. COFFER_S3_PART_SIZE=16MiB")
    args = ap.parse_args()
    binary = coffer_bin(args.build)
    workdir = args.workdir or os.path.join(os.path.dirname(binary), "bench-tmp")
    os.makedirs(workdir, exist_ok=True)
    size = args.size_mib * MiB
    started_ceph = False
    scratch = tempfile.mkdtemp(prefix="s3-throughput-", dir=workdir)
    server = None
    try:
        if args.endpoint:
            endpoint, bucket = args.endpoint, args.bucket
        else:
            # Two objects of `size` per run, plus RGW's overhead and the objects deleted meanwhile.
            gib = max(4, (2 * args.runs * size) // (1 << 30) + 3)
            print(f"starting Ceph RGW on port {args.port} ({args.osd_store}) ...", flush=True)
            exports = start_ceph(args.port, args.osd_store, gib)
            started_ceph = True
            endpoint, bucket = exports["S3_ENDPOINT"], exports["S3_BUCKET"]
            os.environ.setdefault("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        prefix = f"bench-{uuid.uuid4().hex[:12]}"
        s3 = s3_client(endpoint)

        src = os.path.join(scratch, "source.bin")
        print(f"writing a {args.size_mib} MiB source file ...", flush=True)
        write_random_file(src, size)
        digest = sha256_file(src)

        coffer_env = {"COFFER_STORAGE_URL": f"s3://{bucket}/{prefix}", "COFFER_S3_PATH_STYLE": "true",
                      "AWS_ENDPOINT_URL_S3": endpoint, "AWS_REGION": "us-east-1",
                      "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
                      "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"]}
        for kv in args.coffer_env:
            k, _, v = kv.partition("=")
            coffer_env[k] = v
        server = CofferProcess(binary, env=coffer_env, workdir=workdir).start()
        auth = ["-H", f"Authorization: Bearer {server.token}"]
        # Warm-up: a small file each way (connections, pools, threads).
        small = os.path.join(scratch, "small.bin")
        write_random_file(small, 4 * MiB)
        _, w = curl("-X", "POST", "-T", small, *auth, "-H", "Content-Type: application/octet-stream",
                    f"{server.url}/api/v1/files?path=warmup.bin")
        curl("-o", "/dev/null", *auth, f"{server.url}/api/v1/files/{json.loads(w['body'])['id']}/download")
        time.sleep(0.5)

        runs = []
        with RssSampler(server.proc.pid) as rss:
            baseline = rss.now_kib()
            for run in range(args.runs):
                r = {}
                # Coffer: upload, then download of what it stored.
                t0 = time.monotonic()
                r["coffer_upload_s"], up = curl("-X", "POST", "-T", src, *auth,
                                                "-H", "Content-Type: application/octet-stream",
                                                f"{server.url}/api/v1/files?path=big-{run}.bin")
                f = json.loads(up["body"])
                assert f["size"] == size and f["sha256"] == digest, f
                t1 = time.monotonic()
                r["coffer_download_s"], down = curl("-o", "/dev/null", *auth,
                                                    f"{server.url}/api/v1/files/{f['id']}/download")
                assert down["downloaded"] == size
                t2 = time.monotonic()
                r["coffer_upload_rss_growth_mib"] = (rss.peak_kib(t0, t1) - baseline) / 1024
                r["coffer_download_rss_growth_mib"] = (rss.peak_kib(t1, t2) - baseline) / 1024
                # Direct: presigned PUT (boto3's signer) of the same file, presigned GET from Coffer.
                key = f"{prefix}-direct/{run}.bin"
                put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                                    ExpiresIn=3600)
                r["direct_upload_s"], _ = curl("-T", src, put_url)
                head = s3.head_object(Bucket=bucket, Key=key)
                assert head["ContentLength"] == size
                get = json.loads(curl("-X", "POST", *auth, "-H", "Content-Type: application/json",
                                      "--data", '{"expires_in": 3600}',
                                      f"{server.url}/api/v1/files/{f['id']}/download-url")[1]["body"])
                r["direct_download_s"], down = curl("-o", "/dev/null", get["url"])
                assert down["downloaded"] == size
                s3.delete_object(Bucket=bucket, Key=key)
                curl("-X", "DELETE", *auth, f"{server.url}/api/v1/files/{f['id']}")
                runs.append(r)
                print(f"run {run + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)

        best = {k: min(r[k] for r in runs) for k in runs[0] if k.endswith("_s")}
        growth = max(max(r["coffer_upload_rss_growth_mib"], r["coffer_download_rss_growth_mib"]) for r in runs)
        rate = {k[:-2] + "_mib_s": mib_s(size, v) for k, v in best.items()}
        up_ratio = rate["coffer_upload_mib_s"] / rate["direct_upload_mib_s"]
        down_ratio = rate["coffer_download_mib_s"] / rate["direct_download_mib_s"]
        results = {
            "benchmark": "s3_throughput",
            "size_bytes": size,
            "runs": runs,
            "best_seconds": best,
            "mib_s": {k: round(v, 1) for k, v in rate.items()},
            "upload_ratio": round(up_ratio, 3),
            "download_ratio": round(down_ratio, 3),
            "target_ratio": TARGET_RATIO,
            "coffer_baseline_rss_mib": round(baseline / 1024, 1),
            "coffer_rss_growth_mib": round(growth, 1),
            "osd_store": None if args.endpoint else args.osd_store,
            "coffer_env": {k: v for k, v in coffer_env.items() if k.startswith("COFFER_S3_")},
            "nproc": os.cpu_count(),
            "loadavg_at_end": os.getloadavg(),
        }
        print(f"\n{args.size_mib} MiB, Coffer on RGW vs curl straight to RGW on presigned URLs "
              f"(best of {args.runs}); Coffer VmRSS before: {baseline / 1024:.1f} MiB")
        print_table([
            ["upload", f"{rate['coffer_upload_mib_s']:.1f}", f"{rate['direct_upload_mib_s']:.1f}",
             f"{up_ratio:.0%}", f"{max(r['coffer_upload_rss_growth_mib'] for r in runs):+.1f}"],
            ["download", f"{rate['coffer_download_mib_s']:.1f}", f"{rate['direct_download_mib_s']:.1f}",
             f"{down_ratio:.0%}", f"{max(r['coffer_download_rss_growth_mib'] for r in runs):+.1f}"],
        ], ["transfer", "coffer MiB/s", "direct MiB/s", "coffer/direct", "coffer RSS growth MiB"])
        ok = up_ratio >= TARGET_RATIO and down_ratio >= TARGET_RATIO
        print(f"\ntarget coffer >= {TARGET_RATIO:.0%} of direct: {'ok' if ok else 'MISSED'}")
        print("results:", write_results("s3_throughput", results, args.json))
        return 0 if ok else 1
    finally:
        if server:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        if started_ceph:
            stop_ceph(args.port)


if __name__ == "__main__":
    sys.exit(main())
