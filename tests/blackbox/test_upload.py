"""Files, part 1 (API.md "Files", issue 4): uploads as multipart/form-data and as raw bodies,
checksums, path rules, Unicode paths, overwrite and versions, concurrency, the size limit."""
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import time
import unicodedata

import pytest

from coffer_server import CofferServer, recv_all, split_response
from files_support import (API, Env, assert_error, assert_file_object, content_disposition_filename,
                           file_part, multipart, path_part, q, run_parallel, sha256, storage_metric)


@pytest.fixture(scope="module")
def env():
    s = CofferServer(env={"COFFER_GC_GRACE": "0s", "COFFER_GC_INTERVAL": "1h"})
    s.start()
    yield Env(s)
    s.close()


@pytest.fixture
def tenant(env):
    return env.tenant()


@pytest.fixture
def editor(tenant):
    return tenant.user("editor")


def download_bytes(user, file_id):
    r = user.download(file_id)
    assert r.status_code == 200, r.text
    return r.content


def test_metrics_show_storage_calls(env, editor):
    """API.md "Service": /metrics shows storage call latency and errors."""
    before = storage_metric(env.server, "coffer_storage_calls_total", "put")
    f = editor.put("metrics/one.bin", b"counted")
    assert storage_metric(env.server, "coffer_storage_calls_total", "put") > before
    assert storage_metric(env.server, "coffer_storage_errors_total", "put") == 0
    assert download_bytes(editor, f["id"]) == b"counted"
    assert storage_metric(env.server, "coffer_storage_calls_total", "get") > 0
    text = env.server.get("/metrics").text
    assert re.search(r'^coffer_storage_call_duration_seconds_count\{op="put"\} [1-9]', text, re.M), text


# -- multipart/form-data ------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["path_first", "path_last"])
def test_multipart_with_path_part_before_or_after_the_file(editor, order):
    data = b"form upload " + order.encode()
    parts = [path_part("docs/" + order + ".txt"), file_part(data, "ignored.bin", "text/plain")]
    if order == "path_last":
        parts.reverse()
    r = editor.upload_form(parts)
    assert r.status_code == 201, r.text
    f = r.json()
    assert_file_object(f, path="docs/" + order + ".txt", data=data, content_type="text/plain",
                       owner=editor, role="admin", version=1)
    assert r.headers["Location"] == f"{API}/files/{f['id']}"
    assert download_bytes(editor, f["id"]) == data
    assert editor.paths() == ["docs/" + order + ".txt"]


@pytest.mark.parametrize("path_value", [None, ""])
def test_multipart_without_a_path_uses_the_filename(editor, path_value):
    data = b"named by its filename"
    parts = [file_part(data, "report 2026.pdf", "application/pdf")]
    if path_value is not None:
        parts.insert(0, path_part(path_value))
    r = editor.upload_form(parts)
    assert r.status_code == 201, r.text
    assert_file_object(r.json(), path="report 2026.pdf", data=data, content_type="application/pdf")


def test_multipart_filename_star_is_decoded(editor):
    name = "Grüße 😀 100%+#?.txt"
    r = editor.upload_form([{"name": "file", "data": b"x", "filename": "fallback.txt",
                             "filename_star": name, "content_type": "text/plain"}])
    assert r.status_code == 201, r.text
    assert r.json()["path"] == name


def test_multipart_without_a_file_part_or_a_name_is_refused(editor):
    assert_error(editor.upload_form([path_part("a.txt")]), 400, "bad_request")
    r = editor.upload_form([file_part(b"no name at all", filename=None)])
    assert r.status_code == 400 and r.json()["error"]["code"] in ("bad_request", "invalid_path")
    assert editor.paths() == []


def test_malformed_multipart_stores_nothing(tenant, editor):
    good, ctype = multipart([path_part("broken.bin"), file_part(os.urandom(200_000))])
    cases = [
        (good[:-40], ctype),                                    # no close delimiter: the body ends early
        (good[:150_000], ctype),                                # cut inside the file part
        (good, "multipart/form-data"),                          # no boundary
        (good, "multipart/form-data; boundary=other"),          # a boundary that never comes
        (b"garbage without any structure", ctype),
    ]
    for body, content_type in cases:
        r = editor.request("POST", f"{API}/files/", data=body, headers={"Content-Type": content_type})
        assert_error(r, 400, "bad_request")
    two_files, ctype2 = multipart([path_part("two.bin"), file_part(b"1"), file_part(b"2")])
    r = editor.request("POST", f"{API}/files/", data=two_files, headers={"Content-Type": ctype2})
    assert_error(r, 400, "bad_request")
    unknown, ctype3 = multipart([{"name": "comment", "data": b"hi"}, path_part("x.bin"), file_part(b"1")])
    r = editor.request("POST", f"{API}/files/", data=unknown, headers={"Content-Type": ctype3})
    assert_error(r, 400, "bad_request")
    assert tenant.all_files() == []
    assert tenant.objects() == set()
    assert tenant.assert_usage_exact() == (0, 0)


def test_client_that_disconnects_mid_upload_leaves_nothing(env, tenant, editor):
    form_body, form_type = multipart([path_part("cut.bin"), file_part(b"y" * 1_000_000)])
    for ctype, body in [("application/octet-stream", b"x" * 1_000_000), (form_type, form_body)]:
        target = f"{API}/files/?path=cut.bin" if ctype == "application/octet-stream" else f"{API}/files/"
        head = (f"POST {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {editor.token}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", env.server.port), timeout=10) as c:
            c.sendall(head + body[:300_000])  # then the client goes away
            time.sleep(0.3)
        deadline = time.time() + 10
        while tenant.objects() and time.time() < deadline:
            time.sleep(0.05)
        assert tenant.objects() == set()
    assert tenant.all_files() == []
    assert editor.put("cut.bin", b"the path is free")["version"] == 1


def test_overwrite_flag_must_be_true_or_false(tenant, editor):
    for value in ["yes", "1", "TRUE", ""]:
        r = editor.request("POST", f"{API}/files/?path=flag.txt&overwrite={value}", data=b"x")
        assert_error(r, 400, "bad_request")
    assert editor.request("POST", f"{API}/files/?path=flag.txt&overwrite=false", data=b"x").status_code == 201
    assert_error(editor.request("POST", f"{API}/files/?path=flag.txt&overwrite=false", data=b"y"), 409,
                 "conflict")
    assert tenant.all_files()[0]["version"] == 1


def test_a_file_and_a_folder_may_share_a_name(editor):
    editor.put("x", b"file x")
    editor.put("x/y", b"file x/y")
    items, folders = editor.list_all(delimiter="/")
    assert [f["path"] for f in items] == ["x"] and folders == ["x/"]


def test_curl_with_expect_100_continue(env, editor, tmp_path):
    src = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024)
    src.write_bytes(data)
    target = f"{env.server.url}{API}/files/?path=curl/expect.bin"
    out = subprocess.run(["curl", "-sS", "-v", "-o", "-", "-w", "\n%{http_code}", "--data-binary", f"@{src}",
                          "-H", "Expect: 100-continue", "-H", "Content-Type: application/octet-stream",
                          "-H", f"Authorization: Bearer {editor.token}", target],
                         capture_output=True, timeout=60)
    body, _, code = out.stdout.rpartition(b"\n")
    assert code == b"201", out
    assert b"100 Continue" in out.stderr
    f = json.loads(body)
    assert f["sha256"] == sha256(data)


def test_multipart_part_without_content_type_defaults_to_octet_stream(editor):
    r = editor.upload_form([path_part("plain"), {"name": "file", "data": b"abc", "filename": "f"}])
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "application/octet-stream"


def test_multipart_body_that_looks_like_a_boundary_survives(editor):
    boundary = "XyZ-boundary"
    data = b"--XyZ-boundar\r\n--XyZ-boundaryX\r\n\r\n--XyZ-bound" + bytes(range(256)) + b"\r\n--"
    r = editor.upload_form([path_part("tricky.bin"), file_part(data)], boundary=boundary)
    assert r.status_code == 201, r.text
    assert download_bytes(editor, r.json()["id"]) == data


def test_multipart_with_curl(env, editor, tmp_path):
    src = tmp_path / "from curl.bin"
    data = os.urandom(300_000)
    src.write_bytes(data)
    out = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}",
                          "-H", f"Authorization: Bearer {editor.token}",
                          "-F", f"file=@{src};type=image/png", "-F", "path=pics/curl.png",
                          f"{env.server.url}{API}/files/"], capture_output=True, timeout=60)
    body, _, code = out.stdout.rpartition(b"\n")
    assert code == b"201", out
    f = json.loads(body)
    assert_file_object(f, path="pics/curl.png", data=data, content_type="image/png")
    assert download_bytes(editor, f["id"]) == data


# -- raw bodies ---------------------------------------------------------------------------------

def test_raw_upload_returns_the_file_object_and_location(tenant, editor):
    data = b"hello, coffer\n"
    r = editor.upload("reports/2026/q1.txt", data, content_type="text/plain; charset=utf-8")
    assert r.status_code == 201, r.text
    f = r.json()
    assert_file_object(f, path="reports/2026/q1.txt", data=data,
                       content_type="text/plain; charset=utf-8", owner=editor, role="admin", version=1)
    assert f["created_at"] == f["updated_at"]
    assert r.headers["Location"] == f"{API}/files/{f['id']}"
    got = editor.request("GET", r.headers["Location"])
    assert got.status_code == 200 and got.json() == f
    # The tenant admin sees the same file, as admin; the owner stays the uploader.
    seen = tenant.admin.get_file(f["id"]).json()
    assert seen["owner_id"] == editor.id and seen["role"] == "admin"
    r = editor.download(f["id"])
    assert r.content == data and r.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_raw_upload_without_content_type_is_octet_stream(editor):
    r = editor.upload("no-type", b"abc", content_type=None)
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "application/octet-stream"


def test_a_content_type_that_is_not_printable_ascii_is_refused(editor):
    # Stored with the file and sent back with it: a database column must keep it as it came.
    for raw in (b"text/\xff\xfe", "text/plain; name=\"\u00e9\"".encode(), b"text/plain\x01"):
        r = editor.request("POST", f"{API}/files/?path=typed.bin", data=b"abc", headers={"Content-Type": raw})
        assert_error(r, 400, "bad_request")
    r = editor.upload_form([path_part("typed.bin"), file_part(b"abc", content_type="image/\u00e9")])
    assert_error(r, 400, "bad_request")
    assert editor.paths() == []


def test_raw_upload_needs_a_path(editor):
    r = editor.request("POST", f"{API}/files/", data=b"abc", headers={"Content-Type": "text/plain"})
    assert_error(r, 400, "invalid_path")


def test_upload_needs_editor_tenant_role(tenant):
    viewer = tenant.user("viewer")
    assert_error(viewer.upload("v.txt", b"x"), 403, "forbidden")
    assert_error(viewer.upload_form([path_part("v.txt"), file_part(b"x")]), 403, "forbidden")
    assert tenant.admin.paths() == []
    r = tenant.env.server.post(f"{API}/files/?path=anon.txt", data=b"x")
    assert_error(r, 401, "unauthenticated")


def test_every_byte_value_round_trips(editor):
    data = bytes(range(256)) * 17 + bytes(reversed(range(256)))
    f = editor.put("bytes/all.bin", data)
    assert_file_object(f, data=data)
    assert download_bytes(editor, f["id"]) == data
    form = editor.upload_form([path_part("bytes/form.bin"), file_part(data)])
    assert form.status_code == 201, form.text
    assert download_bytes(editor, form.json()["id"]) == data


def test_empty_file(tenant, editor):
    f = editor.put("empty", b"")
    assert_file_object(f, data=b"", version=1)
    assert f["sha256"] == hashlib.sha256(b"").hexdigest()
    r = editor.download(f["id"])
    assert r.status_code == 200 and r.content == b"" and r.headers["Content-Length"] == "0"
    form = editor.upload_form([path_part("empty-form"), file_part(b"")])
    assert form.status_code == 201 and form.json()["size"] == 0
    assert tenant.assert_usage_exact() == (0, 2)


def test_chunked_upload_with_requests(editor):
    blocks = [os.urandom(10_000 + i) for i in range(7)]
    r = editor.upload("chunked/requests.bin", iter(blocks))  # a generator: chunked encoding
    assert r.status_code == 201, r.text
    data = b"".join(blocks)
    assert_file_object(r.json(), data=data)
    assert download_bytes(editor, r.json()["id"]) == data


def test_chunked_upload_with_curl(env, editor, tmp_path):
    src = tmp_path / "chunked.bin"
    data = os.urandom(1_000_000)
    src.write_bytes(data)
    target = f"{env.server.url}{API}/files/?path={q('chunked/curl ü.bin')}"
    out = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--data-binary", f"@{src}",
                          "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/x-thing",
                          "-H", f"Authorization: Bearer {editor.token}", target],
                         capture_output=True, timeout=60)
    body, _, code = out.stdout.rpartition(b"\n")
    assert code == b"201", out
    f = json.loads(body)
    assert_file_object(f, path="chunked/curl ü.bin", data=data, content_type="application/x-thing")
    assert download_bytes(editor, f["id"]) == data


def test_64_mib_chunked_upload_verified_by_hash(editor):
    total = 64 * 1024 * 1024
    block = 1024 * 1024
    rng = random.Random(4)
    digest = hashlib.sha256()

    def body():
        for _ in range(total // block):
            chunk = rng.randbytes(block)
            digest.update(chunk)
            yield chunk

    r = editor.upload("big/64mib.bin", body(), headers={})
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["size"] == total
    assert f["sha256"] == digest.hexdigest()
    got = hashlib.sha256()
    n = 0
    with editor.download(f["id"], stream=True) as resp:
        assert resp.status_code == 200
        assert int(resp.headers["Content-Length"]) == total
        for chunk in resp.iter_content(1 << 20):
            got.update(chunk)
            n += len(chunk)
    assert n == total and got.hexdigest() == digest.hexdigest()


# -- X-Checksum-Sha256 --------------------------------------------------------------------------

def test_checksum_that_matches_is_accepted(editor):
    data = b"checked bytes"
    f = editor.put("sum/ok.txt", data, headers={"X-Checksum-Sha256": sha256(data)})
    assert f["sha256"] == sha256(data)
    chunked = editor.put("sum/chunked.txt", iter([data[:3], data[3:]]),
                         headers={"X-Checksum-Sha256": sha256(data)})
    assert chunked["sha256"] == sha256(data)
    upper = editor.put("sum/upper.txt", data, headers={"X-Checksum-Sha256": sha256(data).upper()})
    assert upper["sha256"] == sha256(data)
    form = editor.upload_form([path_part("sum/form.txt"), file_part(data)],
                              headers={"X-Checksum-Sha256": sha256(data)})
    assert form.status_code == 201, form.text


def test_checksum_mismatch_stores_nothing(env, tenant, editor):
    editor.put("sum/base.txt", b"base")
    before = tenant.assert_usage_exact()
    data = b"the bytes sent"
    wrong = sha256(b"other bytes")
    attempts = [
        editor.upload("sum/bad.txt", data, headers={"X-Checksum-Sha256": wrong}),
        editor.upload("sum/bad-chunked.txt", iter([data[:5], data[5:]]), headers={"X-Checksum-Sha256": wrong}),
        editor.upload_form([path_part("sum/bad-form.txt"), file_part(data)],
                           headers={"X-Checksum-Sha256": wrong}),
        editor.upload("sum/base.txt", data, overwrite=True, headers={"X-Checksum-Sha256": wrong}),
    ]
    for r in attempts:
        assert_error(r, 400, "bad_request")
    assert editor.paths(prefix="sum/") == ["sum/base.txt"]
    assert tenant.assert_usage_exact() == before
    base = tenant.all_files()[0]
    assert base["version"] == 1 and download_bytes(editor, base["id"]) == b"base"
    assert len(tenant.objects()) == 1  # removed at once, not left for the collector
    env.gc()
    assert len(tenant.objects()) == 1


@pytest.mark.parametrize("value", ["abc", "z" * 64, "0" * 63, "0" * 65, "0" * 31 + " " + "0" * 32, "sha256=" + "0" * 64, ""])
def test_malformed_checksum_header_is_400(tenant, editor, value):
    assert_error(editor.upload("sum/malformed", b"x", headers={"X-Checksum-Sha256": value}),
                 400, "bad_request")
    assert tenant.all_files() == []


# -- paths --------------------------------------------------------------------------------------

INVALID_PATHS = [
    "/leading", "trailing/", "/", "a//b", "//", ".", "..", "./a", "a/.", "a/./b", "a/../b", "../a",
    "a/..", "a\x00b", "a\x01b", "a\nb", "a\rb", "a\tb", "a\x1fb", "a\x7fb", "a\\b", "\\", "x" * 1025,
    "é" * 512 + "x",
]


@pytest.mark.parametrize("bad", INVALID_PATHS, ids=lambda p: repr(p)[:40])
def test_invalid_paths_are_refused(tenant, editor, bad):
    assert_error(editor.upload(bad, b"x"), 400, "invalid_path")
    assert_error(editor.upload_form([path_part(bad), file_part(b"x")]), 400, "invalid_path")
    if all(0x20 <= ord(c) != 0x7F for c in bad) and not bad.endswith("\\"):
        assert_error(editor.upload_form([file_part(b"x", filename=bad.encode())]), 400, "invalid_path")
    f = editor.put("valid-name", b"x")
    assert_error(editor.rename(f["id"], bad), 400, "invalid_path")
    assert [x["path"] for x in tenant.all_files()] == ["valid-name"]
    assert len(tenant.objects()) == 1


def test_empty_query_path_is_invalid(editor):
    assert_error(editor.upload("", b"x"), 400, "invalid_path")


INVALID_UTF8 = [b"\xff", b"a\xfeb", b"\xc3", b"\xc3(", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80",
                b"\xf4\x90\x80\x80", b"ok/\x80", b"\xf0\x9f\x98"]


@pytest.mark.parametrize("raw", INVALID_UTF8, ids=lambda b: b.hex())
def test_invalid_utf8_is_invalid_path(tenant, editor, raw):
    assert_error(editor.upload(None, b"x", query_path=q(raw)), 400, "invalid_path")
    assert_error(editor.upload_form([path_part(raw), file_part(b"x")]), 400, "invalid_path")
    assert_error(editor.upload_form([path_part(raw + b"-after"), file_part(b"x")][::-1]), 400,
                 "invalid_path")
    assert_error(editor.upload_form([file_part(b"x", filename=raw)]), 400, "invalid_path")
    assert tenant.all_files() == []
    assert tenant.objects() == set()


def test_longest_paths_are_accepted(editor):
    ascii_path = "d/" + "x" * 1022
    assert len(ascii_path.encode()) == 1024
    assert editor.put(ascii_path, b"1")["path"] == ascii_path
    multi = "é" * 511 + "yz"
    assert len(multi.encode()) == 1024
    assert editor.put(multi, b"2")["path"] == multi
    form = editor.upload_form([path_part("f/" + "y" * 1022), file_part(b"3")])
    assert form.status_code == 201, form.text


def test_dots_inside_segments_are_fine(editor):
    for p in ["...", ".hidden", "a/.b/c..d", "..a", "a..", "x/.../y"]:
        assert editor.put(p, b"x")["path"] == p


UNICODE_PATHS = [
    "données/résumé.txt",
    "日本語/ファイル名.txt",
    "📁 folder/😀 smile 👨‍👩‍👧.txt",
    "percent/100% sure %41%2F.txt",
    "plus/a+b=c.txt",
    "hash/#1 & ?query=yes;x.txt",
    "spaces/  two  spaces  .txt",
    "mixed/'quote\" <angle> |pipe| *star* ~tilde~ `tick` [sq] {cb} ^,.txt",
    "ü/🚀/ä",
    "Ω≈ç√∫",
]


@pytest.mark.parametrize("path", UNICODE_PATHS)
def test_unicode_and_special_paths_round_trip(editor, path):
    data = path.encode("utf-8")
    f = editor.put(path, data)
    assert f["path"].encode("utf-8") == path.encode("utf-8")
    assert editor.get_file(f["id"]).json()["path"] == path
    assert editor.paths() == [path]
    assert editor.paths(prefix=path.split("/")[0]) == [path]
    r = editor.download(f["id"])
    assert r.content == data
    name = path.rsplit("/", 1)[-1]
    assert content_disposition_filename(r.headers["Content-Disposition"]) == name
    assert r.headers["Content-Disposition"].startswith("attachment")
    # The same path sent in a form's path part and as a part's filename names the same file.
    assert_error(editor.upload_form([path_part(path), file_part(b"again")]), 409, "conflict")
    assert_error(editor.upload_form([{"name": "file", "data": b"x", "filename_star": path}]), 409,
                 "conflict")
    # Renaming to it and back works too.
    assert editor.rename(f["id"], path + ".moved").json()["path"] == path + ".moved"
    assert editor.rename(f["id"], path).json()["path"] == path


def test_plus_in_a_query_is_a_space_unless_percent_encoded(editor):
    assert editor.upload(None, b"1", query_path="a+b.txt").json()["path"] == "a b.txt"
    assert editor.upload(None, b"2", query_path="a%2Bb.txt").json()["path"] == "a+b.txt"
    assert sorted(editor.paths()) == ["a b.txt", "a+b.txt"]


def test_nfc_and_nfd_are_different_files(editor):
    nfc = unicodedata.normalize("NFC", "café/Ångström.txt")
    nfd = unicodedata.normalize("NFD", "café/Ångström.txt")
    assert nfc != nfd
    a = editor.put(nfc, b"composed")
    b = editor.put(nfd, b"decomposed")
    assert a["id"] != b["id"]
    assert a["path"].encode() == nfc.encode() and b["path"].encode() == nfd.encode()
    listed = editor.paths()
    assert sorted(listed, key=str.encode) == sorted([nfc, nfd], key=str.encode) == listed
    assert download_bytes(editor, a["id"]) == b"composed"
    assert download_bytes(editor, b["id"]) == b"decomposed"
    assert editor.paths(prefix=unicodedata.normalize("NFD", "café/")) == [nfd]


# -- overwrite and versions ---------------------------------------------------------------------

def test_existing_path_without_overwrite_is_409(tenant, editor):
    f = editor.put("x/one.txt", b"first")
    assert_error(editor.upload("x/one.txt", b"second"), 409, "conflict")
    assert_error(editor.upload_form([path_part("x/one.txt"), file_part(b"second")]), 409, "conflict")
    assert_error(editor.upload_form([file_part(b"second"), path_part("x/one.txt")]), 409, "conflict")
    assert download_bytes(editor, f["id"]) == b"first"
    assert editor.get_file(f["id"]).json()["version"] == 1
    assert tenant.assert_usage_exact() == (5, 1)
    env = tenant.env
    env.gc()
    assert len(tenant.objects()) == 1


def test_existing_path_of_a_file_the_caller_cannot_read_is_409_and_says_nothing(tenant, editor):
    other = tenant.user("editor")
    f = editor.put("private/plan.txt", b"secret plan")
    for overwrite in (False, True):
        r = other.upload("private/plan.txt", b"mine now", overwrite=overwrite)
        assert_error(r, 409, "conflict")
        assert f["id"] not in r.text and editor.id not in r.text and "secret" not in r.text
    r = other.upload_form([path_part("private/plan.txt"), file_part(b"x")])
    assert_error(r, 409, "conflict")
    assert download_bytes(editor, f["id"]) == b"secret plan"
    assert editor.get_file(f["id"]).json()["version"] == 1
    assert other.paths() == []


def test_overwrite_keeps_the_id_and_bumps_the_version(tenant, editor):
    f1 = editor.put("v/file.txt", b"version one", content_type="text/plain")
    r = editor.upload("v/file.txt", b"version two, longer", overwrite=True, content_type="text/markdown")
    assert r.status_code == 201, r.text
    f2 = r.json()
    assert_file_object(f2, path="v/file.txt", data=b"version two, longer", content_type="text/markdown",
                       owner=editor, role="admin", version=2)
    assert f2["id"] == f1["id"] and f2["created_at"] == f1["created_at"]
    assert f2["etag"] != f1["etag"] and f2["sha256"] != f1["sha256"]
    assert r.headers["Location"] == f"{API}/files/{f1['id']}"
    assert download_bytes(editor, f1["id"]) == b"version two, longer"
    # Same bytes again: still a new version, with a new ETag.
    f3 = editor.put("v/file.txt", b"version two, longer", overwrite=True)
    assert f3["version"] == 3 and f3["etag"] not in (f1["etag"], f2["etag"])
    form = editor.upload_form([file_part(b"four"), path_part("v/file.txt")], overwrite=True)
    assert form.status_code == 201 and form.json()["version"] == 4 and form.json()["id"] == f1["id"]
    assert [x["path"] for x in tenant.all_files()] == ["v/file.txt"]
    assert tenant.assert_usage_exact() == (4, 1)


def test_overwrite_of_a_new_path_creates_it(editor):
    f = editor.put("new/by-overwrite", b"x", overwrite=True)
    assert f["version"] == 1


def test_overwrite_needs_editor_on_the_file(tenant, editor):
    f = editor.put("acl/doc", b"original")
    viewer_grant = tenant.user("editor")
    assert editor.grant(f["id"], "viewer", viewer_grant).status_code == 200
    assert_error(viewer_grant.upload("acl/doc", b"nope", overwrite=True), 403, "forbidden")
    editor_grant = tenant.user("editor")
    assert editor.grant(f["id"], "editor", editor_grant).status_code == 200
    r = editor_grant.upload("acl/doc", b"changed", overwrite=True)
    assert r.status_code == 201 and r.json()["role"] == "editor" and r.json()["owner_id"] == editor.id
    assert download_bytes(editor, f["id"]) == b"changed"


def test_if_match_on_overwrite(editor):
    f = editor.put("m/doc", b"one")
    assert_error(editor.upload("m/doc", b"two", overwrite=True, headers={"If-Match": '"nope"'}), 412,
                 "precondition_failed")
    assert download_bytes(editor, f["id"]) == b"one"
    r = editor.upload("m/doc", b"two", overwrite=True, headers={"If-Match": f["etag"]})
    assert r.status_code == 201 and r.json()["version"] == 2
    # The old ETag is stale now.
    assert_error(editor.upload("m/doc", b"three", overwrite=True, headers={"If-Match": f["etag"]}), 412,
                 "precondition_failed")
    r = editor.upload_form([path_part("m/doc"), file_part(b"three")], overwrite=True,
                           headers={"If-Match": r.json()["etag"]})
    assert r.status_code == 201 and r.json()["version"] == 3
    assert download_bytes(editor, f["id"]) == b"three"
    # If-Match compares strongly: a weak tag never matches.
    assert_error(editor.upload("m/doc", b"four", overwrite=True, headers={"If-Match": "W/" + r.json()["etag"]}),
                 412, "precondition_failed")
    # If-Match needs a file to match: on a free path it fails.
    assert_error(editor.upload("m/absent", b"x", overwrite=True, headers={"If-Match": f["etag"]}), 412,
                 "precondition_failed")
    assert editor.paths(prefix="m/") == ["m/doc"]


def test_if_match_on_patch_and_delete(editor):
    f = editor.put("m2/doc", b"one")
    assert_error(editor.rename(f["id"], "m2/renamed", headers={"If-Match": '"stale"'}), 412,
                 "precondition_failed")
    r = editor.rename(f["id"], "m2/renamed", headers={"If-Match": f["etag"]})
    assert r.status_code == 200 and r.json()["path"] == "m2/renamed"
    assert_error(editor.delete(f["id"], headers={"If-Match": '"stale"'}), 412, "precondition_failed")
    assert editor.get_file(f["id"]).status_code == 200
    current = editor.get_file(f["id"]).json()
    assert editor.delete(f["id"], headers={"If-Match": current["etag"]}).status_code == 204
    assert editor.get_file(f["id"]).status_code == 404


def test_16_parallel_uploads_to_one_new_path(tenant, editor):
    bodies = [f"contender {i}".encode() * (i + 1) for i in range(16)]
    results = run_parallel(16, lambda i: editor.upload("race/one", bodies[i]))
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 15, codes
    winner = next(i for i, r in enumerate(results) if r.status_code == 201)
    for r in results:
        if r.status_code == 409:
            assert_error(r, 409, "conflict")
    files = tenant.all_files()
    assert len(files) == 1 and files[0]["version"] == 1
    assert download_bytes(editor, files[0]["id"]) == bodies[winner]
    tenant.assert_usage_exact()
    tenant.env.gc()
    assert len(tenant.objects()) == 1


def test_concurrent_overwrites_each_get_their_own_version(tenant, editor):
    f = editor.put("race/shared", b"v1")
    n = 8
    bodies = [os.urandom(1000 + i) for i in range(n)]
    results = run_parallel(n, lambda i: editor.upload("race/shared", bodies[i], overwrite=True))
    assert [r.status_code for r in results] == [201] * n, [r.text for r in results]
    versions = sorted(r.json()["version"] for r in results)
    assert versions == list(range(2, n + 2))
    assert {r.json()["id"] for r in results} == {f["id"]}
    for r, body in zip(results, bodies):
        assert r.json()["sha256"] == sha256(body)
    last = max(range(n), key=lambda i: results[i].json()["version"])
    final = editor.get_file(f["id"]).json()
    assert final["version"] == n + 1 and final["sha256"] == sha256(bodies[last])
    assert download_bytes(editor, f["id"]) == bodies[last]
    tenant.assert_usage_exact()
    tenant.env.gc()
    assert len(tenant.objects()) == 1


def test_parallel_overwrites_of_a_new_path_all_succeed(tenant, editor):
    results = run_parallel(12, lambda i: editor.upload("race/fresh", bytes([i]) * 100, overwrite=True))
    assert [r.status_code for r in results] == [201] * 12, [r.text for r in results]
    assert sorted(r.json()["version"] for r in results) == list(range(1, 13))
    assert len({r.json()["id"] for r in results}) == 1
    assert tenant.assert_usage_exact() == (100, 1)


def test_32_parallel_uploads_of_different_files(tenant, editor):
    bodies = [os.urandom(5000 + 7 * i) for i in range(32)]
    results = run_parallel(32, lambda i: editor.upload(f"many/{i:02d}.bin", bodies[i]))
    assert [r.status_code for r in results] == [201] * 32, [r.text for r in results if r.status_code != 201]
    assert len({r.json()["id"] for r in results}) == 32
    assert editor.paths() == [f"many/{i:02d}.bin" for i in range(32)]
    for r, body in zip(results, bodies):
        assert download_bytes(editor, r.json()["id"]) == body
    assert tenant.assert_usage_exact() == (sum(map(len, bodies)), 32)


# -- the size limit -----------------------------------------------------------------------------

LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def limited():
    s = CofferServer(env={"COFFER_MAX_UPLOAD_BYTES": "1MiB", "COFFER_GC_GRACE": "0s"})
    s.start()
    env = Env(s)
    t = env.tenant()
    yield env, t
    s.close()


def test_declared_length_over_the_limit_is_413_without_reading_the_body(limited):
    env, t = limited
    for target in [f"{API}/files/?path=big.bin", f"{API}/files/"]:
        ctype = "application/octet-stream" if "path=" in target else "multipart/form-data; boundary=b"
        head = (f"POST {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.admin.token}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {LIMIT + 1}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", env.server.port), timeout=10) as c:
            c.sendall(head + b"only a few bytes of the body")
            status, headers, body = split_response(recv_all(c))  # no body sent: the answer comes anyway
        assert status == 413, body
        assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert t.all_files() == [] and t.objects() == set()


def test_body_at_the_limit_is_accepted(limited):
    env, t = limited
    data = os.urandom(LIMIT)
    assert t.admin.put("exact.bin", data)["size"] == LIMIT
    r = t.admin.upload("exact-chunked.bin", (data[i:i + 65536] for i in range(0, LIMIT, 65536)))
    assert r.status_code == 201 and r.json()["sha256"] == sha256(data)
    for f in t.all_files():
        t.admin.delete(f["id"])


def test_chunked_body_over_the_limit_is_413_and_stores_nothing(limited):
    env, t = limited
    chunks = [os.urandom(65536) for _ in range(LIMIT // 65536 + 2)]
    r = t.admin.upload("over.bin", iter(chunks))
    assert_error(r, 413, "payload_too_large")
    body, ctype = multipart([path_part("over-form.bin"), file_part(b"".join(chunks))])

    def form_chunks():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    r = t.admin.request("POST", f"{API}/files/", data=form_chunks(), headers={"Content-Type": ctype})
    assert_error(r, 413, "payload_too_large")
    assert t.all_files() == []
    assert t.info()["used_bytes"] == 0
    env.gc()
    assert t.objects() == set()
    assert env.temp_files() == []


def test_curl_over_the_limit_gets_413_before_sending(limited, tmp_path):
    env, t = limited
    src = tmp_path / "too-big.bin"
    src.write_bytes(os.urandom(LIMIT + 1))
    out = subprocess.run(["curl", "-sS", "-v", "-o", "-", "-w", "\n%{http_code}", "--data-binary", f"@{src}",
                          "-H", "Expect: 100-continue", "-H", f"Authorization: Bearer {t.admin.token}",
                          f"{env.server.url}{API}/files/?path=too-big.bin"], capture_output=True, timeout=60)
    body, _, code = out.stdout.rpartition(b"\n")
    assert code == b"413", out
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert b"100 Continue" not in out.stderr
    assert t.all_files() == [] and t.objects() == set()
