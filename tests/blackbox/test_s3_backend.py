"""The S3 backend seen from outside (issue 5): Coffer on the fixture's Ceph RGW, checked with
clients Coffer did not write (boto3, awscli, curl), and with RGW itself stopped.

- Every object written for a tenant lies under <key prefix><tenant_id>/.
- An object Coffer wrote reads back with awscli, byte for byte.
- A presigned download URL works with curl; expired, tampered or re-pointed ones are refused by
  RGW itself (403).
- Faults, on a radosgw of the test's own in the fixture's cluster: killed (connections refused) or
  frozen with SIGSTOP (connections accepted, nothing answered). Requests that need the store answer
  503 storage_unavailable with Retry-After in bounded time, metadata-only requests still work,
  /readyz names the storage; once radosgw is back Coffer recovers without a restart. radosgw killed
  in the middle of an upload, after parts of it are stored, leaves no file, and after the upload
  TTL `coffer gc` leaves no object and no unfinished multipart upload.

Every server here is on S3 whatever COFFER_TEST_STORAGE says; it needs the fixture's variables
(tests/CMakeLists.txt), so it runs as the ctest entry blackbox_s3.test_s3_backend only."""
import ctypes
import hashlib
import os
import re
import signal
import subprocess
import time
import urllib.parse

import pytest
import requests

from coffer_server import CofferServer, free_port, s3_settings
from files_support import API, Env, assert_error, parse_time, sha256, storage_metric

MiB = 1024 * 1024
AWS = "/usr/bin/aws"  # Debian's awscli (pyenv shims come first in PATH)
GC_ENV = {
    "COFFER_GC_GRACE": "0s",
    "COFFER_GC_INTERVAL": "1h",  # only the test's own `coffer gc` collects
}
# Short S3 timeouts, so that a frozen radosgw (which accepts and never answers) is given up on
# soon: 1 s to connect, 2 s without progress, 2 attempts.
SHORT_TIMEOUTS = {
    "COFFER_S3_CONNECT_TIMEOUT": "1s",
    "COFFER_S3_REQUEST_TIMEOUT": "2s",
    "COFFER_S3_MAX_ATTEMPTS": "2",
}
# How long a request needing the store may take before its 503: with the default settings when
# radosgw is gone (connections refused), with SHORT_TIMEOUTS when it is frozen.
BOUND_S = {"stopped": 5, "frozen": 10}


@pytest.fixture(scope="module")
def env():
    s = CofferServer(env=GC_ENV, storage="s3")
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


# -- faults ---------------------------------------------------------------------------------------

def die_with_parent():
    """In the child before exec: SIGKILL when the test process dies, however it ends."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Radosgw:
    """A gateway of its own on the fixture's Ceph cluster (CEPH_CONF): a real radosgw process on a
    free port, serving the same bucket with the same credentials, which a test may stop (SIGKILL:
    connections refused, open ones reset), freeze (SIGSTOP: the kernel still accepts connections,
    nothing answers) and bring back. The fixture's own gateway keeps serving the other tests and
    this file's look at the bucket."""

    def __init__(self, workdir):
        self.conf = os.environ["CEPH_CONF"]
        self.workdir = workdir
        self.name = f"client.rgw.fault{os.getpid()}"
        self.port = free_port()
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        """Starts radosgw (again, on the same port) and waits until it answers."""
        out = open(os.path.join(self.workdir, "radosgw.out"), "ab")
        self.proc = subprocess.Popen(
            ["radosgw", "-c", self.conf, "-n", self.name, "-f",
             "--rgw-frontends", f"beast endpoint=127.0.0.1:{self.port}", "--rgw-thread-pool-size", "16",
             "--rgw-data", self.workdir, "--admin-socket", os.path.join(self.workdir, "radosgw.asok"),
             "--log-file", os.path.join(self.workdir, "radosgw.log")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        out.close()
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(self.url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert self.proc.poll() is None, f"radosgw exited with {self.proc.returncode}: {self.workdir}"
            assert time.time() < deadline, f"radosgw does not answer on {self.url}: {self.workdir}"
            time.sleep(0.1)

    def stop(self):
        """SIGKILL: from now on connections are refused."""
        self.proc.kill()
        self.proc.wait()

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    def close(self):
        if self.proc.poll() is None:
            self.thaw()
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def rgw(tmp_path):
    g = Radosgw(str(tmp_path))
    yield g
    g.close()


# An upload cut by a fault keeps its intent, and `coffer gc` takes what it left once the intent has
# expired: soon, with this upload TTL (every upload in these tests takes far less).
UPLOAD_TTL_S = 3


def server_on(rgw, make_server, **settings):
    """A started server whose only way to the store is `rgw`."""
    s = make_server(env={**GC_ENV, "COFFER_UPLOAD_TTL": f"{UPLOAD_TTL_S}s", **settings,
                         "AWS_ENDPOINT_URL_S3": rgw.url}, storage="s3")
    s.start()
    return Env(s)


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def assert_unavailable(r, took, bound):
    print(f"503 after {took:.2f}s: {r.request.method} {r.request.path_url[:60]}")
    assert took < bound, f"the answer took {took:.1f}s"
    assert_error(r, 503, "storage_unavailable")
    assert int(r.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_store_down_503_metadata_still_served_then_recovery(rgw, make_server, fault):
    env = server_on(rgw, make_server, **(SHORT_TIMEOUTS if fault == "frozen" else {}))
    bound = BOUND_S[fault]
    t = env.tenant()
    editor = t.user("editor")
    data = os.urandom(300_000)
    f = editor.put("before.bin", data)
    assert env.server.get("/readyz").status_code == 200

    rgw.stop() if fault == "stopped" else rgw.freeze()
    # What needs the store: 503 storage_unavailable with Retry-After, in bounded time.
    assert_unavailable(*timed(lambda: editor.upload("during.bin", os.urandom(100_000))), bound)
    assert_unavailable(*timed(lambda: editor.upload("during-chunked.bin", chunks(os.urandom(100_000)))), bound)
    assert_unavailable(*timed(lambda: editor.download(f["id"])), bound)
    assert_unavailable(*timed(lambda: editor.download(f["id"], headers={"Range": "bytes=0-9"})), bound)
    r, took = timed(lambda: env.server.get("/readyz"))
    assert took < bound
    assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
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
    assert storage_metric(env.server, "coffer_storage_errors_total", "put") >= 2
    assert storage_metric(env.server, "coffer_storage_errors_total", "check") >= 1
    # The client reads only "storage is unavailable"; the log says what failed.
    assert re.search(r"request \S+: storage unavailable: s3: \S", env.server.read_log()), env.server.read_log()[-3000:]

    # Back: Coffer recovers without a restart.
    rgw.start() if fault == "stopped" else rgw.thaw()
    deadline = time.time() + 20
    while env.server.get("/readyz").status_code != 200:
        assert time.time() < deadline, "readyz did not recover"
        time.sleep(0.2)
    assert editor.download(f["id"]).content == data
    g = editor.put("after.bin", b"after")
    assert editor.download(g["id"]).content == b"after"
    assert sorted(editor.paths()) == ["after.bin", "renamed.bin"]
    t.assert_usage_exact()
    # A frozen radosgw, once thawed, carries out the requests Coffer gave up on: the PUTs of the
    # failed uploads may still create their objects. Their intents outlived the failure, so once
    # they expire `coffer gc` removes them, and the store holds the two files' objects only.
    time.sleep(UPLOAD_TTL_S + 0.5)
    env.gc()
    assert len(t.objects()) == 2
    assert env.store.incomplete() == []


def stored_parts(store):
    """Parts stored so far of the unfinished multipart uploads under the store's prefix (asked of
    the fixture's gateway)."""
    return sum(len(store.client.list_parts(Bucket=store.bucket, Key=key, UploadId=upload_id).get("Parts", []))
               for key, upload_id in store.multipart_uploads())


def test_radosgw_killed_mid_upload_leaves_no_file_and_gc_leaves_nothing(rgw, make_server):
    env = server_on(rgw, make_server, **SHORT_TIMEOUTS)
    t = env.tenant()
    editor = t.user("editor")
    keep = editor.put("keep.bin", b"kept")
    size = 96 * MiB
    block = os.urandom(MiB)
    state = {"sent": 0, "killed": False, "parts": 0}

    def body():
        # A chunked body (an S3 multipart upload underneath); radosgw is killed once two parts of
        # it are stored, so the multipart upload exists and Coffer cannot abort it.
        while state["sent"] < size:
            if not state["killed"] and state["sent"] % (4 * MiB) == 0 and state["sent"]:
                state["parts"] = stored_parts(env.store)
                if state["parts"] >= 2:
                    rgw.stop()
                    state["killed"] = time.monotonic()
            yield block
            state["sent"] += len(block)

    try:
        r = editor.upload("big.bin", body())
        status, answer = r.status_code, r.text
    except requests.ConnectionError as e:  # Coffer may answer and close before the body ends
        status, answer = None, str(e)
    assert state["killed"], f"the upload ended before two parts were stored ({state}): {status} {answer}"
    assert status in (503, None), (status, answer)
    if status == 503:
        assert '"storage_unavailable"' in answer
    # Coffer answers 503 and closes at once; a client still sending its body may see the reset
    # before the answer. Coffer's own count says what it answered.
    text = env.server.get("/metrics").text
    assert re.search(r'^coffer_http_requests_total\{route="POST /api/v1/files",status="503"\} 1$', text, re.M), text
    took = time.monotonic() - state["killed"]
    assert took < BOUND_S["frozen"], f"the answer came {took:.1f}s after the kill"
    # No file became visible, and usage did not move.
    assert editor.paths() == ["keep.bin"]
    assert t.assert_usage_exact() == (4, 1)
    # The abort could not reach radosgw: the stored parts are an unfinished multipart upload.
    left = env.store.incomplete()
    assert len(left) == 1, left

    rgw.start()
    time.sleep(UPLOAD_TTL_S + 0.5)  # the cut upload's intent and multipart upload are now stale
    out = env.gc()
    # Nothing lasting: exactly the kept file's object, and no unfinished multipart upload.
    assert env.store.incomplete() == [], (left, out)
    (only,) = t.objects()
    assert env.store.read(only) == b"kept"
    assert editor.download(keep["id"]).content == b"kept"
    g = editor.put("big.bin", b"now it works")
    assert editor.download(g["id"]).content == b"now it works"
