#!/usr/bin/python3
"""Issue 4's benchmark: a 2 GiB file uploaded to and downloaded from Coffer on the embedded
default (SQLite + local directory), with the server's resident memory sampled every 100 ms, beside
a plain `cp` of the same file on the same disk.

    /usr/bin/python3 bench/fs_memory.py [--build build] [--size-mib 2048] [--workdir DIR] [--json PATH]

Prints a table and writes the figures as JSON to PATH (default bench/results/fs_memory-<time>.json).
Target: RSS growth < 32 MiB. The growth is the peak VmRSS during the transfers minus VmRSS just
before them (after a small warm-up upload and download, so the pools and threads the server keeps
anyway are counted in the baseline). The source file, the stored object and the downloaded copy all live under --workdir
(default: the build directory, i.e. this disk); they are removed at the end.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (MiB, CofferProcess, RssSampler, coffer_bin, curl, mib_s, print_table,  # noqa: E402
                          sha256_file, write_random_file, write_results)

TARGET_GROWTH_MIB = 32


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--json", metavar="PATH", help="where the figures go (default bench/results/fs_memory-<time>.json)")
    ap.add_argument("--size-mib", type=int, default=2048)
    ap.add_argument("--workdir", default=None, help="where the files go (default: <build>/bench-tmp)")
    args = ap.parse_args()
    binary = coffer_bin(args.build)
    workdir = args.workdir or os.path.join(os.path.dirname(binary), "bench-tmp")
    os.makedirs(workdir, exist_ok=True)
    size = args.size_mib * MiB
    scratch = tempfile.mkdtemp(prefix="fs-memory-", dir=workdir)
    server = CofferProcess(binary, workdir=workdir)
    try:
        src = os.path.join(scratch, "source.bin")
        print(f"writing a {args.size_mib} MiB source file under {scratch} ...", flush=True)
        write_random_file(src, size)
        digest = sha256_file(src)

        # cp of the same file on this disk: as it lands in the page cache, and with its fsync.
        t0 = time.monotonic()
        subprocess.run(["cp", src, os.path.join(scratch, "cp.bin")], check=True)
        cp_s = time.monotonic() - t0
        subprocess.run(["sync", "-f", os.path.join(scratch, "cp.bin")], check=True)
        cp_sync_s = time.monotonic() - t0
        os.remove(os.path.join(scratch, "cp.bin"))

        server.start()
        auth = ["-H", f"Authorization: Bearer {server.token}"]
        # Warm-up: one small upload and download, so the baseline holds what the server keeps anyway.
        small = os.path.join(scratch, "small.bin")
        write_random_file(small, 4 * MiB)
        _, w = curl("-X", "POST", "-T", small, "-H", "Content-Type: application/octet-stream", *auth,
                    f"{server.url}/api/v1/files?path=warmup.bin")
        warm_id = json.loads(w["body"])["id"]
        curl("-o", "/dev/null", *auth, f"{server.url}/api/v1/files/{warm_id}/download")
        time.sleep(0.5)

        with RssSampler(server.proc.pid) as rss:
            baseline = rss.now_kib()
            t_up0 = time.monotonic()
            up_s, up = curl("-X", "POST", "-T", src, "-H", "Content-Type: application/octet-stream", *auth,
                            f"{server.url}/api/v1/files?path=big.bin")
            t_up1 = time.monotonic()
            f = json.loads(up["body"])
            assert f["size"] == size and f["sha256"] == digest, f
            out = os.path.join(scratch, "downloaded.bin")
            down_s, down = curl("-o", out, *auth, f"{server.url}/api/v1/files/{f['id']}/download")
            t_down1 = time.monotonic()
            time.sleep(0.3)
        assert down["downloaded"] == size
        assert sha256_file(out) == digest, "the downloaded bytes differ"
        peak_up = rss.peak_kib(t_up0, t_up1)
        peak_down = rss.peak_kib(t_up1, t_down1)
        growth_mib = (max(peak_up, peak_down) - baseline) / 1024
        results = {
            "benchmark": "fs_memory",
            "size_bytes": size,
            "baseline_rss_mib": round(baseline / 1024, 1),
            "peak_rss_upload_mib": round(peak_up / 1024, 1),
            "peak_rss_download_mib": round(peak_down / 1024, 1),
            "rss_growth_mib": round(growth_mib, 1),
            "rss_growth_target_mib": TARGET_GROWTH_MIB,
            "rss_samples": len(rss.samples),
            "upload_seconds": round(up_s, 2),
            "upload_mib_s": round(mib_s(size, up_s), 1),
            "download_seconds": round(down_s, 2),
            "download_mib_s": round(mib_s(size, down_s), 1),
            "cp_seconds": round(cp_s, 2),
            "cp_mib_s": round(mib_s(size, cp_s), 1),
            "cp_sync_seconds": round(cp_sync_s, 2),
            "cp_sync_mib_s": round(mib_s(size, cp_sync_s), 1),
            "nproc": os.cpu_count(),
            "loadavg_at_end": os.getloadavg(),
        }
        rows = [
            ["coffer upload (curl -T, raw body)", f"{up_s:.2f}", f"{results['upload_mib_s']:.1f}",
             f"{(peak_up - baseline) / 1024:+.1f}"],
            ["coffer download (curl -o file)", f"{down_s:.2f}", f"{results['download_mib_s']:.1f}",
             f"{(peak_down - baseline) / 1024:+.1f}"],
            ["cp (page cache)", f"{cp_s:.2f}", f"{results['cp_mib_s']:.1f}", ""],
            ["cp + sync", f"{cp_sync_s:.2f}", f"{results['cp_sync_mib_s']:.1f}", ""],
        ]
        print(f"\n{args.size_mib} MiB on the embedded default (SQLite + fs); server VmRSS before: "
              f"{baseline / 1024:.1f} MiB")
        print_table(rows, ["transfer", "seconds", "MiB/s", "RSS growth MiB"])
        verdict = "ok" if growth_mib < TARGET_GROWTH_MIB else "MISSED"
        print(f"\nRSS growth {growth_mib:.1f} MiB (target < {TARGET_GROWTH_MIB} MiB): {verdict}")
        print("results:", write_results("fs_memory", results, args.json))
        return 0 if growth_mib < TARGET_GROWTH_MIB else 1
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
