"""Files, part 4 (API.md "Files", "Permissions", "Tenants"; issue 4): quotas and usage, file
grants, tenant isolation, and `coffer gc`."""
import os
import random
import urllib.parse

import pytest
import requests

from coffer_server import CofferServer
from files_support import (API, Env, assert_error, body_text, file_part, path_part, q, run_parallel,
                           sha256)


@pytest.fixture(scope="module")
def env():
    s = CofferServer(env={"COFFER_GC_GRACE": "0s", "COFFER_GC_INTERVAL": "1h"})
    s.start()
    yield Env(s)
    s.close()


@pytest.fixture
def tenant(env):
    return env.tenant()


# -- quotas -------------------------------------------------------------------------------------

def test_byte_quota(env):
    t = env.tenant(quota_bytes=1000)
    editor = t.user("editor")
    a = editor.put("q/a", b"a" * 600)
    assert t.assert_usage_exact() == (600, 1)
    for r in [editor.upload("q/b", b"b" * 401),
              editor.upload("q/b", iter([b"b" * 200, b"b" * 201])),
              editor.upload_form([path_part("q/b"), file_part(b"b" * 401)]),
              editor.upload_form([file_part(b"b" * 401), path_part("q/b")])]:
        assert_error(r, 507, "quota_exceeded")
    assert editor.paths() == ["q/a"]
    assert t.assert_usage_exact() == (600, 1)
    assert len(t.objects()) == 1
    env.gc()
    assert len(t.objects()) == 1
    # What fits exactly is accepted.
    editor.put("q/b", b"b" * 400)
    assert t.assert_usage_exact() == (1000, 2)
    # Replacing counts the difference: shrinking frees, growing past the quota is refused.
    assert editor.put("q/a", b"a" * 100, overwrite=True)["version"] == 2
    assert t.assert_usage_exact() == (500, 2)
    assert editor.put("q/a", b"a" * 600, overwrite=True)["version"] == 3
    assert t.assert_usage_exact() == (1000, 2)
    assert_error(editor.upload("q/a", b"a" * 601, overwrite=True), 507, "quota_exceeded")
    assert_error(editor.upload("q/a", iter([b"a" * 601]), overwrite=True), 507, "quota_exceeded")
    assert editor.download(a["id"]).content == b"a" * 600
    assert editor.get_file(a["id"]).json()["version"] == 3
    assert t.assert_usage_exact() == (1000, 2)
    # Deleting frees its bytes.
    assert editor.delete(a["id"]).status_code == 204
    assert t.assert_usage_exact() == (400, 1)
    editor.put("q/d", b"d" * 600)
    assert t.assert_usage_exact() == (1000, 2)
    env.gc()
    assert len(t.objects()) == 2


def test_file_quota(env):
    t = env.tenant(quota_files=2)
    editor = t.user("editor")
    editor.put("f/1", b"1")
    editor.put("f/2", b"22")
    assert_error(editor.upload("f/3", b"3"), 507, "quota_exceeded")
    assert_error(editor.upload_form([path_part("f/3"), file_part(b"3")]), 507, "quota_exceeded")
    # Replacing adds no file.
    assert editor.put("f/2", b"two", overwrite=True)["version"] == 2
    assert t.assert_usage_exact() == (4, 2)
    env.gc()
    assert len(t.objects()) == 2


def test_quota_changed_by_the_operator(env):
    t = env.tenant()
    editor = t.user("editor")
    editor.put("a", b"x" * 100)
    t.set_quota(quota_bytes=150)
    assert_error(editor.upload("b", b"x" * 51), 507, "quota_exceeded")
    editor.put("b", b"x" * 50)
    t.set_quota(quota_bytes=None)
    editor.put("c", b"x" * 10_000)
    t.set_quota(quota_files=3)
    assert_error(editor.upload("d", b""), 507, "quota_exceeded")
    info = t.info()
    assert info["quota_files"] == 3 and info["quota_bytes"] is None
    assert t.assert_usage_exact() == (10_150, 3)
    # A user token cannot change its tenant's quota.
    r = t.admin.request("PATCH", f"{API}/tenants/{t.id}", json={"quota_bytes": None})
    assert_error(r, 403, "forbidden")


def test_concurrent_uploads_never_exceed_the_quota(env):
    t = env.tenant(quota_bytes=5 * 1000 + 500)
    users = [t.user("editor") for _ in range(2)]

    def upload(i):
        u = users[i % 2]
        if i % 3 == 0:
            return u.upload(f"c/{i}", iter([b"x" * 500, b"y" * 500]))
        if i % 3 == 1:
            return u.upload_form([path_part(f"c/{i}"), file_part(b"z" * 1000)])
        return u.upload(f"c/{i}", b"w" * 1000)

    results = run_parallel(10, upload)
    codes = sorted(r.status_code for r in results)
    assert codes == [201] * 5 + [507] * 5, [r.text for r in results]
    for r in results:
        if r.status_code == 507:
            assert_error(r, 507, "quota_exceeded")
    assert t.assert_usage_exact() == (5000, 5)
    env.gc()
    assert len(t.objects()) == 5


def test_concurrent_overwrites_and_creates_keep_usage_exact(env):
    t = env.tenant(quota_bytes=20_000, quota_files=6)
    editor = t.user("editor")
    for i in range(3):
        editor.put(f"u/{i}", b"x" * 1000)
    rng = random.Random(7)
    sizes = [rng.randrange(0, 4000) for _ in range(24)]

    def work(i):
        if i % 4 == 3:
            return editor.upload(f"u/new{i}", b"n" * sizes[i])
        return editor.upload(f"u/{i % 3}", b"o" * sizes[i], overwrite=True)

    results = run_parallel(24, work)
    assert {r.status_code for r in results} <= {201, 507}, [r.text for r in results]
    used_bytes, used_files = t.assert_usage_exact()
    assert used_bytes <= 20_000 and used_files <= 6
    env.gc()
    assert len(t.objects()) == used_files
    for f in t.all_files():
        r = editor.download(f["id"])
        assert len(r.content) == f["size"] and sha256(r.content) == f["sha256"]


# -- grants -------------------------------------------------------------------------------------

def test_grant_to_a_user_and_to_the_tenant(tenant):
    owner, bob, carol = tenant.user("editor"), tenant.user("editor"), tenant.user("editor")
    f = owner.put("g/doc", b"doc")
    assert_error(bob.get_file(f["id"]), 404, "not_found")
    r = owner.grant(f["id"], "viewer", bob)
    assert r.status_code == 200, r.text
    g = r.json()
    assert set(g) == {"file_id", "principal", "user_id", "role", "granted_by", "granted_at"}
    assert (g["file_id"], g["principal"], g["user_id"], g["role"], g["granted_by"]) == \
        (f["id"], "user", bob.id, "viewer", owner.id)
    assert bob.get_file(f["id"]).json()["role"] == "viewer"
    assert bob.download(f["id"]).content == b"doc"
    assert_error(bob.rename(f["id"], "g/bob"), 403, "forbidden")
    assert_error(carol.get_file(f["id"]), 404, "not_found")
    # Raising the grant takes effect at once.
    assert owner.grant(f["id"], "editor", bob).json()["role"] == "editor"
    assert bob.get_file(f["id"]).json()["role"] == "editor"
    assert bob.rename(f["id"], "g/bob").status_code == 200
    # The tenant grant reaches everyone; the higher of two grants counts.
    t = owner.grant(f["id"], "viewer")
    assert t.status_code == 200 and t.json()["principal"] == "tenant" and t.json()["user_id"] is None
    assert carol.get_file(f["id"]).json()["role"] == "viewer"
    assert bob.get_file(f["id"]).json()["role"] == "editor"
    acl = owner.acl(f["id"]).json()
    assert acl["file_id"] == f["id"] and acl["owner_id"] == owner.id
    assert sorted((x["principal"], x["user_id"], x["role"]) for x in acl["grants"]) == \
        sorted([("user", bob.id, "editor"), ("tenant", None, "viewer")])
    # role none revokes; DELETE revokes, also when nothing is granted.
    r = owner.grant(f["id"], "none", bob)
    assert r.status_code == 204 and r.content == b""
    assert bob.get_file(f["id"]).json()["role"] == "viewer"
    for target in [f"file_id={q(f['id'])}&principal=tenant", f"file_id={q(f['id'])}&user_id={q(bob.id)}",
                   f"file_id={q(f['id'])}&user_id={q(carol.id)}"]:
        assert owner.request("DELETE", f"{API}/permissions?{target}").status_code == 204
    assert_error(bob.get_file(f["id"]), 404, "not_found")
    assert_error(carol.get_file(f["id"]), 404, "not_found")
    assert owner.acl(f["id"]).json()["grants"] == []


def test_nobody_grants_above_their_own_role(tenant):
    owner, ed, vi, target = (tenant.user("editor") for _ in range(4))
    f = owner.put("g/limits", b"x")
    owner.grant(f["id"], "editor", ed)
    owner.grant(f["id"], "viewer", vi)
    # Granting needs admin on the file; an editor may grant nothing, least of all admin.
    for role in ("admin", "editor", "viewer"):
        assert_error(ed.grant(f["id"], role, target), 403, "forbidden")
        assert_error(vi.grant(f["id"], role, target), 403, "forbidden")
    assert_error(ed.grant(f["id"], "admin", ed), 403, "forbidden")
    assert_error(ed.grant(f["id"], "none", vi), 403, "forbidden")
    assert_error(ed.request("DELETE", f"{API}/permissions?file_id={q(f['id'])}&user_id={q(vi.id)}"),
                 403, "forbidden")
    assert_error(target.grant(f["id"], "viewer", target), 404, "not_found")
    # The owner (tenant role editor) is admin on the file and may grant admin.
    assert owner.grant(f["id"], "admin", target).status_code == 200
    assert target.get_file(f["id"]).json()["role"] == "admin"
    assert target.grant(f["id"], "admin", ed).status_code == 200
    # A viewer of the tenant is capped at viewer, whatever the grant says.
    capped = tenant.user("viewer")
    assert owner.grant(f["id"], "admin", capped).status_code == 200
    assert capped.get_file(f["id"]).json()["role"] == "viewer"
    assert_error(capped.grant(f["id"], "viewer", vi), 403, "forbidden")
    assert_error(capped.rename(f["id"], "g/capped"), 403, "forbidden")
    assert_error(capped.upload("g/limits", b"y", overwrite=True), 403, "forbidden")
    assert_error(capped.delete(f["id"]), 403, "forbidden")
    assert owner.download(f["id"]).content == b"x"


def test_grant_validation(tenant):
    owner = tenant.user("editor")
    f = owner.put("g/v", b"x")
    other = tenant.env.tenant().user("editor")
    assert_error(owner.grant(f["id"], "viewer", other), 404, "not_found")
    for body in [{"file_id": f["id"], "role": "owner", "user_id": owner.id},
                 {"file_id": f["id"], "role": "viewer"},
                 {"file_id": f["id"], "role": "viewer", "principal": "everyone"},
                 {"file_id": f["id"], "role": "viewer", "principal": "tenant", "user_id": owner.id},
                 {"file_id": 5, "role": "viewer", "principal": "tenant"},
                 {"file_id": f["id"], "role": "viewer", "principal": "tenant", "x": 1}]:
        assert_error(owner.request("POST", f"{API}/permissions", json=body), 400, "bad_request")
    assert_error(owner.grant("no-such-file", "viewer"), 404, "not_found")


def test_reading_acls(tenant):
    owner, viewer, stranger = (tenant.user("editor") for _ in range(3))
    f = owner.put("g/acl", b"x")
    owner.grant(f["id"], "viewer", viewer)
    assert viewer.acl(f["id"]).status_code == 200
    assert_error(stranger.acl(f["id"]), 404, "not_found")

    def grants_of(caller, user):
        return caller.request("GET", f"{API}/permissions?user_id={q(user.id)}")

    r = grants_of(viewer, viewer)
    assert r.status_code == 200
    assert r.json()["user_id"] == viewer.id
    assert [(g["file_id"], g["role"]) for g in r.json()["grants"]] == [(f["id"], "viewer")]
    assert grants_of(tenant.admin, viewer).json() == r.json()
    assert_error(grants_of(stranger, viewer), 403, "forbidden")
    assert_error(grants_of(owner, viewer), 403, "forbidden")
    assert_error(owner.request("GET", f"{API}/permissions"), 400, "bad_request")


def test_concurrent_grants_and_revokes(tenant):
    owner, target = tenant.user("editor"), tenant.user("editor")
    f = owner.put("g/race", b"x")
    plan = ["viewer", "editor", "admin", "none", "delete"] * 4
    random.Random(3).shuffle(plan)

    def work(i):
        action = plan[i]
        if action == "delete":
            return owner.request("DELETE", f"{API}/permissions?file_id={q(f['id'])}&user_id={q(target.id)}")
        return owner.grant(f["id"], action, target)

    results = run_parallel(len(plan), work)
    for action, r in zip(plan, results):
        assert r.status_code == (200 if action in ("viewer", "editor", "admin") else 204), (action, r.text)
    grants = [g for g in owner.acl(f["id"]).json()["grants"] if g["user_id"] == target.id]
    assert len(grants) <= 1
    final = grants[0]["role"] if grants else None
    assert final in {"viewer", "editor", "admin", None}
    seen = target.get_file(f["id"])
    if final is None:
        assert seen.status_code == 404
    else:
        assert seen.json()["role"] == final


# -- tenant isolation ---------------------------------------------------------------------------

def test_other_tenants_see_nothing(env):
    a = env.tenant()
    a_owner = a.user("editor")
    marker = "isolation-marker-7c41"
    a_path = f"{marker}/secret {marker}.txt"
    f = a_owner.put(a_path, f"{marker} bytes".encode(), content_type="text/x-" + marker)
    a_owner.grant(f["id"], "viewer")
    secrets = [f["id"], marker, a_owner.id, a.id, a.admin.id, f["sha256"], f["etag"].strip('"')]
    b = env.tenant()
    callers = [b.admin, b.user("editor"), b.user("viewer")]
    b_file = b.admin.put("b/own.txt", b"tenant b's own file")
    fid = f["id"]
    for u in callers:
        responses = [
            u.get_file(fid), u.download(fid), u.download(fid, alias="Download"),
            u.download(fid, params={"redirect": "true"}, allow_redirects=False),
            u.download(fid, headers={"Range": "bytes=0-3"}), u.download_url(fid),
            u.rename(fid, "stolen"), u.delete(fid), u.delete(fid, headers={"If-Match": f["etag"]}),
            u.acl(fid), u.grant(fid, "viewer", u), u.grant(fid, "admin"), u.grant(fid, "none", u),
            u.request("DELETE", f"{API}/permissions?file_id={q(fid)}&principal=tenant"),
            u.request("GET", f"{API}/permissions?user_id={q(a_owner.id)}"),
        ]
        for r in responses:
            assert_error(r, 404, "not_found")
        listing = [
            u.list(), u.list(prefix=marker), u.list(prefix=marker + "/", delimiter="/"),
            u.list(delimiter="/"), u.list(limit=1000),
            u.request("GET", f"{API}/permissions?user_id={q(u.id)}"),
            u.request("GET", f"{API}/me"),
        ]
        for r in listing:
            assert r.status_code == 200, r.text
        assert u.list(prefix=marker).json()["items"] == []
        for r in responses + listing:
            text = body_text(r)
            for s in secrets:
                assert s not in text, (s, r.request.url, text)
        assert u.download(b_file["id"]).status_code in (200, 404)
    # Paths are per tenant: B may use A's path.
    assert b.admin.put(a_path, b"b at the same path")["id"] != fid
    # A is untouched.
    assert a_owner.get_file(fid).json() == {**f, "role": "admin"}
    assert a_owner.download(fid).content == f"{marker} bytes".encode()
    assert a_owner.acl(fid).json()["grants"][0]["principal"] == "tenant"
    assert a_owner.paths() == [a_path]
    # A's presigned URL signature does not reach B's objects.
    url = urllib.parse.urlsplit(a_owner.download_url(fid).json()["url"])
    b_key_path = urllib.parse.urlsplit(b.admin.download_url(b_file["id"]).json()["url"]).path
    r = requests.get(urllib.parse.urljoin(env.server.url, urllib.parse.urlunsplit(url._replace(path=b_key_path))),
                     timeout=30)
    assert r.status_code == 403 and b"tenant b" not in r.content


# -- coffer gc ----------------------------------------------------------------------------------

def test_gc_removes_replaced_and_deleted_objects(env):
    t = env.tenant()
    editor = t.user("editor")
    files = {}
    for i in range(12):
        files[i] = editor.put(f"gc/{i:02d}", os.urandom(100 + i))
    for i in range(0, 12, 3):
        editor.put(f"gc/{i:02d}", os.urandom(50), overwrite=True)
        editor.put(f"gc/{i:02d}", os.urandom(60), overwrite=True)
    for i in range(1, 12, 4):
        assert editor.delete(files[i]["id"]).status_code == 204
    renamed = editor.rename(files[2]["id"], "gc/renamed").json()
    live = t.all_files()
    assert len(live) == 9
    # Nothing is collected while serving (the interval is an hour): the old objects are all there.
    assert len(t.objects()) == 12 + 8
    out = env.gc()
    assert "removed" in out
    assert len(t.objects()) == len(live)
    for f in live:
        r = editor.download(f["id"])
        assert r.status_code == 200
        assert sha256(r.content) == f["sha256"] and len(r.content) == f["size"]
    assert renamed["path"] in [f["path"] for f in live]
    t.assert_usage_exact()
    # Running it again finds nothing more to do.
    env.gc()
    assert len(t.objects()) == len(live)


def test_zero_quota(env):
    t = env.tenant(quota_bytes=0)
    editor = t.user("editor")
    assert_error(editor.upload("one-byte", b"x"), 507, "quota_exceeded")
    assert editor.put("empty", b"")["size"] == 0
    assert t.assert_usage_exact() == (0, 1)


def test_deletes_racing_overwrites_keep_usage_exact(env):
    t = env.tenant()
    editor = t.user("editor")
    ids = [editor.put(f"dr/{i}", b"x" * 100)["id"] for i in range(4)]

    def work(i):
        if i % 2 == 0:
            return editor.delete(ids[(i // 2) % 4])
        return editor.upload(f"dr/{(i // 2) % 4}", b"y" * (200 + i), overwrite=True)

    results = run_parallel(16, work)
    assert {r.status_code for r in results} <= {201, 204, 404}, [r.text for r in results]
    t.assert_usage_exact()
    env.gc()
    live = t.all_files()
    assert len(t.objects()) == len(live)
    for f in live:
        assert sha256(editor.download(f["id"]).content) == f["sha256"]


def test_ids_of_any_other_shape_name_nothing_on_every_route(env, tenant):
    """Ids in URLs are percent-decoded bytes: not text (%FF), NUL, or just not an id. Each names
    nothing (404), never a database error, whichever backend stores the metadata."""
    admin = tenant.admin
    f = admin.put("real.txt", b"real")
    for bad in ("%FF", "%C3%28", "%00", "nope", f["id"] + "%FF"):
        for method, path, body in [
                ("GET", f"/files/{bad}", None), ("GET", f"/files/{bad}/download", None),
                ("POST", f"/files/{bad}/download-url", None), ("PATCH", f"/files/{bad}", {"path": "moved"}),
                ("DELETE", f"/files/{bad}", None), ("GET", f"/permissions?file_id={bad}", None),
                ("GET", f"/permissions?user_id={bad}", None), ("GET", f"/users/{bad}", None),
                ("PATCH", f"/users/{bad}", {"role": "viewer"}), ("DELETE", f"/users/{bad}", None),
                ("DELETE", f"/permissions?file_id={bad}&principal=tenant", None)]:
            r = admin.request(method, API + path, json=body)
            assert_error(r, 404, "not_found")
        for method, body in [("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)]:
            r = env.server.request(method, f"{API}/tenants/{bad}", token=env.operator, json=body)
            assert_error(r, 404, "not_found")
        # Revoking the grant of a user that cannot exist revokes nothing.
        r = admin.request("DELETE", f"{API}/permissions?file_id={f['id']}&user_id={bad}")
        assert r.status_code == 204, r.text
    assert admin.paths() == ["real.txt"]
    assert env.server.get("/readyz").status_code == 200


def test_operator_token_has_no_access_to_files(env, tenant):
    f = tenant.admin.put("op/file", b"x")
    op = env.operator
    s = env.server
    for r in [s.request("GET", f"{API}/files/", token=op),
              s.request("POST", f"{API}/files/?path=op/new", token=op, data=b"x"),
              s.request("GET", f"{API}/files/{f['id']}", token=op),
              s.request("GET", f"{API}/files/{f['id']}/download", token=op),
              s.request("PATCH", f"{API}/files/{f['id']}", token=op, json={"path": "op/moved"}),
              s.request("DELETE", f"{API}/files/{f['id']}", token=op),
              s.request("GET", f"{API}/permissions?file_id={q(f['id'])}", token=op)]:
        assert_error(r, 403, "forbidden")
    assert tenant.admin.paths() == ["op/file"]


def test_gc_while_uploads_run_never_takes_live_objects(env):
    t = env.tenant()
    editor = t.user("editor")
    done = []

    def work(i):
        if i == 0:
            runs = 0
            while len(done) < 3 or runs < 3:
                env.gc()
                runs += 1
            return runs
        try:
            for j in range(12):
                path = f"live/{i}-{j % 4}"
                r = editor.upload(path, os.urandom(20_000 + j), overwrite=True)
                assert r.status_code == 201, r.text
                if j % 5 == 4:
                    assert editor.delete(r.json()["id"]).status_code == 204
        finally:
            done.append(i)

    run_parallel(4, work)
    live = t.all_files()
    assert live
    for f in live:
        r = editor.download(f["id"])
        assert r.status_code == 200 and sha256(r.content) == f["sha256"]
    t.assert_usage_exact()
    env.gc()
    assert len(t.objects()) == len(live)
