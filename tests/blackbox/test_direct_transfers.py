"""Direct transfers (API.md "Direct transfers (presigned)", issue 6) with real clients.

curl moves the bytes straight between client and object store: to Coffer's own /blob URLs on the
local-directory backend, and to Ceph RGW's presigned URLs (which RGW verifies) when the tests run
with COFFER_TEST_STORAGE=s3. Coffer only signs, checks and commits. What the store holds is read
with the store's own means: the directory, or boto3 (objects and unfinished multipart uploads)."""
import concurrent.futures
import hashlib
import os
import random
import re
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from coffer_server import CofferServer
from files_support import API, Env, assert_error, assert_file_object, parse_time, q, sha256

MiB = 1 << 20
PART = 5 * MiB  # COFFER_UPLOAD_PART_SIZE of the module's server: multipart above this


def server_env(**extra):
    env = {"COFFER_GC_GRACE": "0s", "COFFER_GC_INTERVAL": "1h", "COFFER_UPLOAD_PART_SIZE": "5MiB"}
    env.update(extra)
    return env


class StoreView:
    """What the object store of a server holds, seen without Coffer."""

    def __init__(self, server):
        self.server = server
        self.s3 = None
        if server.storage == "s3":
            import boto3
            import botocore.config
            self.s3 = boto3.client("s3", endpoint_url=server.s3_endpoint,
                                   region_name=os.environ.get("AWS_REGION", "us-east-1"),
                                   config=botocore.config.Config(s3={"addressing_style": "path"}))

    @property
    def fs_root(self):
        return os.path.join(self.server.data_dir, "objects")

    def objects(self, tenant_id):
        """Keys ("<tenant>/<id>") of the objects under the tenant's prefix."""
        if self.s3:
            keys, token = set(), None
            prefix = self.server.s3_prefix + tenant_id + "/"
            while True:
                kw = {"Bucket": self.server.s3_bucket, "Prefix": prefix}
                if token:
                    kw["ContinuationToken"] = token
                page = self.s3.list_objects_v2(**kw)
                keys |= {o["Key"][len(self.server.s3_prefix):] for o in page.get("Contents", [])}
                if not page.get("IsTruncated"):
                    return keys
                token = page["NextContinuationToken"]
        root = os.path.join(self.fs_root, "objects")
        keys = set()
        for dirpath, _, names in os.walk(os.path.join(root, tenant_id)):
            keys |= {os.path.relpath(os.path.join(dirpath, n), root) for n in names}
        return keys

    def open_uploads(self, tenant_id):
        """Keys of the store's unfinished uploads (S3 multipart uploads, or upload directories)."""
        if self.s3:
            page = self.s3.list_multipart_uploads(Bucket=self.server.s3_bucket,
                                                  Prefix=self.server.s3_prefix + tenant_id + "/")
            return [u["Key"][len(self.server.s3_prefix):] for u in page.get("Uploads", [])]
        root = os.path.join(self.fs_root, "uploads")
        keys = []
        for name in os.listdir(root) if os.path.isdir(root) else []:
            info = os.path.join(root, name, "info")
            if os.path.exists(info):
                key = open(info).read().split("\n")[1]
                if key.startswith(tenant_id + "/"):
                    keys.append(key)
        return keys

    def assert_clean(self, tenant, files=()):
        """The tenant's prefix holds exactly the objects of `files` and no unfinished upload."""
        assert len(self.objects(tenant.id)) == len(files), self.objects(tenant.id)
        assert self.open_uploads(tenant.id) == []


class DirectEnv(Env):
    def __init__(self, server):
        super().__init__(server)
        self.view = StoreView(server)  # with its direct-upload leftovers

    def metric(self, name):
        text = self.server.get("/metrics").text
        m = re.search(rf"^{name} (\d+)$", text, re.M)
        assert m, name
        return int(m.group(1))


@pytest.fixture(scope="module")
def env():
    s = CofferServer(env=server_env())
    s.start()
    yield DirectEnv(s)
    s.close()


@pytest.fixture
def tenant(env):
    return env.tenant()


# -- clients -------------------------------------------------------------------------------------

def curl(*args, timeout=600):
    """Runs curl; returns (status, headers with lower-case names, body bytes)."""
    with tempfile.TemporaryDirectory(prefix="coffer-curl-") as d:
        head, body = os.path.join(d, "head"), os.path.join(d, "body")
        r = subprocess.run(["curl", "-sS", "-D", head, "-o", body, "-w", "%{http_code}", *args],
                           capture_output=True, timeout=timeout)
        assert r.returncode == 0, r.stderr
        headers = {}
        for line in open(head, "rb").read().decode("latin-1").split("\r\n"):
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        return int(r.stdout), headers, open(body, "rb").read()


def header_args(headers):
    out = []
    for name, value in headers.items():
        if name.lower() != "content-length":  # curl sends the body's own
            out += ["-H", f"{name}: {value}"]
    return out


def put_file(url, headers, path):
    """curl PUTs a file (streamed from disk, Content-Length set) to a presigned URL."""
    status, h, body = curl("-X", "PUT", "-T", path, *header_args(headers), url)
    return status, h.get("etag"), body


def put_bytes(url, headers, data):
    with tempfile.NamedTemporaryFile(prefix="coffer-part-") as f:
        f.write(data)
        f.flush()
        return put_file(url, headers, f.name)


def start(user, path, size, **fields):
    return user.request("POST", f"{API}/uploads", json={"path": path, "size": size, **fields})


def started(user, path, size, **fields):
    r = start(user, path, size, **fields)
    assert r.status_code == 201, r.text
    return r.json()


def complete(user, upload_id, parts=None, **kw):
    body = {"json": {"parts": parts}} if parts is not None else {}
    return user.request("POST", f"{API}/uploads/{upload_id}/complete", timeout=600, **body, **kw)


def abort(user, upload_id):
    return user.request("DELETE", f"{API}/uploads/{upload_id}")


def part_urls(upload):
    """[(number, url, size)] of either form."""
    if "url" in upload:
        return [(1, upload["url"], None)]
    return [(p["number"], p["url"], p["size"]) for p in upload["parts"]]


def send_parts(upload, data, skip=()):
    """PUTs every part's bytes; returns [{"number", "etag"}]."""
    parts = []
    for number, url, size in part_urls(upload):
        if number in skip:
            continue
        chunk = data if size is None else data[(number - 1) * PART:(number - 1) * PART + size]
        status, etag, body = put_bytes(url, upload["headers"], chunk)
        assert status == 200, (number, status, body)
        assert etag and etag.startswith('"'), etag
        parts.append({"number": number, "etag": etag})
    return parts


def upload_direct(user, path, data, declare_sha=True, **fields):
    """The whole flow; returns the completed File."""
    if declare_sha:
        fields["sha256"] = sha256(data)
    up = started(user, path, len(data), **fields)
    parts = send_parts(up, data)
    r = complete(user, up["upload_id"], parts if "parts" in up else None)
    assert r.status_code == 201, r.text
    return r.json()


def download_bytes(user, file_id):
    r = user.download(file_id)
    assert r.status_code == 200, r.text
    return r.content


def sleep_past(expires_at, seconds):
    """Sleeps until `seconds` after an RFC 3339 expiry."""
    time.sleep(max(0.0, parse_time(expires_at).timestamp() + seconds - time.time()))


def pattern(n, seed):
    return random.Random(seed).randbytes(n)


def with_param(url, name, change):
    """The URL with query parameter `name` (case-insensitive) changed by change(value)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    hit = [i for i, (k, _) in enumerate(query) if k.lower() == name.lower()]
    assert hit, (name, url)
    k, v = query[hit[0]]
    query[hit[0]] = (k, change(v))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, quote_via=urllib.parse.quote)))


def signature_param(url):
    return "X-Amz-Signature" if "X-Amz-Signature" in url else "signature"


def flip(hex_text):
    return ("1" if hex_text[0] == "0" else "0") + hex_text[1:]


def with_path_of(url, other):
    """`url` pointed at the object of `other`, its own query (and signature) kept."""
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(other)
    return urllib.parse.urlunsplit(a._replace(path=b.path))


# -- the shape of an issued upload ---------------------------------------------------------------

def test_a_small_upload_gets_one_url_bound_to_its_size_and_checksum(env, tenant):
    user = tenant.user("editor")
    data = b"direct to the store\n"
    before = time.time()
    up = started(user, "docs/small.txt", len(data), content_type="text/plain", sha256=sha256(data),
                 expires_in=120)
    assert set(up) == {"upload_id", "method", "url", "headers", "expires_at"}
    assert up["method"] == "PUT"
    assert len(up["upload_id"]) >= 16
    assert abs(parse_time(up["expires_at"]).timestamp() - (before + 120)) < 5
    assert up["headers"]["Content-Length"] == str(len(data))
    sha_header = {k.lower(): v for k, v in up["headers"].items()}
    assert sha256(data) in (sha_header.get("x-checksum-sha256"), sha_header.get("x-amz-content-sha256"))
    assert not any(k.lower() == "authorization" for k in up["headers"])

    # Nothing is visible before complete.
    assert user.list().json()["items"] == []
    status, etag, _ = put_bytes(up["url"], up["headers"], data)
    assert status == 200 and etag
    assert user.list().json()["items"] == []

    r = complete(user, up["upload_id"])  # one part: no body needed
    assert r.status_code == 201, r.text
    f = r.json()
    assert_file_object(f, path="docs/small.txt", data=data, content_type="text/plain",
                       owner=user, role="admin", version=1)
    assert r.headers["Location"] == f"{API}/files/{f['id']}"
    assert download_bytes(user, f["id"]) == data
    assert tenant.info()["used_bytes"] == len(data)
    env.view.assert_clean(tenant, [f])


def test_a_large_upload_gets_part_urls_and_completes_with_their_etags(env, tenant):
    user = tenant.user("editor")
    data = pattern(2 * PART + 12345, 1)
    up = started(user, "big/three-parts.bin", len(data))
    assert set(up) == {"upload_id", "method", "parts", "headers", "expires_at"}
    assert [(p["number"], p["size"]) for p in up["parts"]] == [(1, PART), (2, PART), (3, 12345)]
    assert "Content-Length" not in up["headers"]
    assert len({p["url"] for p in up["parts"]}) == 3
    parts = send_parts(up, data)

    assert_error(complete(user, up["upload_id"]), 400, "bad_request")  # parts are required
    r = complete(user, up["upload_id"], parts)
    assert r.status_code == 201, r.text
    assert_file_object(r.json(), path="big/three-parts.bin", data=data,
                       content_type="application/octet-stream")
    assert download_bytes(user, r.json()["id"]) == data
    env.view.assert_clean(tenant, [r.json()])


def test_an_empty_file(env, tenant):
    user = tenant.user("editor")
    f = upload_direct(user, "empty", b"")
    assert_file_object(f, data=b"")
    assert download_bytes(user, f["id"]) == b""


def test_overwrite_through_a_direct_upload_makes_a_new_version(env, tenant):
    user = tenant.user("editor")
    first = user.put("doc.txt", b"version one")
    assert_error(start(user, "doc.txt", 11), 409, "conflict")
    f = upload_direct(user, "doc.txt", b"version two", overwrite=True)
    assert (f["id"], f["version"]) == (first["id"], 2)
    assert download_bytes(user, f["id"]) == b"version two"
    env.gc()
    env.view.assert_clean(tenant, [f])


# -- presigned downloads -------------------------------------------------------------------------

def test_curl_downloads_a_presigned_url_without_any_token(env, tenant):
    user = tenant.user("editor")
    data = pattern(300000, 2)
    f = user.put("reports/q1 report.pdf", data, content_type="application/pdf")
    r = user.download_url(f["id"], {"expires_in": 60})
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    status, headers, body = curl(url)
    assert status == 200 and body == data
    assert "q1%20report.pdf" in headers.get("content-disposition", "")

    # The redirect form: a 307 to such a URL, which curl follows without the token.
    r = user.download(f["id"], params={"redirect": "true"}, allow_redirects=False)
    assert r.status_code == 307
    status, _, body = curl(r.headers["Location"])
    assert status == 200 and body == data


def test_expired_tampered_or_retargeted_download_urls_are_refused(env, tenant):
    user = tenant.user("editor")
    a = user.put("a.bin", b"A" * 1000)
    b = user.put("b.bin", b"B" * 1000)
    url_a = user.download_url(a["id"], {"expires_in": 300}).json()["url"]
    url_b = user.download_url(b["id"], {"expires_in": 300}).json()["url"]
    assert curl(url_a)[0] == 200
    assert curl(with_param(url_a, signature_param(url_a), flip))[0] == 403
    assert curl(with_path_of(url_a, url_b))[0] == 403  # a's signature for b's object
    if env.server.storage == "fs":  # Coffer's own URLs: a parameter given twice is refused
        sig = urllib.parse.parse_qs(urllib.parse.urlsplit(url_a).query)["signature"][0]
        assert curl(f"{url_a}&signature={flip(sig)}")[0] == 403
        assert curl(f"{url_a}&expires=1")[0] == 403
    assert curl("-X", "PUT", "--data-binary", "evil", url_a)[0] in (403, 405)
    assert download_bytes(user, a["id"]) == b"A" * 1000
    short = user.download_url(a["id"], {"expires_in": 1}).json()["url"]
    time.sleep(2.2)
    assert curl(short)[0] == 403


# -- presigned uploads: what a URL allows --------------------------------------------------------

def test_expired_tampered_or_retargeted_part_urls_are_refused(env, tenant):
    user = tenant.user("editor")
    data = pattern(4000, 3)
    up = started(user, "x.bin", len(data), sha256=sha256(data))
    other = started(user, "y.bin", len(data))
    url, headers = up["url"], up["headers"]
    assert put_bytes(with_param(url, signature_param(url), flip), headers, data)[0] == 403
    # Another upload's URL path (its key), or another upload id, with this URL's signature.
    assert put_bytes(with_path_of(url, other["url"]), headers, data)[0] == 403
    upload_param = "uploadId" if "uploadId" in url else "upload_id"
    part_param = "partNumber" if "partNumber" in url else "part"
    assert put_bytes(with_param(url, upload_param, lambda _: urllib.parse.parse_qs(
        urllib.parse.urlsplit(other["url"]).query)[upload_param][0]), headers, data)[0] == 403
    assert put_bytes(with_param(url, part_param, lambda _: "2"), headers, data)[0] == 403
    # Other bytes of the same length: the bound checksum refuses them; other lengths: the bound length.
    assert put_bytes(url, headers, pattern(4000, 4))[0] == 400
    assert put_bytes(url, headers, data + b"x")[0] in (400, 403)
    assert put_bytes(url, headers, data[:-1])[0] in (400, 403)
    # Without the signed checksum header.
    bare = {k: v for k, v in headers.items() if "sha256" not in k.lower()}
    assert put_bytes(url, bare, data)[0] in (400, 403)
    # As a GET it reads nothing.
    assert curl(url)[0] in (403, 404, 405)

    short = started(user, "z.bin", len(data), expires_in=1)
    time.sleep(2.2)
    assert put_bytes(short["url"], short["headers"], data)[0] == 403

    # The untouched URL still works, and only for its own upload.
    assert put_bytes(url, headers, data)[0] == 200
    r = complete(user, up["upload_id"])
    assert r.status_code == 201, r.text
    assert download_bytes(user, r.json()["id"]) == data
    assert_error(complete(user, other["upload_id"]), 400, "bad_request")  # nothing uploaded yet


def test_a_completed_uploads_urls_can_no_longer_change_the_file(env, tenant):
    user = tenant.user("editor")
    data = pattern(3000, 5)
    up = started(user, "final.bin", len(data))  # no checksum bound: only the upload's state protects
    assert put_bytes(up["url"], up["headers"], data)[0] == 200
    f = complete(user, up["upload_id"]).json()
    for attempt in range(2):
        status, _, _ = put_bytes(up["url"], up["headers"], pattern(3000, 6 + attempt))
        assert status in (403, 404), status
    assert download_bytes(user, f["id"]) == data
    assert user.get_file(f["id"]).json()["sha256"] == sha256(data)
    assert_error(complete(user, up["upload_id"]), 404, "not_found")
    assert_error(abort(user, up["upload_id"]), 404, "not_found")

    # The same for part URLs of a multipart upload.
    big = pattern(PART + 10, 7)
    up = started(user, "final-parts.bin", len(big))
    parts = send_parts(up, big)
    f = complete(user, up["upload_id"], parts).json()
    for number, url, size in part_urls(up):
        assert put_bytes(url, up["headers"], pattern(size, 8))[0] in (403, 404)
    assert download_bytes(user, f["id"]) == big
    env.view.assert_clean(tenant, tenant.all_files())


# -- complete verifies before anything is visible -----------------------------------------------

def test_complete_with_a_wrong_size_leaves_nothing_visible(env, tenant):
    user = tenant.user("editor")
    data = pattern(PART + 100, 9)
    up = started(user, "short.bin", len(data))
    parts = send_parts(up, data, skip={2})  # the last part never sent
    r = complete(user, up["upload_id"], parts)
    assert_error(r, 400, "bad_request")
    assert "bytes" in r.json()["error"]["message"]
    assert user.list().json()["items"] == []
    assert tenant.info()["used_bytes"] == 0
    assert_error(complete(user, up["upload_id"], parts), 404, "not_found")  # the upload is over
    env.view.assert_clean(tenant)
    env.gc()
    env.view.assert_clean(tenant)
    user.put("short.bin", b"the path is free")


def test_complete_with_a_wrong_checksum_leaves_nothing_visible(env, tenant):
    user = tenant.user("editor")
    data = pattern(PART + 100, 10)
    # Parts of a multipart upload carry no whole-file checksum: complete reads the object back.
    up = started(user, "sum.bin", len(data), sha256=sha256(data[:-1] + b"!"))
    parts = send_parts(up, data)
    r = complete(user, up["upload_id"], parts)
    assert_error(r, 400, "bad_request")
    assert "checksum" in r.json()["error"]["message"]
    assert user.list().json()["items"] == []
    env.view.assert_clean(tenant)
    env.gc()
    env.view.assert_clean(tenant)


def test_a_single_part_with_the_wrong_checksum_is_refused_by_the_store(env, tenant):
    user = tenant.user("editor")
    data = pattern(2000, 11)
    up = started(user, "one.bin", len(data), sha256=sha256(data))
    assert put_bytes(up["url"], up["headers"], pattern(2000, 12))[0] == 400
    assert_error(complete(user, up["upload_id"]), 400, "bad_request")  # nothing stored
    assert put_bytes(up["url"], up["headers"], data)[0] == 200
    assert complete(user, up["upload_id"]).status_code == 201


def test_complete_refuses_malformed_part_lists(env, tenant):
    user = tenant.user("editor")
    data = pattern(2 * PART, 13)
    up = started(user, "parts.bin", len(data))
    parts = send_parts(up, data)
    uid = up["upload_id"]
    for bad in ([], [parts[1], parts[0]], [parts[0], parts[0]], [parts[0], {"number": 3, "etag": parts[1]["etag"]}],
                [{"number": 1}], [{"number": 0, "etag": "x"}], [{"number": 1, "etag": 5}],
                [{"number": 1, "etag": "x", "size": 1}], "parts"):
        assert_error(complete(user, uid, bad), 400, "bad_request")
    assert_error(user.request("POST", f"{API}/uploads/{uid}/complete", json={"part": []}), 400,
                 "bad_request")
    wrong = [parts[0], {"number": 2, "etag": parts[0]["etag"]}]
    assert_error(complete(user, uid, wrong), 400, "bad_request")  # the store checks ETags
    r = complete(user, uid, parts)  # the upload stayed open through all of that
    assert r.status_code == 201, r.text
    assert download_bytes(user, r.json()["id"]) == data


# -- abort and expiry ----------------------------------------------------------------------------

def test_abort_leaves_no_object_and_no_unfinished_upload(env, tenant):
    user = tenant.user("editor")
    data = pattern(PART + 5, 14)
    up = started(user, "aborted.bin", len(data))
    parts = send_parts(up, data)
    assert env.view.open_uploads(tenant.id)
    r = abort(user, up["upload_id"])
    assert r.status_code == 204, r.text
    env.view.assert_clean(tenant)
    for number, url, size in part_urls(up):
        assert put_bytes(url, up["headers"], data[:size])[0] in (403, 404)
    env.view.assert_clean(tenant)
    assert_error(complete(user, up["upload_id"], parts), 404, "not_found")
    assert_error(abort(user, up["upload_id"]), 404, "not_found")
    assert user.list().json()["items"] == []


def test_abandoned_uploads_are_aborted_by_the_collector_after_expiry(make_server):
    # URLs live a few seconds (time to send the parts), an upload 1 s longer: then the collector
    # owns it.
    s = make_server(env=server_env(COFFER_UPLOAD_TTL="1s"))
    s.start()
    e = DirectEnv(s)
    t = e.tenant()
    user = t.user("editor")
    data = pattern(PART + 5, 15)
    up = started(user, "abandoned.bin", len(data), expires_in=4)
    send_parts(up, data)
    one = started(user, "never-sent.bin", 10, expires_in=4)
    half = started(user, "half.bin", len(data), expires_in=4)
    send_parts(half, data, skip={2})
    assert len(e.view.open_uploads(t.id)) == 3
    sleep_past(half["expires_at"], 1.5)
    assert_error(complete(user, up["upload_id"], [{"number": 1, "etag": '"x"'}]), 404, "not_found")
    assert_error(abort(user, one["upload_id"]), 404, "not_found")
    out = e.gc()
    assert "3 objects of abandoned uploads" in out, out
    e.view.assert_clean(t)
    for number, url, size in part_urls(up):
        assert put_bytes(url, up["headers"], data[:size])[0] in (403, 404)
    e.view.assert_clean(t)


def test_the_background_collector_aborts_expired_uploads_too(make_server):
    s = make_server(env=server_env(COFFER_UPLOAD_TTL="1s", COFFER_GC_INTERVAL="500ms"))
    s.start()
    e = DirectEnv(s)
    t = e.tenant()
    user = t.user("editor")
    data = pattern(3000, 16)
    up = started(user, "bg.bin", len(data), expires_in=3)
    assert put_bytes(up["url"], up["headers"], data)[0] == 200
    assert e.view.open_uploads(t.id)
    sleep_past(up["expires_at"], 1)
    deadline = time.time() + 20
    while e.view.open_uploads(t.id) and time.time() < deadline:
        time.sleep(0.2)
    e.view.assert_clean(t)
    assert_error(complete(user, up["upload_id"]), 404, "not_found")


# -- permission, path, overwrite and quota: at issue and again at complete -----------------------

def test_issue_time_checks(env, tenant):
    editor, viewer = tenant.user("editor"), tenant.user("viewer")
    assert_error(start(viewer, "v.txt", 1), 403, "forbidden")
    assert_error(start(editor, "/abs", 1), 400, "invalid_path")
    assert_error(start(editor, "a/../b", 1), 400, "invalid_path")
    owner = tenant.user("editor")
    theirs = owner.put("theirs.txt", b"mine")
    assert_error(start(editor, "theirs.txt", 1), 409, "conflict")
    assert_error(start(editor, "theirs.txt", 1, overwrite=True), 409, "conflict")  # cannot see it
    owner.grant(theirs["id"], "viewer", editor)
    assert_error(start(editor, "theirs.txt", 1, overwrite=True), 403, "forbidden")
    owner.grant(theirs["id"], "editor", editor)
    assert start(editor, "theirs.txt", 1, overwrite=True).status_code == 201
    for bad in ({"path": "p", "size": -1}, {"path": "p"}, {"size": 1}, {"path": "p", "size": "1"},
                {"path": "p", "size": 1, "expires_in": 0}, {"path": "p", "size": 1, "expires_in": 604801},
                {"path": "p", "size": 1, "sha256": "abc"}, {"path": "p", "size": 1, "overwrite": "yes"},
                {"path": "p", "size": 1, "content_type": "a\r\nb: c"}, {"path": "p", "size": 1, "x": 1}):
        assert_error(editor.request("POST", f"{API}/uploads", json=bad), 400, "bad_request")
    assert start(editor, "week.bin", 1, expires_in=604800).status_code == 201
    assert_error(env.server.post(f"{API}/uploads", json={"path": "p", "size": 1}), 401,
                 "unauthenticated")
    assert_error(env.server.post(f"{API}/uploads", token=env.operator, json={"path": "p", "size": 1}),
                 403, "forbidden")


def test_limits_at_issue_time(make_server):
    s = make_server(env=server_env(COFFER_MAX_UPLOAD_BYTES="1MiB"))
    s.start()
    e = DirectEnv(s)
    t = e.tenant(quota_bytes=1000, quota_files=1)
    user = t.user("editor")
    assert_error(start(user, "big", 1024 * 1024 + 1), 413, "payload_too_large")
    assert_error(start(user, "big", 1001), 507, "quota_exceeded")
    assert start(user, "fits", 1000).status_code == 201
    user.put("one", b"1")
    assert_error(start(user, "two", 1), 507, "quota_exceeded")  # the file quota


def test_a_quota_used_up_meanwhile_is_507_at_complete_and_nothing_is_visible(env):
    t = env.tenant(quota_bytes=10000)
    user = t.user("editor")
    data = pattern(6000, 17)
    up = started(user, "late.bin", len(data), sha256=sha256(data))
    assert put_bytes(up["url"], up["headers"], data)[0] == 200
    other = user.put("meanwhile.bin", b"m" * 6000)
    assert_error(complete(user, up["upload_id"]), 507, "quota_exceeded")
    assert [f["path"] for f in t.all_files()] == ["meanwhile.bin"]
    assert t.info()["used_bytes"] == 6000
    # The upload stays open: once there is room, the same complete succeeds.
    assert user.delete(other["id"]).status_code == 204
    r = complete(user, up["upload_id"])
    assert r.status_code == 201, r.text
    assert t.info()["used_bytes"] == 6000
    env.gc()
    env.view.assert_clean(t, [r.json()])


def test_path_and_role_are_checked_again_at_complete(env, tenant):
    user = tenant.user("editor")
    up = started(user, "taken-later.txt", 5)
    assert put_bytes(up["url"], up["headers"], b"hello")[0] == 200
    other = tenant.user("editor").put("taken-later.txt", b"first")
    assert_error(complete(user, up["upload_id"]), 409, "conflict")
    assert abort(user, up["upload_id"]).status_code == 204

    up = started(user, "demoted.txt", 5)
    assert put_bytes(up["url"], up["headers"], b"hello")[0] == 200
    r = tenant.admin.request("PATCH", f"{API}/users/{user.id}", json={"role": "viewer"})
    assert r.status_code == 200, r.text
    assert_error(complete(user, up["upload_id"]), 403, "forbidden")
    assert [f["path"] for f in tenant.all_files()] == ["taken-later.txt"]
    assert download_bytes(tenant.admin, other["id"]) == b"first"


def test_only_the_uploader_may_complete_or_abort(env, tenant):
    user, colleague = tenant.user("editor"), tenant.user("editor")
    stranger = env.tenant().admin
    up = started(user, "mine.txt", 5)
    assert put_bytes(up["url"], up["headers"], b"hello")[0] == 200
    for who in (colleague, tenant.admin, stranger):
        assert_error(complete(who, up["upload_id"]), 404, "not_found")
        assert_error(abort(who, up["upload_id"]), 404, "not_found")
    assert_error(complete(user, "nonexistent-upload-id"), 404, "not_found")
    assert_error(complete(user, "a" * 26), 404, "not_found")
    # A streamed upload's intent is no upload id either (its id is never shown, but be sure).
    r = complete(user, up["upload_id"])
    assert r.status_code == 201, r.text


# -- 1 GiB through part URLs with curl -----------------------------------------------------------

def make_parts(directory, size, part_size, seed):
    """Deterministic bytes written as one file per part, hashed as they are made."""
    rng, h, paths = random.Random(seed), hashlib.sha256(), []
    for n in range((size + part_size - 1) // part_size):
        path = os.path.join(directory, f"part-{n + 1}")
        left = min(part_size, size - n * part_size)
        with open(path, "wb") as f:
            while left:
                chunk = rng.randbytes(min(MiB, left))
                f.write(chunk)
                h.update(chunk)
                left -= len(chunk)
        paths.append(path)
    return paths, h.hexdigest()


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) / 1024


@pytest.fixture
def scratch():
    with tempfile.TemporaryDirectory(prefix="coffer-direct-") as d:  # removed at once, not kept
        yield d


def test_one_gib_through_part_urls_with_curl(make_server, scratch):
    s = make_server(env=server_env(COFFER_UPLOAD_PART_SIZE="64MiB"))
    s.start()
    e = DirectEnv(s)
    t = e.tenant()
    user = t.user("editor")
    size = 1 << 30
    paths, digest = make_parts(scratch, size, 64 * MiB, seed=6)

    up = started(user, "huge/one-gib.bin", size, sha256=digest, expires_in=3600)
    assert len(up["parts"]) == 16
    bytes_in = e.metric("coffer_http_bytes_in_total")

    def send(part):
        status, etag, body = put_file(part["url"], up["headers"], paths[part["number"] - 1])
        assert status == 200, (part["number"], status, body)
        return {"number": part["number"], "etag": etag}

    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # two at a time, as a client would
        parts = list(pool.map(send, up["parts"]))
    moved = e.metric("coffer_http_bytes_in_total") - bytes_in
    if s.storage == "s3":
        assert moved == 0  # straight to RGW: no byte of the file passed through Coffer
    else:
        assert moved >= size  # the local directory's /blob route is Coffer itself

    r = complete(user, up["upload_id"], parts)
    assert r.status_code == 201, r.text
    f = r.json()
    assert (f["size"], f["sha256"]) == (size, digest)

    # Downloaded with curl from a presigned URL (no token), hashed as it streams.
    url = user.download_url(f["id"], {"expires_in": 600}).json()["url"]
    proc = subprocess.Popen(["curl", "-sS", "--fail", url], stdout=subprocess.PIPE)
    h, got = hashlib.sha256(), 0
    while chunk := proc.stdout.read(MiB):
        h.update(chunk)
        got += len(chunk)
    assert proc.wait() == 0
    assert (got, h.hexdigest()) == (size, digest)
    # Memory stays flat: bytes streamed, never held whole.
    assert peak_rss_mib(s.proc.pid) < 300
    e.view.assert_clean(t, [f])
