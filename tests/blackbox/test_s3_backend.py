"""The S3 backend seen from outside (issue 5): Coffer on the fixture's Ceph RGW, checked with
clients Coffer did not write (boto3, awscli, curl), and with faults between Coffer and RGW.

- Every object written for a tenant lies under <key prefix><tenant_id>/.
- An object Coffer wrote reads back with awscli, byte for byte.
- A presigned download URL works with curl; expired, tampered or re-pointed ones are refused by
  RGW itself (403).
- Faults: a TCP proxy between Coffer and RGW is cut (connections refused and reset) or turned into
  a black hole (connections accepted, nothing answered). Requests that need the store answer 503
  storage_unavailable with Retry-After in bounded time, metadata-only requests still work,
  /readyz names the storage; once the proxy is back Coffer recovers without a restart. An upload
  cut in the middle leaves no file, and after the upload TTL `coffer gc` leaves no object and no
  unfinished multipart upload.

Runs only as the ctest entry blackbox_s3.test_s3_backend (COFFER_TEST_STORAGE=s3)."""
import hashlib
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

from coffer_server import STORAGE, CofferServer, s3_settings
from files_support import API, Env, assert_error, parse_time, sha256

pytestmark = pytest.mark.skipif(STORAGE != "s3", reason="needs COFFER_TEST_STORAGE=s3 (ctest -L s3)")

MiB = 1024 * 1024
AWS = "/usr/bin/aws"  # Debian's awscli (pyenv shims come first in PATH)
# What a request needing an unreachable store may take at most before its 503 (the test's settings
# below: 2 s to connect, 4 s per read or write, 2 attempts).
BOUND_S = 15
FAULT_ENV = {
    "COFFER_S3_CONNECT_TIMEOUT": "2s",
    "COFFER_S3_REQUEST_TIMEOUT": "4s",
    "COFFER_S3_MAX_ATTEMPTS": "2",
    "COFFER_GC_GRACE": "0s",
    "COFFER_GC_INTERVAL": "1h",  # only the test's own `coffer gc` collects
    # An upload cut by a fault leaves an intent; it expires quickly, so `coffer gc` can take its
    # leftovers soon after. Every upload in these tests takes far less.
    "COFFER_UPLOAD_TTL": "3s",
}


@pytest.fixture(scope="module")
def env():
    s = CofferServer(env={"COFFER_GC_GRACE": "0s", "COFFER_GC_INTERVAL": "1h"})
    s.start()
    yield Env(s)
    s.close()


def chunks(data, size=256 * 1024):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def http_code(url, *extra):
    """curl's status code for a GET of `url` (the body is discarded)."""
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *extra, url],
                         capture_output=True, text=True, timeout=60)
    return int(out.stdout)


# -- tenant prefixes ------------------------------------------------------------------------------

def test_every_object_lies_under_its_tenant_prefix(env):
    store = env.store
    tenants = [env.tenant(), env.tenant()]
    for i, t in enumerate(tenants):
        editor = t.user("editor")
        editor.put(f"plain-{i}.bin", os.urandom(1000))
        editor.put("empty", b"")
        f = editor.put("over/written", b"v1")
        editor.put("over/written", b"v2 " * 1000, overwrite=True)
        # A chunked body big enough for an S3 multipart upload, and a multipart/form-data one.
        r = editor.upload("chunked/big.bin", chunks(os.urandom(12 * MiB)))
        assert r.status_code == 201, r.text
        body, ctype = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"form.bin\"\r\n\r\n"
                       + os.urandom(3000) + b"\r\n--b--\r\n"), "multipart/form-data; boundary=b"
        assert editor.request("POST", f"{API}/files/", data=body, headers={"Content-Type": ctype}).status_code == 201
        gone = editor.put("deleted", b"bye")
        assert editor.delete(gone["id"]).status_code == 204
        assert f["id"]
    # Everything Coffer wrote is under <key prefix><tenant id>/ with a key of its own.
    full_keys = store.full_keys()
    assert full_keys
    pattern = re.compile(re.escape(store.key_prefix) + r"(?P<tenant>[^/]+)/(?P<object>[A-Za-z0-9_-]{16,})$")
    by_tenant = {t.id: set() for t in tenants}
    for key in full_keys:
        m = pattern.match(key)
        assert m, key
        assert m["tenant"] in by_tenant, key
        by_tenant[m["tenant"]].add(key)
    # Nothing of these tenants anywhere else in the bucket (other tests share it: look by id).
    client = store.client
    elsewhere = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket):
        for o in page.get("Contents", []):
            if any(t.id in o["Key"] for t in tenants) and not o["Key"].startswith(store.key_prefix):
                elsewhere.append(o["Key"])
    assert not elsewhere
    # After gc, each tenant's prefix holds exactly one object per file, all of them seen above.
    env.gc()
    for t in tenants:
        assert len(t.objects()) == len(t.all_files()) == 5
        assert {store.key_prefix + k for k in t.objects()} <= by_tenant[t.id]


def test_object_reads_back_with_awscli(env, tmp_path):
    t = env.tenant()
    data = os.urandom(5 * MiB + 123)
    f = t.admin.put("for/aws.bin", data)
    (key,) = t.objects()
    out = tmp_path / "got.bin"
    endpoint, bucket = s3_settings()
    r = subprocess.run([AWS, "--endpoint-url", endpoint, "s3api", "get-object", "--bucket", bucket,
                        "--key", env.store.key_prefix + key, str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = out.read_bytes()
    assert hashlib.sha256(got).hexdigest() == f["sha256"] == sha256(data)
    assert len(got) == f["size"]


# -- presigned URLs, fetched by curl ---------------------------------------------------------------

def presigned(user, file_id, expires_in=None):
    r = user.download_url(file_id, {"expires_in": expires_in} if expires_in else None)
    assert r.status_code == 200, r.text
    return r.json()["url"]


def test_presigned_download_with_curl(env, tmp_path):
    t = env.tenant()
    data = os.urandom(2 * MiB + 7)
    f = t.admin.put("docs/report 100% ü.pdf", data)
    url = presigned(t.admin, f["id"])
    assert url.startswith(env.store.presigned_base(env.server))
    out = tmp_path / "got"
    r = subprocess.run(["curl", "-sS", "-f", "-D", "-", "-o", str(out), url], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == f["sha256"]
    assert "filename*=UTF-8''report%20100%25%20%C3%BC.pdf" in r.stdout


def test_presigned_urls_expired_tampered_or_repointed_are_refused_by_rgw(env):
    t = env.tenant()
    other = env.tenant()
    a = t.admin.put("a", b"a" * 100)
    b = t.admin.put("b", b"b" * 100)
    c = other.admin.put("c", b"c" * 100)
    url = presigned(t.admin, a["id"])
    assert http_code(url) == 200
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    sig = dict(query)["X-Amz-Signature"]

    def with_query(**changes):
        q = [(k, changes.get(k, v)) for k, v in query]
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q)))

    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    refused = {
        "signature changed": with_query(**{"X-Amz-Signature": flipped}),
        "expiry lengthened": with_query(**{"X-Amz-Expires": str(int(dict(query)["X-Amz-Expires"]) + 3600)}),
        "disposition changed": with_query(**{"response-content-disposition": "inline"}),
        "same tenant, other key": urllib.parse.urlunsplit(
            parts._replace(path=urllib.parse.urlsplit(presigned(t.admin, b["id"])).path)),
        "other tenant's key": urllib.parse.urlunsplit(
            parts._replace(path=urllib.parse.urlsplit(presigned(other.admin, c["id"])).path)),
        "outside the prefix": urllib.parse.urlunsplit(parts._replace(path=f"/{env.store.bucket}/x")),
    }
    for what, bad in refused.items():
        assert http_code(bad) == 403, what
    # Another method on a GET URL.
    assert http_code(url, "-X", "PUT", "--data-binary", "x") == 403
    assert t.admin.download(a["id"]).content == b"a" * 100
    # Expired (the expiry counts from the signed second: wait past expires_at).
    r = t.admin.download_url(a["id"], {"expires_in": 4})
    short, expires_at = r.json()["url"], parse_time(r.json()["expires_at"]).timestamp()
    assert http_code(short) == 200
    time.sleep(max(0.0, expires_at + 1.2 - time.time()))
    assert http_code(short) == 403


# -- metrics --------------------------------------------------------------------------------------

def metric(server, name, op):
    text = server.get("/metrics").text
    m = re.search(rf'^{name}{{op="{op}"}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else None


def test_metrics_count_storage_calls(env):
    t = env.tenant()
    t.admin.put("m", b"metric me")
    assert metric(env.server, "coffer_storage_calls_total", "put") > 0
    assert metric(env.server, "coffer_storage_errors_total", "put") is not None
    assert 'coffer_storage_call_duration_seconds_bucket{op="put",le="+Inf"}' in env.server.get("/metrics").text


# -- faults ---------------------------------------------------------------------------------------

class TcpProxy:
    """A TCP proxy on 127.0.0.1 to one target, which can be cut (connections refused, open ones
    reset), turned into a black hole (connections accepted, nothing forwarded or answered), and
    restored (on the same port)."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.port = None
        self.mode = "up"
        self.lock = threading.Lock()
        self.conns = set()
        self.listener = None
        self.forwarded = 0  # bytes client → target
        self._listen()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _listen(self):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port or 0))
        ls.listen(128)
        self.port = ls.getsockname()[1]
        self.listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def _accept(self, ls):
        ls.settimeout(0.1)  # a blocked accept() would outlive close(): poll for our replacement
        while self.listener is ls:
            try:
                c, _ = ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(None)
            with self.lock:
                self.conns.add(c)
                mode = self.mode
            if mode == "blackhole":
                threading.Thread(target=self._swallow, args=(c,), daemon=True).start()
                continue
            try:
                u = socket.create_connection(self.target, timeout=5)
                u.settimeout(None)
            except OSError:
                self._drop(c)
                continue
            with self.lock:
                self.conns.add(u)
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _pump(self, src, dst, upstream):
        try:
            while True:
                data = src.recv(256 * 1024)
                if not data:
                    break
                dst.sendall(data)
                if upstream:
                    self.forwarded += len(data)
        except OSError:
            pass
        self._drop(src)
        self._drop(dst)

    def _swallow(self, c):
        try:
            while c.recv(256 * 1024):
                pass
        except OSError:
            pass

    def _drop(self, s, reset=False):
        with self.lock:
            self.conns.discard(s)
        try:
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def _close_all(self):
        ls, self.listener = self.listener, None
        if ls is not None:
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            self._drop(s, reset=True)

    def cut(self):
        """Refuses new connections and resets the open ones."""
        self.mode = "down"
        self._close_all()

    def blackhole(self):
        """Accepts connections but never answers; resets the open ones."""
        self._close_all()
        self.mode = "blackhole"
        self._listen()

    def restore(self):
        self._close_all()
        self.mode = "up"
        self._listen()


@pytest.fixture
def faulty():
    """A server whose only way to RGW is a TcpProxy; yields (env, proxy)."""
    endpoint, _ = s3_settings()
    proxy = TcpProxy(urllib.parse.urlsplit(endpoint).port)
    s = CofferServer(env={**FAULT_ENV, "AWS_ENDPOINT_URL_S3": proxy.url})
    s.start()
    yield Env(s), proxy
    proxy.restore()
    s.close()
    proxy.cut()


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def assert_unavailable(r, took):
    print(f"503 after {took:.2f}s: {r.request.method} {r.request.path_url[:60]}")
    assert took < BOUND_S, f"the answer took {took:.1f}s"
    assert_error(r, 503, "storage_unavailable")
    assert int(r.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("fault", ["cut", "blackhole"])
def test_store_down_503_metadata_still_served_then_recovery(faulty, fault):
    env, proxy = faulty
    t = env.tenant()
    editor = t.user("editor")
    data = os.urandom(300_000)
    f = editor.put("before.bin", data)
    assert env.server.get("/readyz").status_code == 200

    getattr(proxy, fault)()
    # What needs the store: 503 storage_unavailable with Retry-After, in bounded time.
    assert_unavailable(*timed(lambda: editor.upload("during.bin", os.urandom(100_000))))
    assert_unavailable(*timed(lambda: editor.upload("during-chunked.bin", chunks(os.urandom(100_000)))))
    assert_unavailable(*timed(lambda: editor.download(f["id"])))
    assert_unavailable(*timed(lambda: editor.download(f["id"], headers={"Range": "bytes=0-9"})))
    r, took = timed(lambda: env.server.get("/readyz"))
    assert took < BOUND_S
    assert r.status_code == 503 and r.headers["Retry-After"]
    body = r.json()
    assert body["failed"] == "storage" and body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] != "ok"
    assert env.server.get("/healthz").status_code == 200
    # Metadata only: served as usual.
    assert editor.get_file(f["id"]).json()["sha256"] == f["sha256"]
    assert [x["path"] for x in editor.list_all()[0]] == ["before.bin"]
    me = editor.request("GET", f"{API}/me")
    assert me.status_code == 200 and me.json()["tenant"]["used_files"] == 1
    renamed = editor.rename(f["id"], "renamed.bin")
    assert renamed.status_code == 200
    assert editor.download_url(f["id"]).status_code == 200  # signing needs no round trip
    assert metric(env.server, "coffer_storage_errors_total", "put") >= 2
    assert metric(env.server, "coffer_storage_errors_total", "check") >= 1

    # Back: Coffer recovers without a restart.
    proxy.restore()
    deadline = time.time() + 20
    while env.server.get("/readyz").status_code != 200:
        assert time.time() < deadline, "readyz did not recover"
        time.sleep(0.2)
    assert editor.download(f["id"]).content == data
    g = editor.put("after.bin", b"after")
    assert editor.download(g["id"]).content == b"after"
    assert sorted(editor.paths()) == ["after.bin", "renamed.bin"]
    t.assert_usage_exact()
    env.gc()
    assert len(t.objects()) == 2
    assert env.store.incomplete() == []


def test_store_cut_mid_upload_leaves_no_file_and_gc_leaves_nothing(faulty):
    env, proxy = faulty
    t = env.tenant()
    editor = t.user("editor")
    keep = editor.put("keep.bin", b"kept")
    size = 96 * MiB
    cut_at = 40 * MiB
    block = os.urandom(MiB)
    state = {"sent": 0, "cut": False}

    def body():
        # A chunked body (S3 multipart upload underneath); the proxy is cut once Coffer has sent
        # RGW a good part of it, so parts are stored and the multipart upload cannot be aborted.
        while state["sent"] < size:
            if not state["cut"] and proxy.forwarded >= cut_at:
                proxy.cut()
                state["cut"] = True
            yield block
            state["sent"] += len(block)
            if not state["cut"]:
                time.sleep(0.01)

    t0 = time.monotonic()
    try:
        r = editor.upload("big.bin", body())
        status, answer = r.status_code, r.text
    except requests.ConnectionError as e:  # Coffer may answer and close before the body ends
        status, answer = None, str(e)
    took = time.monotonic() - t0
    assert state["cut"], f"the upload ended before the cut ({proxy.forwarded} bytes forwarded): {status} {answer}"
    assert status in (503, None), (status, answer)
    if status == 503:
        assert '"storage_unavailable"' in answer
    # Coffer answers 503 and closes at once; a client still sending its body may see the reset
    # before the answer. Coffer's own count says what it answered.
    text = env.server.get("/metrics").text
    assert re.search(r'^coffer_http_requests_total\{route="POST /api/v1/files",status="503"\} 1$', text, re.M), text
    assert took < BOUND_S
    # No file became visible, and usage did not move.
    assert editor.paths() == ["keep.bin"]
    assert t.assert_usage_exact() == (4, 1)

    proxy.restore()
    # The abort could not reach RGW: its parts are an unfinished multipart upload for now.
    left = env.store.incomplete()
    time.sleep(3.5)  # COFFER_UPLOAD_TTL: the cut upload's intent and multipart upload are now stale
    out = env.gc()
    assert "removed" in out
    # Nothing lasting: exactly the kept file's object, and no unfinished multipart upload.
    assert env.store.incomplete() == [], (left, out)
    (only,) = t.objects()
    assert env.store.read(only) == b"kept"
    assert editor.download(keep["id"]).content == b"kept"
    g = editor.put("big.bin", b"now it works")
    assert editor.download(g["id"]).content == b"now it works"
