"""Tenant isolation matrix (issue 3): for every route of API.md, every role of tenant B gets nothing
of tenant A — 404 or 403 as API.md specifies, and no id, path, name or count of A in any body,
header or error message. The table below must name every operation of the OpenAPI document, so a
new route cannot be added without its isolation case."""
import json
import urllib.parse

import pytest
import requests

from coffer_server import CofferServer
from files_support import API, Env, q

MARKER = "isolation-a-7d2e"


@pytest.fixture(scope="module")
def world():
    server = CofferServer(env={"COFFER_GC_INTERVAL": "1h"})
    server.start()
    env = Env(server)
    a = env.tenant()
    a_editor = a.user("editor")
    a_viewer = a.user("viewer")
    path = f"{MARKER}/plans {MARKER}.txt"
    f = a_editor.put(path, f"{MARKER} content".encode(), content_type=f"text/x-{MARKER}")
    a_editor.grant(f["id"], "viewer", a_viewer)
    a_editor.grant(f["id"], "viewer")
    upload = a_editor.request("POST", f"{API}/uploads",
                              json={"path": f"{MARKER}/pending.bin", "size": 3,
                                    "content_type": "application/octet-stream"})
    assert upload.status_code == 201, upload.text
    b = env.tenant()
    counter = iter(range(1, 1000))
    world = {
        "n": lambda: next(counter),
        "server": server, "env": env, "a": a, "file": f, "path": path, "a_editor": a_editor,
        "a_viewer": a_viewer, "upload_id": upload.json()["upload_id"], "b": b,
        "callers": {"admin": b.admin, "editor": b.user("editor"), "viewer": b.user("viewer")},
    }
    # What must never reach B: A's ids, names, paths, hashes and counts.
    world["secrets"] = [f["id"], a.id, a.slug, a.admin.id, a_editor.id, a_viewer.id,
                        a_editor.username, a_viewer.username, MARKER, f["sha256"],
                        f["etag"].strip('"'), world["upload_id"]]
    yield world
    server.close()


def cases(w):
    """(operation, method, path, kwargs, allowed statuses) with A's ids where ids go."""
    fid, uid, tid, up = w["file"]["id"], w["a_editor"].id, w["a"].id, w["upload_id"]
    return [
        ("GET /healthz", "GET", "/healthz", {}, {200}),
        ("GET /readyz", "GET", "/readyz", {}, {200}),
        ("GET /metrics", "GET", "/metrics", {}, {200}),
        ("GET /api/v1/openapi.json", "GET", f"{API}/openapi.json", {}, {200}),
        ("POST /api/v1/auth/token", "POST", f"{API}/auth/token",
         {"json": {"tenant": w["a"].slug, "username": w["a_editor"].username, "password": "x" * 12}},
         {401}),
        ("GET /api/v1/me", "GET", f"{API}/me", {}, {200}),
        ("GET /api/v1/files", "GET", f"{API}/files/?prefix={q(MARKER)}", {}, {200}),
        ("POST /api/v1/files", "POST", f"{API}/files/?path=b%2Fown-{w['n']()}.txt",
         {"data": b"b's own bytes"}, {201, 403}),
        ("GET /api/v1/files/{id}", "GET", f"{API}/files/{fid}", {}, {404}),
        ("PATCH /api/v1/files/{id}", "PATCH", f"{API}/files/{fid}", {"json": {"path": "x"}}, {404}),
        ("DELETE /api/v1/files/{id}", "DELETE", f"{API}/files/{fid}", {}, {404}),
        ("GET /api/v1/files/{id}/download", "GET", f"{API}/files/{fid}/download", {}, {404}),
        ("GET /api/v1/files/{id}/Download", "GET", f"{API}/files/{fid}/Download", {}, {404}),
        ("POST /api/v1/files/{id}/download-url", "POST", f"{API}/files/{fid}/download-url", {},
         {404}),
        ("POST /api/v1/uploads", "POST", f"{API}/uploads",
         {"json": {"path": f"b/pending-{w['n']()}.bin", "size": 3}}, {201, 403}),
        ("POST /api/v1/uploads/{upload_id}/complete", "POST", f"{API}/uploads/{up}/complete", {},
         {404}),
        ("DELETE /api/v1/uploads/{upload_id}", "DELETE", f"{API}/uploads/{up}", {}, {404}),
        ("GET /api/v1/permissions", "GET", f"{API}/permissions?file_id={fid}", {}, {404}),
        ("GET /api/v1/permissions (user)", "GET", f"{API}/permissions?user_id={uid}", {}, {404}),
        ("POST /api/v1/permissions", "POST", f"{API}/permissions",
         {"json": {"file_id": fid, "principal": "tenant", "role": "viewer"}}, {404}),
        ("DELETE /api/v1/permissions", "DELETE",
         f"{API}/permissions?file_id={fid}&principal=tenant", {}, {404}),
        ("GET /api/v1/users", "GET", f"{API}/users?limit=1000", {}, {200}),
        ("POST /api/v1/users", "POST", f"{API}/users",
         {"json": {"username": f"b-user-{w['n']()}", "role": "viewer"}}, {201, 403}),
        ("GET /api/v1/users/{id}", "GET", f"{API}/users/{uid}", {}, {404}),
        ("PATCH /api/v1/users/{id}", "PATCH", f"{API}/users/{uid}", {"json": {"disabled": True}},
         {404}),
        ("DELETE /api/v1/users/{id}", "DELETE", f"{API}/users/{uid}", {}, {404}),
        ("GET /api/v1/tenants", "GET", f"{API}/tenants", {}, {403}),
        ("POST /api/v1/tenants", "POST", f"{API}/tenants",
         {"json": {"slug": w["a"].slug, "admin": {"username": "x"}}}, {403}),
        ("GET /api/v1/tenants/{id}", "GET", f"{API}/tenants/{tid}", {}, {404}),
        ("PATCH /api/v1/tenants/{id}", "PATCH", f"{API}/tenants/{tid}", {"json": {"name": "x"}},
         {403}),
        ("DELETE /api/v1/tenants/{id}", "DELETE", f"{API}/tenants/{tid}", {}, {403}),
    ]


def operation_names(w):
    """Every operation of the served OpenAPI document, as "METHOD /path"."""
    doc = w["server"].get(f"{API}/openapi.json").json()
    names = set()
    for path, item in doc["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                names.add(f"{method.upper()} {path}")
    return names


def test_the_matrix_names_every_route(world):
    covered = {c[0].split(" (")[0] for c in cases(world)}
    # Presigned blob URLs carry their own authority (a signature), not a tenant's token.
    missing = operation_names(world) - covered - {"GET /blob/{key}", "PUT /blob/{key}"}
    assert not missing, f"routes without an isolation case: {sorted(missing)}"


@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
def test_tenant_b_gets_nothing_of_tenant_a(world, role):
    caller = world["callers"][role]
    for name, method, path, kwargs, allowed in cases(world):
        r = caller.request(method, path, **kwargs)
        assert r.status_code in allowed, (role, name, r.status_code, r.text)
        if r.status_code >= 400:
            body = r.json()
            assert set(body) == {"error"} and body["error"]["request_id"] == r.headers["X-Request-Id"]
        text = r.text + json.dumps(dict(r.headers))
        for secret in world["secrets"]:
            assert secret not in text, (role, name, secret, text[:500])


def test_b_listings_count_only_b(world):
    b = world["b"]
    files = b.admin.list(limit=1000).json()["items"]
    assert all(MARKER not in f["path"] or f["owner_id"] != world["a_editor"].id for f in files)
    users = b.admin.request("GET", f"{API}/users?limit=1000").json()["items"]
    assert {u["tenant_id"] for u in users} == {b.id}
    me = b.admin.request("GET", f"{API}/me").json()
    assert me["tenant"]["id"] == b.id
    info = b.info()
    assert info["used_files"] == len(b.all_files())


def test_a_is_untouched(world):
    a_editor = world["a_editor"]
    f = world["file"]
    assert a_editor.get_file(f["id"]).json()["path"] == world["path"]
    assert a_editor.download(f["id"]).content == f"{MARKER} content".encode()
    assert {g["principal"] for g in a_editor.acl(f["id"]).json()["grants"]} == {"user", "tenant"}
    assert world["a_viewer"].request("GET", f"{API}/me").status_code == 200


def test_a_presigned_url_signature_does_not_reach_b(world):
    a_editor, b = world["a_editor"], world["b"]
    b_file = b.admin.put("b/own.txt", b"tenant b's own file")
    a_url = urllib.parse.urlsplit(a_editor.download_url(world["file"]["id"]).json()["url"])
    b_url = urllib.parse.urlsplit(b.admin.download_url(b_file["id"]).json()["url"])
    forged = urllib.parse.urlunsplit((b_url.scheme, b_url.netloc, b_url.path, a_url.query, ""))
    r = requests.get(forged, timeout=30)
    assert r.status_code == 403 and b"tenant b" not in r.content


def test_b_may_use_a_paths_and_names_in_its_own_namespace(world):
    # Paths and usernames are per tenant: nothing answers 409 to tell B they exist in A.
    b = world["b"]
    mine = b.admin.put(world["path"], b"b at a's path")
    assert mine["id"] != world["file"]["id"]
    r = b.admin.request("POST", f"{API}/users",
                        json={"username": world["a_editor"].username, "role": "viewer"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] != world["a_editor"].id
    assert world["a_editor"].get_file(world["file"]["id"]).json()["path"] == world["path"]
