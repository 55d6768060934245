#!/usr/bin/python3
"""Listing and file lookups with 1,000,000 files in one tenant, on PostgreSQL and on SQLite, beside
the same figures at 1,000 files (issue 7).

For each database and size it starts a Coffer node (local object store) on a fresh database -- a
schema of a throw-away PostgreSQL (scripts/pg-test-server.sh, a free port), or the node's own
SQLite file --, makes a tenant, uploads 100 files through the API and seeds the rest straight into
the `files` table with one INSERT ... SELECT (the metadata only: listing and GET
/api/v1/files/{id} never touch the objects). Then wrk (one connection, so the figures are
latencies, not queueing) measures:

  list_start   GET /api/v1/files/?limit=100                      the first page
  list_middle  GET /api/v1/files/?limit=100&cursor=<at N/2>      a page in the middle
  list_end     GET /api/v1/files/?limit=100&cursor=<at N-100>    the last page
  get_file     GET /api/v1/files/{id}                            1000 random ids of the tenant

The cursors are the API's own: a walk through the whole listing (pages of 1000) collects them.
Prints a table (milliseconds) and writes JSON (--json PATH; default bench/results/).

Usage: bench/list_1m.py [--build build] [--databases pg,sqlite] [--files 1000000]
                        [--baseline 1000] [--duration 5] [--json PATH]
Needs: wrk, PostgreSQL 15 (Debian), a release build of coffer (scripts/install-deps.sh bench).
"""
import argparse
import datetime
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.parse

import requests

from bench_common import CofferProcess, coffer_bin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_SCRIPT = os.path.join(ROOT, "scripts", "pg-test-server.sh")
API = "/api/v1"

WRK_SCRIPT = r"""
-- Sends the bearer token; rotates through the request paths in BENCH_PATHS, one per line.
local token = os.getenv("BENCH_TOKEN")
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer " .. token})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "errors": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Postgres:
    def __init__(self):
        self.port = None
        self.url = None

    def __enter__(self):
        out = subprocess.run([PG_SCRIPT, "start"], env=dict(os.environ, PG_PORT="0"), check=True,
                             capture_output=True, text=True).stdout.strip()
        self.url = out
        self.port = urllib.parse.urlsplit(out).port
        return self

    def __exit__(self, *exc):
        subprocess.run([PG_SCRIPT, "stop"], env=dict(os.environ, PG_PORT=str(self.port)), check=False)

    def psql(self, sql, url=None):
        r = subprocess.run(["psql", url or self.url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}\n{sql}")
        return r.stdout.strip()


def seeded_bytes(count):
    return sum(1000 + g % 9000 for g in range(count))


class PgDatabase:
    """A schema of the throw-away PostgreSQL per measurement."""
    name = "postgresql"

    def __init__(self, pg):
        self.pg = pg
        self.schema_url = None
        self.schema = None

    def node_env(self, count):
        self.schema = f"bench_{count}"
        self.pg.psql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE; CREATE SCHEMA {self.schema}")
        self.schema_url = self.pg.url + "?options=" + urllib.parse.quote(f"-c search_path={self.schema}", safe="")
        return {"COFFER_DATABASE_URL": self.schema_url}

    def attach(self, coffer):
        pass

    def query(self, sql):
        return self.pg.psql(sql, url=self.schema_url)

    def seed(self, tenant_id, owner_id, count):
        """`count` file rows: 1000 to a folder, id-shaped random ids, bytewise-ordered paths."""
        self.pg.psql(f"""
            INSERT INTO files (id, tenant_id, path, size, content_type, sha256, object_key, version,
                               owner_id, created_at, updated_at)
            SELECT translate(substr(md5('id' || g), 1, 26), '0189', 'wxyz'), '{tenant_id}',
                   'seed/' || lpad((g / 1000)::text, 4, '0') || '/file-' || lpad(g::text, 7, '0') || '.bin',
                   1000 + g % 9000, 'application/octet-stream', md5('a' || g) || md5('b' || g),
                   '{tenant_id}/seed/' || g, 1, '{owner_id}', extract(epoch from now())::bigint,
                   extract(epoch from now())::bigint
            FROM generate_series(0, {count - 1}) AS g;
            UPDATE tenants SET used_files = used_files + {count}, used_bytes = used_bytes + {seeded_bytes(count)}
            WHERE id = '{tenant_id}';
        """, url=self.schema_url)
        self.pg.psql("VACUUM ANALYZE files", url=self.schema_url)  # not in the transaction of -c

    def random_ids(self, n):
        return self.query(f"SELECT id FROM files ORDER BY random() LIMIT {n}").split()

    def drop(self):
        self.pg.psql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


class SqliteDatabase:
    """The node's own SQLite file (the embedded default), written beside the running node."""
    name = "sqlite"

    def __init__(self):
        self.path = None

    def node_env(self, count):
        return {}

    def attach(self, coffer):
        self.path = os.path.join(coffer.env["COFFER_DATA_DIR"], "coffer.db")

    def _connect(self):
        db = sqlite3.connect(self.path, timeout=60)
        db.execute("PRAGMA busy_timeout = 60000")
        return db

    def query(self, sql):
        db = self._connect()
        try:
            return "\n".join("|".join(str(v) for v in row) for row in db.execute(sql).fetchall())
        finally:
            db.close()

    def seed(self, tenant_id, owner_id, count):
        db = self._connect()
        try:
            with db:
                db.execute(f"""
                    WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < {count - 1})
                    INSERT INTO files (id, tenant_id, path, size, content_type, sha256, object_key, version,
                                       owner_id, created_at, updated_at)
                    SELECT replace(replace(replace(replace(lower(hex(randomblob(13))), '0', 'w'), '1', 'x'),
                                           '8', 'y'), '9', 'z'),
                           '{tenant_id}', printf('seed/%04d/file-%07d.bin', x / 1000, x), 1000 + x % 9000,
                           'application/octet-stream', lower(hex(randomblob(32))), '{tenant_id}/seed/' || x,
                           1, '{owner_id}', unixepoch(), unixepoch()
                    FROM g""")
                db.execute(f"UPDATE tenants SET used_files = used_files + {count}, "
                           f"used_bytes = used_bytes + {seeded_bytes(count)} WHERE id = '{tenant_id}'")
            db.execute("ANALYZE")
        finally:
            db.close()

    def random_ids(self, n):
        return self.query(f"SELECT id FROM files ORDER BY random() LIMIT {n}").split()

    def drop(self):
        pass  # the node's directory goes with it


def walk(coffer, token, total):
    """Cursors before the first page, the middle one and the last one, by walking the listing."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    middle_at, end_at = total // 2, max(total - 100, 0)
    seen, cursor, cursors = 0, None, {"list_start": None}
    started = time.time()
    while True:
        want = 1000
        for target in (middle_at, end_at):  # stop exactly at the positions wanted
            if seen < target:
                want = min(want, target - seen)
        params = {"limit": want}
        if cursor:
            params["cursor"] = cursor
        r = session.get(f"{coffer.url}{API}/files/", params=params, timeout=60)
        r.raise_for_status()
        page = r.json()
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if seen == middle_at and "list_middle" not in cursors:
            cursors["list_middle"] = cursor
        if seen == end_at and "list_end" not in cursors:
            cursors["list_end"] = cursor
        if not cursor:
            break
    assert seen == total, (seen, total)
    return cursors, time.time() - started


def run_wrk(url_base, token, paths, duration, tmp):
    paths_file = os.path.join(tmp, "paths.txt")
    with open(paths_file, "w") as f:
        f.write("\n".join(paths) + "\n")
    script = os.path.join(tmp, "bench.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    env = dict(os.environ, BENCH_TOKEN=token, BENCH_PATHS=paths_file)
    out = subprocess.run(["wrk", "-t1", "-c1", f"-d{duration}s", "--timeout", "10s", "-s", script, url_base],
                         env=env, check=True, capture_output=True, text=True).stdout
    m = re.search(r"^BENCH (\{.*\})$", out, re.M)
    if not m:
        raise RuntimeError("wrk said:\n" + out)
    result = json.loads(m.group(1))
    if result["errors"]:
        raise RuntimeError(f"wrk saw {result['errors']} errors:\n{out}")
    return result


def measure(database, binary, count, duration, through_api=100):
    coffer = CofferProcess(binary, env={"COFFER_GC_INTERVAL": "1h", **database.node_env(count)})
    try:
        coffer.start()  # tenant "bench" with its admin "boss"
        database.attach(coffer)
        token = coffer.command("token", "--tenant", "bench", "--user", "boss", "--ttl", "4h")
        tenant_id = database.query("SELECT id FROM tenants WHERE slug = 'bench'")
        owner_id = database.query("SELECT id FROM users WHERE username = 'boss'")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        through_api = min(through_api, count)
        for i in range(through_api):  # real files, with objects, among the seeded ones
            r = session.post(f"{coffer.url}{API}/files/?path=api/{i:04d}.txt", data=f"file {i}".encode(),
                             headers={"Content-Type": "text/plain"}, timeout=60)
            r.raise_for_status()
        label = f"{database.name}, {count} files"
        started = time.time()
        database.seed(tenant_id, owner_id, count - through_api)
        seed_seconds = time.time() - started
        log(f"{label}: seeded {count - through_api} rows in {seed_seconds:.1f}s")
        cursors, walk_seconds = walk(coffer, token, count)
        log(f"{label}: walked the whole listing in {walk_seconds:.1f}s")
        ids = database.random_ids(1000)
        scenarios = {
            name: [f"{API}/files/?limit=100" + (f"&cursor={urllib.parse.quote(c)}" if c else "")]
            for name, c in cursors.items()
        }
        scenarios["get_file"] = [f"{API}/files/{i}" for i in ids]
        results = {"database": database.name, "files": count, "seed_seconds": round(seed_seconds, 1),
                   "walk_seconds": round(walk_seconds, 1)}
        for name in ("list_start", "list_middle", "list_end", "get_file"):
            paths = scenarios[name]
            check = session.get(coffer.url + paths[0], timeout=60)
            check.raise_for_status()
            if name.startswith("list"):
                assert len(check.json()["items"]) == 100, (name, len(check.json()["items"]))
            run_wrk(coffer.url, token, paths, 1, coffer.dir)  # warm-up
            results[name] = run_wrk(coffer.url, token, paths, duration, coffer.dir)
            log(f"{label}: {name}: p50 {results[name]['p50_us'] / 1000:.2f} ms, "
                f"p99 {results[name]['p99_us'] / 1000:.2f} ms ({results[name]['requests']} requests)")
        return results
    finally:
        coffer.stop()
        database.drop()


def table(runs):
    """Latencies in ms, one column pair per file count."""
    lines = ["| figure | " + " | ".join(f"{r['database']}, {r['files']:,} files: p50 / p99 (ms)" for r in runs) + " |",
             "| --- |" + " --- |" * len(runs)]
    for name in ("list_start", "list_middle", "list_end", "get_file"):
        cells = [f"{r[name]['p50_us'] / 1000:.2f} / {r[name]['p99_us'] / 1000:.2f}" for r in runs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build", help="build directory (relative to the repository)")
    parser.add_argument("--databases", default="pg,sqlite", help="comma-separated: pg, sqlite")
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per figure")
    parser.add_argument("--json", dest="json_path", help="where to write the results (JSON); "
                        "default bench/results/list_1m-<UTC time>.json")
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if not databases or set(databases) - {"pg", "sqlite"}:
        parser.error("--databases takes pg and/or sqlite")
    if min(args.files, args.baseline) < 200:
        parser.error("--files and --baseline must be at least 200 (a page of 100 at the middle and the end)")
    for tool in ("wrk", "psql"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: scripts/install-deps.sh bench")
    binary = coffer_bin(args.build)

    runs = []
    sizes = (args.baseline, args.files)
    if "pg" in databases:
        with Postgres() as pg:
            runs += [measure(PgDatabase(pg), binary, n, args.duration) for n in sizes]
    if "sqlite" in databases:
        runs += [measure(SqliteDatabase(), binary, n, args.duration) for n in sizes]

    print(table(runs))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = args.json_path or os.path.join(ROOT, "bench", "results", f"list_1m-{stamp}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"benchmark": "list_1m", "at": stamp, "duration_s": args.duration, "connections": 1,
                   "runs": runs}, f, indent=2)
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
