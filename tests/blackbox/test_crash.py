"""Crash safety (issue 4, DESIGN.md "The consistency protocol").

Client threads upload (raw, chunked, multipart), overwrite, rename, delete and read files without
pause while the server is SIGKILLed at random moments and restarted on the same data directory and
port, again and again; in the first half `coffer gc` also runs beside the live server. The clients
take nothing as truth: a request whose answer was lost may or may not have happened. Afterwards the
only truth is what the server lists, and the test proves DESIGN.md's two invariants on it:

1. every listed file downloads with exactly its recorded size and sha256;
2. the tenant's used_bytes/used_files equal the sum of the listed files;
3. after the upload TTL and `coffer gc`, the objects in the store are exactly the object keys of the
   committed files: none unreferenced, none missing; the queue and the intents are drained; the
   temporary files killed uploads left behind are never listed as objects and the store sweeps
   them once they are old.

Before gc it also checks invariant 2 as it stands after the crashes: every object is referenced by a
file, an upload intent or the deletion queue.

A SIGKILL keeps the kernel's page cache, so this test cannot see a missing fsync (that needs a
power cut). What it catches are ordering mistakes between the store and the database, such as an
object written without its intent, a usage update outside the commit, or a replaced object that is
not queued (each tried: the test fails).

It runs on either backend (coffer_server.py, COFFER_TEST_STORAGE); the store is looked at only
through CofferServer.store. On S3 the files here (at most 3 MiB) go as single streaming PUTs, which
a kill leaves as nothing at all; unfinished multipart uploads are covered by test_s3_backend.py.

Knobs: COFFER_CRASH_KILLS (default 60), COFFER_CRASH_SEED (default: random, printed).
"""
import hashlib
import os
import random
import threading
import time
import traceback
import uuid
from collections import Counter

import http.client

import requests
import urllib3

from coffer_server import CofferServer

KILLS = int(os.environ.get("COFFER_CRASH_KILLS", "60"))
SEED = int(os.environ.get("COFFER_CRASH_SEED", str(random.randrange(1 << 30))))
CLIENTS = 4  # three as the tenant admin, one as an editor (who works on the files it owns)
# Short, but far above any one upload here: an intent that expires while its upload still streams
# would let the collector take the object's key away from under it.
UPLOAD_TTL_S = 4
REQUEST_TIMEOUT = 15
MiB = 1024 * 1024
# What a request to a server that dies under it raises. requests 2.28 lets urllib3's and
# http.client's own exceptions through when the body is a generator (chunked).
CONNECTION_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                     OSError)

SERVER_ENV = {
    # An abandoned upload's intent expires quickly, so `coffer gc` can take its object soon after.
    "COFFER_UPLOAD_TTL": f"{UPLOAD_TTL_S}s",
    # Replaced and deleted objects are due at once, and the background collector runs often: its
    # claims, removals and completions get killed too.
    "COFFER_GC_GRACE": "0s",
    "COFFER_GC_INTERVAL": "100ms",
    "COFFER_ACCESS_LOG": "false",
}


# --- the store, read directly (the server is stopped when these run) ---------------------------------

def store_objects(server):
    """Keys of the objects in the store (either backend; coffer_server.StoreView)."""
    return server.store.keys()


def temp_files(server):
    """fs: the temporary files of puts in progress, by name with their stat; s3: the unfinished
    multipart uploads (which are not objects either), by "key upload-id" with None."""
    if server.store.kind != "fs":
        return {name: None for name in server.store.incomplete()}
    tmp = os.path.join(server.store.root, "tmp")
    return {name: os.stat(os.path.join(tmp, name)) for name in os.listdir(tmp)}


# --- clients -----------------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.attempted = Counter()
        self.succeeded = Counter()
        self.statuses = Counter()  # "op status" → count
        self.connection_errors = 0
        self.violations = []  # answers that break an invariant on the spot
        self.unexpected = []  # exceptions in the client code itself

    def record(self, op, status, ok):
        with self.lock:
            self.attempted[op] += 1
            self.statuses[f"{op} {status}"] += 1
            if ok:
                self.succeeded[op] += 1

    def connection_error(self, op):
        with self.lock:
            self.attempted[op] += 1
            self.connection_errors += 1

    def violation(self, text):
        with self.lock:
            self.violations.append(text)


def random_size(rng):
    r = rng.random()
    if r < 0.05:
        return 0
    if r < 0.40:
        return rng.randint(1, 4096)
    if r < 0.75:
        return rng.randint(4097, 256 * 1024)
    return rng.randint(256 * 1024 + 1, 3 * MiB)


def random_path(rng):
    # A small namespace, so uploads collide (409), overwrites and renames find files, and renames
    # run into taken paths.
    top = rng.choice(["a", "b", "c", "deep/er/still"])
    return f"{top}/f{rng.randrange(40)}.bin"


def chunks_of(data, rng):
    size = rng.choice([1000, 16 * 1024, 64 * 1024])
    for i in range(0, len(data), size):
        yield data[i:i + size]


class Client(threading.Thread):
    def __init__(self, server, token, name, seed, stop, stats):
        super().__init__(name=name, daemon=True)
        self.server, self.token, self.stop, self.stats = server, token, stop, stats
        self.rng = random.Random(seed)
        self.known = {}  # id → (path, etag): hints from recent answers, never truth
        self.session = requests.Session()

    def run(self):
        while not self.stop.is_set():
            ops = ["upload", "overwrite", "rename", "delete", "list", "download"]
            op = self.rng.choices(ops, weights=[35, 20, 12, 10, 8, 15])[0]
            if op != "upload" and op != "list" and not self.known:
                op = "upload" if self.rng.random() < 0.7 else "list"
            try:
                getattr(self, op)()
            except CONNECTION_ERRORS:
                # The server died under this request: its effect is unknown, which is allowed.
                self.stats.connection_error(op)
                self.session.close()
                self.session = requests.Session()
                time.sleep(self.rng.uniform(0.005, 0.05))
            except Exception:  # a bug in this test, not in the server: report it
                self.stats.unexpected.append(traceback.format_exc())
                time.sleep(0.05)

    def request(self, method, path, **kw):
        headers = kw.pop("headers", {})
        headers["Authorization"] = f"Bearer {self.token}"
        return self.session.request(method, self.server.url + path, headers=headers,
                                    timeout=REQUEST_TIMEOUT, **kw)

    def pick(self):
        file_id = self.rng.choice(list(self.known))
        return file_id, self.known[file_id]

    # -- writes -----------------------------------------------------------------------------------
    def upload(self, path=None, overwrite=False, if_match=None):
        op = "overwrite" if overwrite else "upload"
        path = path or random_path(self.rng)
        data = os.urandom(random_size(self.rng))
        digest = hashlib.sha256(data).hexdigest()
        params = {"overwrite": "true"} if overwrite else {}
        headers = {}
        if if_match:
            headers["If-Match"] = if_match
        if self.rng.random() < 0.3:
            headers["X-Checksum-Sha256"] = digest
        style = self.rng.choice(["raw", "chunked", "multipart", "multipart-path-last"])
        if style == "raw":
            headers["Content-Type"] = "application/octet-stream"
            r = self.request("POST", "/api/v1/files/", params={"path": path, **params}, data=data,
                             headers=headers)
        elif style == "chunked":
            headers["Content-Type"] = "application/octet-stream"
            r = self.request("POST", "/api/v1/files/", params={"path": path, **params},
                             data=chunks_of(data, self.rng), headers=headers)
        elif style == "multipart":
            r = self.request("POST", "/api/v1/files/", params=params, data={"path": path},
                             files={"file": ("upload.bin", data, "application/octet-stream")},
                             headers=headers)
        else:  # the path field after the file part, sent chunked
            boundary = uuid.uuid4().hex
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                    f"filename=\"x.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
            body += data + (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n"
                            f"{path}\r\n--{boundary}--\r\n").encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            r = self.request("POST", "/api/v1/files/", params=params, data=chunks_of(body, self.rng),
                             headers=headers)
        self.stats.record(op, r.status_code, r.status_code == 201)
        if r.status_code == 201:
            f = r.json()
            if f["size"] != len(data) or f["sha256"] != digest or f["path"] != path:
                self.stats.violation(f"{op} ({style}) of {len(data)} bytes sha256 {digest} to {path} "
                                     f"answered {f}")
            self.known[f["id"]] = (f["path"], f["etag"])

    def overwrite(self):
        file_id, (path, etag) = self.pick()
        self.upload(path=path, overwrite=True, if_match=etag if self.rng.random() < 0.2 else None)

    def rename(self):
        file_id, (path, etag) = self.pick()
        new_path = random_path(self.rng).replace(".bin", ".moved")
        r = self.request("PATCH", f"/api/v1/files/{file_id}", json={"path": new_path})
        self.stats.record("rename", r.status_code, r.status_code == 200)
        if r.status_code == 200:
            f = r.json()
            self.known[file_id] = (f["path"], f["etag"])
        elif r.status_code == 404:
            self.known.pop(file_id, None)

    def delete(self):
        file_id, _ = self.pick()
        r = self.request("DELETE", f"/api/v1/files/{file_id}")
        self.stats.record("delete", r.status_code, r.status_code == 204)
        if r.status_code in (204, 404):
            self.known.pop(file_id, None)

    # -- reads ------------------------------------------------------------------------------------
    def list(self):
        params = {"limit": 1000}
        if self.rng.random() < 0.3:
            params.update(prefix=self.rng.choice(["a/", "b/", "c/", "deep/"]), delimiter="/")
        r = self.request("GET", "/api/v1/files/", params=params)
        self.stats.record("list", r.status_code, r.status_code == 200)
        if r.status_code == 200:
            if "prefix" not in params:
                self.known = {}
            for f in r.json()["items"]:
                self.known[f["id"]] = (f["path"], f["etag"])

    def download(self):
        file_id, _ = self.pick()
        r = self.request("GET", f"/api/v1/files/{file_id}/download")
        self.stats.record("download", r.status_code, r.status_code == 200)
        if r.status_code == 404:
            self.known.pop(file_id, None)
        if r.status_code != 200:
            # 500 is possible here and allowed: with COFFER_GC_GRACE=0s a file deleted between the
            # lookup and the open has no object any more. The final check proves invariant 1.
            return
        body = r.content
        if len(body) != int(r.headers["Content-Length"]):
            return  # cut short by a kill (urllib3 1.x does not raise for a short body)
        # The ETag starts with the sha256 of the content served (meta::file_etag).
        etag = r.headers["ETag"].strip('"')
        if not hashlib.sha256(body).hexdigest().startswith(etag.split("-")[0]):
            self.stats.violation(f"download of {file_id}: {len(body)} bytes do not match ETag {etag}")


# --- the test ----------------------------------------------------------------------------------------

def wait_healthy(server, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"coffer exited with {server.proc.returncode} after a restart:\n"
                                 + server.read_log()[-5000:])
        try:
            if requests.get(server.url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.01)
    raise AssertionError("coffer did not answer /healthz after a restart:\n" + server.read_log()[-5000:])


def restart(server):
    if getattr(server, "log", None):
        server.log.close()
    # start() may return on an older "listening on" line of the same log; /healthz decides.
    server.start()
    wait_healthy(server)


def list_all(server, token):
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": 37}  # several pages, and pages that end mid-folder
        if cursor:
            params["cursor"] = cursor
        r = server.get("/api/v1/files/", token=token, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page["items"])
        pages += 1
        if not page["next_cursor"]:
            return items, pages
        assert page["next_cursor"] != cursor and page["items"], \
            f"the listing does not advance: page {pages} ends with cursor {page['next_cursor']!r}"
        cursor = page["next_cursor"]


def test_sigkill_under_load_keeps_files_usage_and_store_consistent(capsys):
    run_started = time.time()
    rng = random.Random(SEED)
    server = CofferServer(env=SERVER_ENV)
    try:
        _run(server, rng, run_started, capsys)
    finally:
        server.close()


def _run(server, rng, run_started, capsys):
    data_dir = server.data_dir
    database = server.database  # SQLite in data_dir, or the server's PostgreSQL schema
    server.command("migrate")
    created = server.command("tenant", "create", "crash", "--admin", "alice").stdout
    tenant_id = created.split("(")[1].split(")")[0]
    server.command("user", "create", "--tenant", "crash", "bob", "--role", "editor")
    admin = server.command("token", "--tenant", "crash", "--user", "alice", "--ttl", "2h").stdout.strip()
    editor = server.command("token", "--tenant", "crash", "--user", "bob", "--ttl", "2h").stdout.strip()
    operator = server.command("token", "--operator", "--ttl", "2h").stdout.strip()
    server.start()
    wait_healthy(server)

    stats = Stats()
    stop = threading.Event()
    clients = [Client(server, editor if i == CLIENTS - 1 else admin, f"client-{i}", SEED + i, stop, stats)
               for i in range(CLIENTS)]
    for c in clients:
        c.start()

    # -- the killer: SIGKILL at a random moment, restart on the same data dir and port, repeat ------
    kills = 0
    # In the first half, `coffer gc` runs beside the live server without pause (it also sweeps
    # unreferenced objects, which the background collector does not): it must never take the object
    # of an upload in flight. The second half runs without it, so that whatever those crashes leave
    # behind is still there for the invariant-2 check below (a sweep would hide a leak).
    gc_runs = []
    gc_stop = threading.Event()

    def gc_loop():
        gc_rng = random.Random(SEED - 1)
        while not gc_stop.is_set():
            gc_runs.append(server.command("gc", check=False))
            time.sleep(gc_rng.uniform(0.1, 0.5))

    gc_thread = threading.Thread(target=gc_loop, daemon=True)
    gc_thread.start()
    restart_seconds = []
    load_started = time.time()
    def writes_done():
        return sum(stats.succeeded[op] for op in ("upload", "overwrite", "rename", "delete"))

    for i in range(KILLS):
        writes_before = writes_done()
        # Mostly 20–400 ms into the load; sometimes right after the restart, into the collector's
        # first pass over what the last crash left behind.
        time.sleep(rng.uniform(0.0, 0.02) if rng.random() < 0.1 else rng.uniform(0.02, 0.4))
        # On a slow store or a busy machine, let some writes through first (up to 3 s), so that
        # every kill lands on a server that is doing work, not on one still starting.
        if rng.random() >= 0.1:
            deadline = time.time() + 3
            while writes_done() - writes_before < 5 and time.time() < deadline:
                time.sleep(0.01)
        if i == KILLS // 2:
            gc_stop.set()
            gc_thread.join(130)
        server.kill()
        kills += 1
        t0 = time.time()
        restart(server)
        restart_seconds.append(time.time() - t0)
    load_seconds = time.time() - load_started

    stop.set()
    for c in clients:
        c.join(REQUEST_TIMEOUT * 2)
        assert not c.is_alive(), f"{c.name} did not stop"
    gc_stop.set()
    gc_thread.join(130)

    # A final clean restart (SIGTERM, then start) before the checks.
    server.stop()
    restart(server)

    summary = [
        f"seed {SEED}: {kills} kills in {load_seconds:.1f}s of load, {CLIENTS} clients, "
        f"{len(gc_runs)} concurrent gc runs; restarts took {sum(restart_seconds) / max(1, kills):.2f}s "
        f"on average, {max(restart_seconds, default=0):.2f}s at most",
        "attempted: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.attempted.items())),
        "succeeded: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.succeeded.items())),
        f"connection errors (answers lost to kills): {stats.connection_errors}",
        "statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.statuses.items())),
    ]

    def report():
        return "\n".join(summary)

    assert not stats.unexpected, report() + "\nclient errors:\n" + "\n".join(stats.unexpected[:3])
    assert not stats.violations, report() + "\n" + "\n".join(stats.violations[:20])
    assert kills >= 50, report()
    # An answer the server managed to send is never an internal error, except a download that lost
    # the race with a delete (COFFER_GC_GRACE=0s removes the object at once).
    server_errors = {k: v for k, v in stats.statuses.items()
                     if k.split()[1].startswith("5") and not k.startswith("download")}
    assert not server_errors, report() + f"\nserver errors: {server_errors}"
    assert writes_done() > 4 * kills, \
        report() + "\ntoo little work got through to prove anything"
    for p in gc_runs:
        assert p.returncode == 0, report() + f"\ncoffer gc beside the server failed: {p.stdout}{p.stderr}"

    # -- (1) every listed file downloads with its recorded size and sha256 ------------------------
    items, pages = list_all(server, admin)
    paths = [f["path"] for f in items]
    assert paths == sorted(paths, key=lambda p: p.encode()) and len(set(paths)) == len(paths), \
        report() + "\nthe listing is out of order or repeats a path"
    total_bytes = 0
    bad = []
    for f in items:
        r = server.get(f"/api/v1/files/{f['id']}/download", token=admin)
        if r.status_code != 200:
            bad.append(f"{f['path']} ({f['id']}): download answered {r.status_code} {r.text[:200]}")
            continue
        digest = hashlib.sha256(r.content).hexdigest()
        if len(r.content) != f["size"] or digest != f["sha256"]:
            bad.append(f"{f['path']} ({f['id']}): listed {f['size']} bytes sha256 {f['sha256']}, "
                       f"downloaded {len(r.content)} bytes sha256 {digest}")
        total_bytes += f["size"]
    summary.append(f"files at the end: {len(items)} ({total_bytes} bytes) over {pages} pages")
    assert not bad, report() + "\nlisted files whose bytes are wrong or missing:\n" + "\n".join(bad)

    # -- (2) usage counters equal the sum of the files ---------------------------------------------
    me = server.get("/api/v1/me", token=admin)
    assert me.status_code == 200, me.text
    tenant = server.get(f"/api/v1/tenants/{tenant_id}", token=operator)
    assert tenant.status_code == 200, tenant.text
    for source, t in (("/me", me.json()["tenant"]), ("/tenants/{id}", tenant.json())):
        assert (t["used_bytes"], t["used_files"]) == (total_bytes, len(items)), \
            report() + f"\n{source}: used_bytes {t['used_bytes']}, used_files {t['used_files']}; " \
                       f"the files sum to {total_bytes} bytes in {len(items)} files"

    # -- (3) after the TTL and `coffer gc`, the store holds exactly the committed files' objects ---
    # The server is stopped first (SIGTERM): `coffer gc` beside a live server already ran during the
    # load (and had to be safe there: the downloads above prove no live upload lost its object).
    # Here the point is an exact comparison of the store with the database, which needs both to
    # stand still: a running server's collector could be between removing an object and dropping
    # its row, or hold a lease that keeps rows away from `coffer gc` for five minutes.
    server.stop()
    rows = database.query("SELECT id, path, object_key FROM files")
    assert {r[0] for r in rows} == {f["id"] for f in items}, \
        report() + "\nthe admin's listing and the files table disagree"
    file_keys = {r[2] for r in rows}
    latest = database.query("SELECT max(expires_at) FROM upload_intents")[0][0] or 0
    time.sleep(max(0.0, latest + 1.1 - time.time()))  # every intent expired (whole seconds)

    # Invariant 2, before anything sweeps: every object is referenced by a committed file, an
    # upload intent or the deletion queue, whatever instant the kills hit.
    before_gc = store_objects(server)
    referenced = file_keys | {k for (k,) in database.query(
        "SELECT object_key FROM upload_intents UNION SELECT object_key FROM deletions")}
    leaked = sorted(before_gc - referenced)
    assert not leaked, report() + f"\nobjects nothing references (leaked): {leaked}"
    gc = server.command("gc")
    summary.append(f"before gc: {len(before_gc)} objects for {len(file_keys)} files; {gc.stdout.strip()}")
    objects = store_objects(server)
    assert not file_keys - objects, report() + f"\nfiles without objects: {sorted(file_keys - objects)}"

    # Rows a killed collector had claimed stay leased for five minutes (collector.cpp kLease), so
    # their objects may outlive this gc: still referenced (by the deletion queue or an expired
    # intent, as DESIGN.md's invariant 2 allows), never unreferenced. Check exactly that, then let
    # the leases lapse (the server is stopped, so every lease is a dead process's) and collect again.
    leased = {k for (k,) in database.query("SELECT object_key FROM deletions WHERE lease_until > 0 "
                                               "UNION SELECT object_key FROM upload_intents "
                                               "WHERE lease_until > 0")}
    unexplained = objects - file_keys - leased
    assert not unexplained, report() + f"\nunreferenced objects after gc: {sorted(unexplained)}"
    pending = database.query("SELECT 'deletion', object_key FROM deletions WHERE lease_until = 0 UNION ALL "
                                 "SELECT 'intent', object_key FROM upload_intents WHERE lease_until = 0")
    assert not pending, report() + f"\ngc left due work behind: {pending}"
    lapsed = (database.execute("UPDATE deletions SET lease_until = 1 WHERE lease_until > 0")
              + database.execute("UPDATE upload_intents SET lease_until = 1 WHERE lease_until > 0"))
    summary.append(f"rows held by a killed collector's lease: {lapsed} "
                   f"({len(objects - file_keys)} of their objects still stored)")

    # Temporary files of killed uploads: in objects/tmp/, never among the objects. The store sweeps
    # those older than an hour whenever it opens; make them that old and let `coffer gc` open it.
    # On S3 the leftovers are unfinished multipart uploads, which `coffer gc` aborts once they are
    # older than the upload TTL (they are by now: every intent has expired).
    temps = temp_files(server)
    leftovers = "temporary files" if server.store.kind == "fs" else "unfinished multipart uploads"
    summary.append(f"{leftovers} left by killed uploads: {len(temps)}")
    for name, st in temps.items():
        if st is None:
            continue
        assert name.startswith("put-"), report() + f"\nunexpected file in objects/tmp: {name}"
        assert st.st_mtime >= run_started - 1, report() + f"\n{name} is older than this run"
        os.utime(os.path.join(server.store.root, "tmp", name),
                 (st.st_atime - 7200, st.st_mtime - 7200))
    assert not any(os.path.basename(k) in temps for k in objects)

    gc = server.command("gc")
    summary.append(f"after the leases lapsed: {gc.stdout.strip()}")
    objects = store_objects(server)
    assert objects == file_keys, report() + (f"\nunreferenced: {sorted(objects - file_keys)}"
                                             f"\nmissing: {sorted(file_keys - objects)}")
    left = database.query("SELECT (SELECT count(*) FROM deletions), (SELECT count(*) FROM upload_intents)")
    assert left == [(0, 0)], report() + f"\ndeletion queue and intents after gc: {left}"
    assert temp_files(server) == {}, report() + "\nold temporary files were not swept"

    with capsys.disabled():
        print("\n" + report())
