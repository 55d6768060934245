"""Files, part 3 (API.md "Files" and "Direct transfers", issues 4 and 5): download with its headers,
ranges and conditionals, presigned download URLs (served by Coffer's /blob route on the local
directory, by the S3 store on S3), and delete."""
import email.utils
import os
import time
import urllib.parse

import pytest
import requests

from coffer_server import CofferServer
from files_support import (API, Env, assert_error, assert_presigned_refused, content_disposition_filename,
                           parse_time, run_parallel)


@pytest.fixture(scope="module")
def env():
    s = CofferServer(env={"COFFER_GC_GRACE": "0s", "COFFER_GC_INTERVAL": "1h"})
    s.start()
    yield Env(s)
    s.close()


@pytest.fixture(scope="module")
def shared(env):
    """One tenant with one 1000-byte file, read-only for the tests that use it."""
    t = env.tenant()
    owner = t.user("editor")
    data = bytes((i * 7 + 3) % 256 for i in range(1000))
    f = owner.put("docs/Zürich report 😀 100%.pdf", data, content_type="application/pdf")
    return t, owner, f, data


@pytest.fixture
def tenant(env):
    return env.tenant()


# -- plain download -----------------------------------------------------------------------------

@pytest.mark.parametrize("alias", ["download", "Download"])
def test_download_headers(shared, alias):
    t, owner, f, data = shared
    r = owner.download(f["id"], alias=alias)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Length"] == str(len(data))
    assert r.headers["ETag"] == f["etag"]
    modified = email.utils.parsedate_to_datetime(r.headers["Last-Modified"])
    assert modified == parse_time(f["updated_at"])
    assert r.headers["Last-Modified"].endswith(" GMT")
    cd = r.headers["Content-Disposition"]
    assert cd.startswith("attachment;")
    assert content_disposition_filename(cd) == "Zürich report 😀 100%.pdf"
    cd.encode("ascii")  # header values stay ASCII


def test_download_needs_a_readable_file(shared):
    t, owner, f, data = shared
    stranger = t.user("editor")
    assert_error(stranger.download(f["id"]), 404, "not_found")
    assert_error(owner.download("nonexistent-id"), 404, "not_found")
    assert_error(t.env.server.get(f"{API}/files/{f['id']}/download"), 401, "unauthenticated")
    viewer = t.user("viewer")
    owner.grant(f["id"], "viewer", viewer)
    assert viewer.download(f["id"]).content == data


# -- Range --------------------------------------------------------------------------------------

@pytest.mark.parametrize("header,first,last", [
    ("bytes=0-9", 0, 9),
    ("bytes=0-0", 0, 0),
    ("bytes=100-199", 100, 199),
    ("bytes=999-999", 999, 999),
    ("bytes=-5", 995, 999),
    ("bytes=-1", 999, 999),
    ("bytes=10-", 10, 999),
    ("bytes=0-", 0, 999),
    ("bytes=990-5000", 990, 999),
    ("bytes=-5000", 0, 999),
])
def test_range_gives_206(shared, header, first, last):
    t, owner, f, data = shared
    r = owner.download(f["id"], headers={"Range": header})
    assert r.status_code == 206, r.text
    assert r.content == data[first:last + 1]
    assert r.headers["Content-Range"] == f"bytes {first}-{last}/1000"
    assert r.headers["Content-Length"] == str(last - first + 1)
    assert r.headers["ETag"] == f["etag"]
    assert r.headers["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1000", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_range_is_416(shared, header):
    t, owner, f, data = shared
    r = owner.download(f["id"], headers={"Range": header})
    assert_error(r, 416, "range_not_satisfiable")
    assert r.headers["Content-Range"] == "bytes */1000"


def test_range_on_an_empty_file_is_416(tenant):
    f = tenant.admin.put("empty", b"")
    r = tenant.admin.download(f["id"], headers={"Range": "bytes=0-"})
    assert_error(r, 416, "range_not_satisfiable")
    assert r.headers["Content-Range"] == "bytes */0"
    assert tenant.admin.download(f["id"]).content == b""


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-1", "bytes=5-2", "bytes", "bytes=--1"])
def test_malformed_range_is_ignored(shared, header):
    t, owner, f, data = shared
    r = owner.download(f["id"], headers={"Range": header})
    assert r.status_code == 200 and r.content == data


# -- conditionals -------------------------------------------------------------------------------

def test_if_none_match(shared):
    t, owner, f, data = shared
    for value in [f["etag"], "W/" + f["etag"], '"other", ' + f["etag"], "*"]:
        r = owner.download(f["id"], headers={"If-None-Match": value})
        assert r.status_code == 304, value
        assert r.content == b""
        assert r.headers["ETag"] == f["etag"]
    r = owner.download(f["id"], headers={"If-None-Match": '"something-else"'})
    assert r.status_code == 200 and r.content == data
    # If-None-Match wins over Range.
    r = owner.download(f["id"], headers={"If-None-Match": f["etag"], "Range": "bytes=0-1"})
    assert r.status_code == 304


def test_if_range(tenant):
    owner = tenant.admin
    old = owner.put("ir/file", b"0123456789")
    r = owner.download(old["id"], headers={"Range": "bytes=2-4", "If-Range": old["etag"]})
    assert r.status_code == 206 and r.content == b"234"
    new = owner.put("ir/file", b"abcdefghij", overwrite=True)
    r = owner.download(old["id"], headers={"Range": "bytes=2-4", "If-Range": old["etag"]})
    assert r.status_code == 200 and r.content == b"abcdefghij"
    assert r.headers["ETag"] == new["etag"]
    r = owner.download(old["id"], headers={"Range": "bytes=2-4", "If-Range": new["etag"]})
    assert r.status_code == 206 and r.content == b"cde"
    # A weak validator never allows the range.
    r = owner.download(old["id"], headers={"Range": "bytes=2-4", "If-Range": "W/" + new["etag"]})
    assert r.status_code == 200 and r.content == b"abcdefghij"
    # The 304 of the old ETag is gone too.
    assert owner.download(old["id"], headers={"If-None-Match": old["etag"]}).status_code == 200


# -- presigned downloads ------------------------------------------------------------------------

def test_redirect_to_a_presigned_url(shared):
    t, owner, f, data = shared
    r = owner.download(f["id"], params={"redirect": "true"}, allow_redirects=False)
    assert r.status_code == 307
    location = r.headers["Location"]
    url = urllib.parse.urljoin(t.env.server.url, location)
    assert url.startswith(t.env.store.presigned_base(t.env.server)), url
    assert owner.token not in location
    blob = requests.get(url, timeout=30)  # no Authorization header
    assert blob.status_code == 200 and blob.content == data
    assert content_disposition_filename(blob.headers["Content-Disposition"]) == "Zürich report 😀 100%.pdf"
    ranged = requests.get(url, headers={"Range": "bytes=-3"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == data[-3:]
    # Following the redirect with the token works as well.
    followed = owner.download(f["id"], params={"redirect": "true"})
    assert followed.status_code == 200 and followed.content == data
    assert_error(owner.download(f["id"], params={"redirect": "maybe"}), 400, "bad_request")


def test_download_url(shared):
    t, owner, f, data = shared
    before = time.time()
    r = owner.download_url(f["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"url", "method", "expires_at"}
    assert body["method"] == "GET"
    expires = parse_time(body["expires_at"]).timestamp()
    assert before + 900 - 5 <= expires <= time.time() + 900 + 5  # the default: 15 minutes
    got = requests.get(urllib.parse.urljoin(t.env.server.url, body["url"]), timeout=30)
    assert got.status_code == 200 and got.content == data
    r = owner.download_url(f["id"], {"expires_in": 60})
    assert abs(parse_time(r.json()["expires_at"]).timestamp() - (time.time() + 60)) < 5
    r = owner.download_url(f["id"], {"expires_in": 7 * 24 * 3600})
    assert r.status_code == 200


@pytest.mark.parametrize("body", [{"expires_in": 0}, {"expires_in": -1}, {"expires_in": 8 * 24 * 3600},
                                  {"expires_in": 7 * 24 * 3600 + 1}, {"expires_in": "60"},
                                  {"expires_in": 1.5}, {"expires_in": True}, {"other": 1}, [1]])
def test_download_url_bad_expiry_is_400(shared, body):
    t, owner, f, data = shared
    assert_error(owner.download_url(f["id"], body), 400, "bad_request")


def test_download_url_needs_viewer(shared):
    t, owner, f, data = shared
    stranger = t.user("editor")
    assert_error(stranger.download_url(f["id"]), 404, "not_found")
    viewer = t.user("viewer")
    owner.grant(f["id"], "viewer", viewer)
    assert viewer.download_url(f["id"]).status_code == 200


def tamper(url):
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    variants = []
    for i, (k, v) in enumerate(query):
        changed = list(query)
        if k.lower() in ("signature", "x-amz-signature"):
            changed[i] = (k, ("0" if v[0] != "0" else "1") + v[1:])
        elif k.lower() in ("expires", "x-amz-expires"):
            changed[i] = (k, str(int(v) + 3600))
        elif k == "method":
            changed[i] = (k, "PUT")
        else:
            changed[i] = (k, v + "x")
        variants.append(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(changed))))
    variants.append(urllib.parse.urlunsplit(parts._replace(path=parts.path + "x")))
    without_sig = [(k, v) for k, v in query if k.lower() not in ("signature", "x-amz-signature")]
    assert len(without_sig) == len(query) - 1
    variants.append(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(without_sig))))
    return variants


def test_tampered_presigned_url_is_403(shared):
    t, owner, f, data = shared
    url = urllib.parse.urljoin(t.env.server.url, owner.download_url(f["id"]).json()["url"])
    assert requests.get(url, timeout=30).status_code == 200
    variants = tamper(url)
    assert len(variants) >= 4
    for bad in variants:
        r = requests.get(bad, timeout=30)
        assert_presigned_refused(r, t.env.store)
        assert data not in r.content


def test_presigned_url_of_another_file_key_is_403(tenant):
    a = tenant.admin.put("a", b"aaaa")
    b = tenant.admin.put("b", b"bbbb")
    ua = urllib.parse.urlsplit(tenant.admin.download_url(a["id"]).json()["url"])
    ub = urllib.parse.urlsplit(tenant.admin.download_url(b["id"]).json()["url"])
    mixed = urllib.parse.urlunsplit(ua._replace(path=ub.path))
    r = requests.get(urllib.parse.urljoin(tenant.env.server.url, mixed), timeout=30)
    assert r.status_code == 403 and b"bbbb" not in r.content


def test_expired_presigned_url_is_403(tenant):
    f = tenant.admin.put("soon-gone", b"short-lived")
    url = urllib.parse.urljoin(tenant.env.server.url,
                               tenant.admin.download_url(f["id"], {"expires_in": 1}).json()["url"])
    time.sleep(2.1)
    assert_presigned_refused(requests.get(url, timeout=30), tenant.env.store)


# -- delete -------------------------------------------------------------------------------------

def test_delete_by_the_owner(tenant):
    owner = tenant.user("editor")
    f = owner.put("del/me", b"bye")
    r = owner.delete(f["id"])
    assert r.status_code == 204 and r.content == b""
    assert_error(owner.get_file(f["id"]), 404, "not_found")
    assert_error(owner.download(f["id"]), 404, "not_found")
    assert_error(owner.delete(f["id"]), 404, "not_found")
    assert_error(owner.rename(f["id"], "del/again"), 404, "not_found")
    assert owner.paths() == []
    assert tenant.assert_usage_exact() == (0, 0)
    # The path is free again, for a new file.
    assert owner.put("del/me", b"new")["id"] != f["id"]


def test_delete_needs_admin_on_the_file(tenant):
    owner = tenant.user("editor")
    f = owner.put("del/guarded", b"x")
    viewer, editor, other_admin_grant, nobody = (tenant.user("editor") for _ in range(4))
    owner.grant(f["id"], "viewer", viewer)
    owner.grant(f["id"], "editor", editor)
    assert_error(nobody.delete(f["id"]), 404, "not_found")
    assert_error(viewer.delete(f["id"]), 403, "forbidden")
    assert_error(editor.delete(f["id"]), 403, "forbidden")
    assert owner.get_file(f["id"]).status_code == 200
    # A file-admin grant allows it; so does the tenant admin role.
    owner.grant(f["id"], "admin", other_admin_grant)
    assert other_admin_grant.delete(f["id"]).status_code == 204
    g = owner.put("del/by-tenant-admin", b"y")
    assert tenant.admin.delete(g["id"]).status_code == 204
    assert owner.paths() == []


def test_concurrent_deletes_exactly_one_succeeds(tenant):
    f = tenant.admin.put("del/race", b"contested")
    results = run_parallel(8, lambda i: tenant.admin.delete(f["id"]))
    codes = sorted(r.status_code for r in results)
    assert codes == [204] + [404] * 7, codes
    for r in results:
        if r.status_code == 404:
            assert_error(r, 404, "not_found")
    assert tenant.assert_usage_exact() == (0, 0)


def test_download_in_flight_survives_a_delete(tenant):
    data = os.urandom(8 * 1024 * 1024)
    f = tenant.admin.put("del/streaming", data)
    with tenant.admin.download(f["id"], stream=True) as r:
        assert r.status_code == 200
        it = r.iter_content(65536)
        head = next(it)
        assert tenant.admin.delete(f["id"]).status_code == 204
        rest = b"".join(it)
    assert head + rest == data


def test_downloads_during_overwrites_are_never_mixed(tenant):
    versions = {}
    f = tenant.admin.put("mix/file", bytes([0]) * 300_000)
    versions[f["etag"]] = bytes([0]) * 300_000
    stop = []

    def writer():
        for v in range(1, 9):
            data = bytes([v]) * (300_000 + v)
            g = tenant.admin.put("mix/file", data, overwrite=True)
            versions[g["etag"]] = data
        stop.append(True)

    seen = []

    def reader(i):
        if i == 0:
            return writer()
        while not stop:
            r = tenant.admin.download(f["id"])
            assert r.status_code == 200
            seen.append((r.headers["ETag"], r.content))
            ranged = tenant.admin.download(f["id"], headers={"Range": "bytes=-10"})
            seen.append((ranged.headers["ETag"], None))
            assert len(set(ranged.content)) == 1

    run_parallel(4, reader)
    assert seen
    for etag, content in seen:
        assert etag in versions
        if content is not None:
            assert content == versions[etag]


def test_blob_route_refuses_unsigned_and_traversing_keys(shared):
    t, owner, f, data = shared
    url = urllib.parse.urlsplit(owner.download_url(f["id"]).json()["url"])
    base = t.env.server.url
    # On S3 the presigned URLs point at the store, and Coffer's /blob route must serve nothing.
    genuine = "/blob/" + url.path.split("/blob/", 1)[1] if "/blob/" in url.path else None
    for path in [genuine, "/blob/..%2F..%2Fcoffer.db", "/blob/%2e%2e/%2e%2e/coffer.db", "/blob/../coffer.db",
                 "/blob/" + t.id + "/..%2F..%2F..%2Fcoffer.db", "/blob/" + t.id + "/" + f["id"]]:
        if path is None:
            continue
        for query in ["", "?" + url.query]:
            if path == genuine and query:
                continue  # the genuine URL
            r = requests.get(base + path + query, timeout=30)
            assert r.status_code in (400, 403, 404), (path, query, r.status_code)
            assert data not in r.content and b"SQLite" not in r.content
