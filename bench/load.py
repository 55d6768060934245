"""The request-rate benchmark of issue 8: Coffer started on each backend, seeded, and measured with
wrk (bench/wrk/route.lua) route by route at 64 connections, each route as a ratio to /healthz of
the same run (the ceiling of this machine). Also: resident memory under load, 10,000 idle
keep-alive connections, and req/s at 1,024 connections against 64.

    /usr/bin/python3 bench/load.py [--build build] [--duration 10] [--backends sqlite,pg] [--json F]

Prints a table; the same figures go to --json (default bench/results/load-<time>.json)."""
import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time

import requests

from bench_common import HERE, ROOT, CofferProcess, RssSampler, coffer_bin, print_table, vm_rss_kib

API = "/api/v1"
ROUTE_LUA = os.path.join(HERE, "wrk", "route.lua")
LIST_FILES = 1000

# route name → (target share of the /healthz ceiling, per backend; None: no target)
TARGETS = {
    ("sqlite", "get_file"): 0.60,
    ("sqlite", "list_100"): 0.15,
    ("sqlite", "download_url"): 0.50,
    ("pg", "get_file"): 0.30,
}
P99_TARGET_MS = 10.0
P99_ROUTES = ("get_file", "list_100", "download_url")


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wrk(url, connections, duration, threads=2, env=None):
    """Runs wrk with route.lua; returns its BENCH_JSON figures plus req/s."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
                          "-s", ROUTE_LUA, url], env=full_env, capture_output=True, text=True,
                         timeout=duration + 120, preexec_fn=raise_fd_limit)
    m = re.search(r"^BENCH_JSON (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    figures = json.loads(m.group(1))
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


class Seeded:
    """A running Coffer with one editor, a 4 KiB file and LIST_FILES files under list/."""

    def __init__(self, coffer):
        self.coffer = coffer
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {coffer.token}"
        self.file_id = self.upload("bench/file-4k.bin", b"x" * 4096)["id"]
        for i in range(LIST_FILES):
            self.upload(f"list/item-{i:05d}.txt", b"listed")

    def upload(self, path, body):
        r = self.http.post(f"{self.coffer.url}{API}/files/", params={"path": path}, data=body,
                           headers={"Content-Type": "application/octet-stream"})
        r.raise_for_status()
        return r.json()

    def routes(self):
        """name → wrk environment of each measured route."""
        token = self.coffer.token
        fid = self.file_id
        return {
            "healthz": {"BENCH_PATH": "/healthz"},
            "get_file": {"BENCH_PATH": f"{API}/files/{fid}", "BENCH_TOKEN": token},
            "list_100": {"BENCH_PATH": f"{API}/files/?prefix=list/&limit=100", "BENCH_TOKEN": token},
            "download_4k": {"BENCH_PATH": f"{API}/files/{fid}/download", "BENCH_TOKEN": token},
            "upload_4k": {"BENCH_PATH": f"{API}/files/?path=uploads/", "BENCH_METHOD": "POST", "BENCH_UNIQUE": "1",
                          "BENCH_BODY_BYTES": "4096", "BENCH_CONTENT_TYPE": "application/octet-stream",
                          "BENCH_TOKEN": token},
            "download_url": {"BENCH_PATH": f"{API}/files/{fid}/download-url", "BENCH_METHOD": "POST",
                             "BENCH_TOKEN": token},
        }


def check_route(seeded, env):
    """One request of the route by hand: a route that fails would only measure error answers."""
    method = env.get("BENCH_METHOD", "GET")
    path = env["BENCH_PATH"] + ("check-0" if env.get("BENCH_UNIQUE") else "")
    headers = {"Authorization": f"Bearer {env['BENCH_TOKEN']}"} if "BENCH_TOKEN" in env else {}
    body = b"b" * int(env.get("BENCH_BODY_BYTES", "0"))
    r = requests.request(method, seeded.coffer.url + path, data=body or None, headers=headers)
    if r.status_code >= 300:
        raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.text}")


def hold_idle_connections(url_port, count):
    """Opens `count` keep-alive connections, one request on each; returns the open sockets."""
    held = []
    request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", url_port))
        s.sendall(request)
        held.append(s)
    for s in held:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("server closed an idle connection during the test")
            data += chunk
        if not data.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected answer {data[:60]!r}")
    return held


def measure_backend(name, binary, env, duration):
    """All route figures of one backend."""
    coffer = CofferProcess(binary, env=env).start()
    result = {"backend": name, "routes": {}}
    try:
        seeded = Seeded(coffer)
        routes = seeded.routes()
        for env_route in routes.values():
            check_route(seeded, env_route)
        baseline_kib = vm_rss_kib(coffer.proc.pid)
        with RssSampler(coffer.proc.pid) as rss:
            for route, route_env in routes.items():
                figures = wrk(coffer.url, 64, duration, env=route_env)
                result["routes"][route] = figures
                print(f"  {name:6} {route:13} {figures['rps']:9.0f} req/s  p99 {figures['p99_us'] / 1000:.2f} ms",
                      file=sys.stderr)
            result["rss_idle_mib"] = baseline_kib / 1024
            result["rss_peak_under_load_mib"] = rss.peak_kib() / 1024
        if name == "sqlite":
            wide = wrk(coffer.url, 1024, duration, env=routes["get_file"])
            result["get_file_1024_connections"] = wide
            before = vm_rss_kib(coffer.proc.pid)
            held = hold_idle_connections(coffer.port, 10_000)
            time.sleep(1)
            after = vm_rss_kib(coffer.proc.pid)
            for s in held:
                s.close()
            result["idle_10k"] = {"rss_before_mib": before / 1024, "rss_with_10k_idle_mib": after / 1024}
    finally:
        coffer.stop()
    return result


class PgAndRgw:
    """The PostgreSQL test server and a Ceph RGW of scripts/, on ports of their own."""

    S3_PORT = "17780"

    def __enter__(self):
        self.pg_env = dict(os.environ, PG_PORT="0", PG_DIR="/tmp/coffer-bench-pg")
        url = subprocess.run([os.path.join(ROOT, "scripts/pg-test-server.sh"), "start"], env=self.pg_env,
                             capture_output=True, text=True, check=True).stdout.strip()
        self.s3_env = dict(os.environ, S3_PORT=self.S3_PORT, S3_BUCKET="bench-bucket")
        exports = subprocess.run([os.path.join(ROOT, "scripts/start-ceph.sh")], env=self.s3_env,
                                 capture_output=True, text=True, check=True).stdout
        s3 = dict(re.findall(r"export (\w+)=['\"]?([^'\"\n]*)", exports))
        self.env = {
            "COFFER_DATABASE_URL": url,
            "COFFER_STORAGE_URL": "s3://bench-bucket/coffer",
            "COFFER_S3_PATH_STYLE": "true",
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{self.S3_PORT}",
            "AWS_ACCESS_KEY_ID": s3.get("AWS_ACCESS_KEY_ID", ""),
            "AWS_SECRET_ACCESS_KEY": s3.get("AWS_SECRET_ACCESS_KEY", ""),
            "AWS_REGION": s3.get("AWS_REGION", s3.get("AWS_DEFAULT_REGION", "us-east-1")),
        }
        return self

    def __exit__(self, *exc):
        subprocess.run([os.path.join(ROOT, "scripts/stop-ceph.sh")], env=self.s3_env, capture_output=True)
        subprocess.run([os.path.join(ROOT, "scripts/pg-test-server.sh"), "stop"], env=self.pg_env,
                       capture_output=True)


def with_ratios(backend):
    ceiling = backend["routes"]["healthz"]["rps"]
    for route, figures in backend["routes"].items():
        figures["ratio_to_healthz"] = figures["rps"] / ceiling
        target = TARGETS.get((backend["backend"], route))
        checks = []
        if target is not None:
            checks.append(figures["ratio_to_healthz"] >= target)
            figures["target_ratio"] = target
        if route in P99_ROUTES and backend["backend"] == "sqlite":
            checks.append(figures["p99_us"] / 1000 < P99_TARGET_MS)
        figures["target_met"] = all(checks) if checks else None
    backend["checks"] = other_checks(backend)
    return backend


def other_checks(backend):
    """The targets that are not a route's share of the ceiling: memory and many connections."""
    checks = [{"name": "RSS under load (MiB)", "value": backend["rss_peak_under_load_mib"], "target": "<= 64",
               "met": backend["rss_peak_under_load_mib"] <= 64}]
    if "get_file_1024_connections" in backend:
        ratio = backend["get_file_1024_connections"]["rps"] / backend["routes"]["get_file"]["rps"]
        checks.append({"name": "get_file req/s at 1024 connections / at 64", "value": ratio, "target": ">= 0.80",
                       "met": ratio >= 0.80})
    if "idle_10k" in backend:
        rss = backend["idle_10k"]["rss_with_10k_idle_mib"]
        checks.append({"name": "RSS with 10,000 idle keep-alive connections (MiB)", "value": rss,
                       "target": "<= 200", "met": rss <= 200})
    return checks


def table(backends):
    rows = []
    for b in backends:
        for route, f in b["routes"].items():
            target = f"≥{f['target_ratio']:.0%}" if "target_ratio" in f else ""
            met = {True: "yes", False: "NO", None: ""}[f["target_met"]]
            rows.append([b["backend"], route, f"{f['rps']:.0f}", f"{f['p50_us'] / 1000:.2f}",
                         f"{f['p99_us'] / 1000:.2f}", f"{f['ratio_to_healthz']:.0%}", target, met,
                         f["non_2xx"] + f["socket_errors"]])
    print_table(rows, ["backend", "route", "req/s", "p50 ms", "p99 ms", "of healthz", "target", "met", "errors"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--backends", default="sqlite,pg")
    parser.add_argument("--json", help="where to write the figures")
    args = parser.parse_args()
    raise_fd_limit()
    binary = coffer_bin(args.build)
    # Coffer as deployed: the access log on (written to a file), the collector idle.
    quiet = {"COFFER_ACCESS_LOG": "true", "COFFER_GC_INTERVAL": "1h"}
    backends = []
    for name in args.backends.split(","):
        print(f"== {name}", file=sys.stderr)
        if name == "sqlite":
            backends.append(measure_backend(name, binary, quiet, args.duration))
        elif name == "pg":
            with PgAndRgw() as servers:
                backends.append(measure_backend(name, binary, {**quiet, **servers.env}, args.duration))
        else:
            raise SystemExit(f"unknown backend {name}")
    backends = [with_ratios(b) for b in backends]
    table(backends)
    for b in backends:
        for c in b["checks"]:
            print(f"{b['backend']}: {c['name']}: {c['value']:.2f} (target {c['target']}: "
                  f"{'yes' if c['met'] else 'NO'})")
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "duration_s": args.duration,
              "connections": 64, "backends": backends}
    path = args.json or os.path.join(HERE, "results", f"load-{time.strftime('%Y%m%dT%H%M%S')}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"figures written to {path}")


if __name__ == "__main__":
    main()
