"""Users (tenant admins) and tenants (operator): every rule of API.md, over HTTP."""
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from test_identity import (PASSWORD, SECRET, TENANT_KEYS, USER_KEYS, Coffer, assert_error, assert_tenant, assert_user,
                           start)


@pytest.fixture(scope="module")
def coffer():
    s = start()
    yield Coffer(s)
    s.close()


def users_of(coffer, token, limit=None):
    """Walks every page of GET /api/v1/users; returns (items, pages)."""
    items, pages, cursor = [], [], None
    while True:
        params = {}
        if limit is not None:
            params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        r = coffer.call("GET", "/api/v1/users", token=token, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert isinstance(cursor, str) and cursor
        assert len(pages) < 1000


def no_secrets(text):
    low = text.lower()
    return "password" not in low and "hash" not in low and "$argon2" not in low and PASSWORD not in text


# -- users -------------------------------------------------------------------------------------
def test_user_lifecycle(coffer):
    t = coffer.new_tenant()
    r = coffer.call("POST", "/api/v1/users", token=t.admin_token,
                    json={"username": "bob", "role": "editor", "password": PASSWORD})
    assert r.status_code == 201, r.text
    bob = r.json()
    assert_user(bob, username="bob", role="editor", disabled=False, tenant_id=t.id)
    assert len(bob["id"]) >= 16 and bob["id"] != t.id and bob["id"] != t.admin["id"]
    assert r.headers["Location"] == f"/api/v1/users/{bob['id']}"
    assert no_secrets(r.text)

    r = coffer.call("GET", r.headers["Location"], token=t.admin_token)
    assert r.status_code == 200 and r.json() == bob and no_secrets(r.text)

    r = coffer.call("PATCH", f"/api/v1/users/{bob['id']}", token=t.admin_token, json={"role": "viewer"})
    assert r.status_code == 200 and no_secrets(r.text)
    assert r.json() == {**bob, "role": "viewer"}
    r = coffer.call("PATCH", f"/api/v1/users/{bob['id']}", token=t.admin_token, json={"disabled": True})
    assert r.json() == {**bob, "role": "viewer", "disabled": True}
    r = coffer.call("PATCH", f"/api/v1/users/{bob['id']}", token=t.admin_token,
                    json={"disabled": False, "role": "admin", "password": PASSWORD + "-new"})
    assert r.status_code == 200 and no_secrets(r.text)
    assert r.json() == {**bob, "role": "admin"}
    assert_error(coffer.login(t.slug, "bob", PASSWORD), 401, "unauthenticated")
    assert coffer.login(t.slug, "bob", PASSWORD + "-new").status_code == 200

    items, _ = users_of(coffer, t.admin_token)
    assert sorted(u["username"] for u in items) == ["admin", "bob"]
    assert all(set(u) == USER_KEYS for u in items)

    r = coffer.call("DELETE", f"/api/v1/users/{bob['id']}", token=t.admin_token)
    assert r.status_code == 204 and r.content == b""
    assert_error(coffer.call("GET", f"/api/v1/users/{bob['id']}", token=t.admin_token), 404, "not_found")
    assert_error(coffer.call("PATCH", f"/api/v1/users/{bob['id']}", token=t.admin_token, json={"role": "viewer"}),
                 404, "not_found")
    assert_error(coffer.call("DELETE", f"/api/v1/users/{bob['id']}", token=t.admin_token), 404, "not_found")
    assert [u["username"] for u in users_of(coffer, t.admin_token)[0]] == ["admin"]


def test_users_without_a_password_are_created(coffer):
    t = coffer.new_tenant()
    u = coffer.add_user(t, "nopass", "viewer")
    assert_user(u, username="nopass", role="viewer")
    assert coffer.call("GET", "/api/v1/me", token=coffer.token(u)).status_code == 200


@pytest.mark.parametrize("name", ["a", "Z", "0", "a" * 64, "A.b_c@d+e-f", "user@example.com", "-", "..", "+1"])
def test_valid_usernames(coffer, name):
    t = coffer.new_tenant()
    r = coffer.call("POST", "/api/v1/users", token=t.admin_token, json={"username": name, "role": "viewer"})
    assert r.status_code == 201, r.text
    assert r.json()["username"] == name
    assert coffer.call("GET", f"/api/v1/users/{r.json()['id']}", token=t.admin_token).json()["username"] == name


@pytest.mark.parametrize("name", [
    pytest.param("a" * 65, id="65 chars"),
    pytest.param("", id="empty"),
    pytest.param("with space", id="space"),
    pytest.param(" lead", id="leading space"),
    pytest.param("a/b", id="slash"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("jos\u00e9", id="latin unicode"),
    pytest.param("\u7528\u6237", id="cjk"),
    pytest.param("tab\there", id="tab"),
    pytest.param("nul\u0000", id="nul"),
    pytest.param("a:b", id="colon"),
    pytest.param("a#b", id="hash"),
    pytest.param("a%2Fb", id="percent"),
    pytest.param("a\nb", id="newline"),
])
def test_invalid_usernames_are_400(coffer, name):
    t = coffer.new_tenant()
    r = coffer.call("POST", "/api/v1/users", token=t.admin_token, json={"username": name, "role": "viewer"})
    assert_error(r, 400, "bad_request")
    # Nor may a tenant's first admin have one.
    r = coffer.call("POST", "/api/v1/tenants", token=coffer.op,
                    json={"slug": "bad-admin-name", "name": "x", "admin": {"username": name}})
    assert_error(r, 400, "bad_request")
    assert [u["username"] for u in users_of(coffer, t.admin_token)[0]] == ["admin"]


@pytest.mark.parametrize("role", ["owner", "Admin", "ADMIN", "", "operator", "none", " admin"])
def test_invalid_roles_are_400(coffer, role):
    t = coffer.new_tenant()
    u = coffer.add_user(t, "bob", "viewer")
    assert_error(coffer.call("POST", "/api/v1/users", token=t.admin_token, json={"username": "carl", "role": role}),
                 400, "bad_request")
    assert_error(coffer.call("PATCH", f"/api/v1/users/{u['id']}", token=t.admin_token, json={"role": role}),
                 400, "bad_request")
    assert coffer.call("GET", f"/api/v1/users/{u['id']}", token=t.admin_token).json()["role"] == "viewer"
    assert_error(coffer.call("POST", "/api/v1/users", token=t.admin_token, json={"username": "carl"}),
                 400, "bad_request")


def test_a_username_with_a_nul_is_nobody(coffer):
    # PostgreSQL would cut "alice\0..." to "alice": every spelling would be a throttle key of its
    # own for alice's password. Names that cannot exist are never looked up.
    t = coffer.new_tenant(admin="alice", password=PASSWORD)
    for suffix in ("", "x", "\u00e9"):
        assert_error(coffer.login(t.slug, "alice\x00" + suffix, PASSWORD), 401, "unauthenticated")
        assert_error(coffer.login(t.slug + "\x00" + suffix, "alice", PASSWORD), 401, "unauthenticated")
    assert coffer.login(t.slug, "alice", PASSWORD).status_code == 200


def test_duplicate_username_is_409(coffer):
    t = coffer.new_tenant()
    first = coffer.add_user(t, "bob", "viewer")
    for role in ["viewer", "admin"]:
        assert_error(coffer.call("POST", "/api/v1/users", token=t.admin_token,
                                 json={"username": "bob", "role": role}), 409, "conflict")
    assert_error(coffer.call("POST", "/api/v1/users", token=t.admin_token,
                             json={"username": "admin", "role": "viewer"}), 409, "conflict")
    items, _ = users_of(coffer, t.admin_token)
    assert sorted(u["username"] for u in items) == ["admin", "bob"]
    assert coffer.call("GET", f"/api/v1/users/{first['id']}", token=t.admin_token).json() == first
    # The same name in another tenant is another user.
    other = coffer.new_tenant()
    assert coffer.add_user(other, "bob", "viewer")["id"] != first["id"]


def test_password_policy(coffer):
    t = coffer.new_tenant()
    for short in ["", "1234567", "short"]:
        assert_error(coffer.call("POST", "/api/v1/users", token=t.admin_token,
                                 json={"username": "bob", "role": "viewer", "password": short}), 400, "bad_request")
        r = coffer.call("POST", "/api/v1/tenants", token=coffer.op,
                        json={"slug": "pw-policy", "name": "x", "admin": {"username": "a", "password": short}})
        assert_error(r, 400, "bad_request")
    bob = coffer.add_user(t, "bob", "viewer", password="12345678")  # 8 characters is enough
    assert_error(coffer.call("PATCH", f"/api/v1/users/{bob['id']}", token=t.admin_token, json={"password": "1234567"}),
                 400, "bad_request")
    assert coffer.login(t.slug, "bob", "12345678").status_code == 200
    assert_error(coffer.call("PATCH", f"/api/v1/users/{bob['id']}", token=t.admin_token, json={"password": 12345678}),
                 400, "bad_request")
    r = coffer.call("GET", "/api/v1/tenants?limit=1000", token=coffer.op)
    assert "pw-policy" not in [x["slug"] for x in r.json()["items"]]


def test_user_writes_need_the_admin_role(coffer):
    t = coffer.new_tenant()
    target = coffer.add_user(t, "target", "viewer")
    for role in ["editor", "viewer"]:
        caller = coffer.add_user(t, f"a-{role}", role)
        token = coffer.token(caller)
        for method, path, body in [
            ("POST", "/api/v1/users", {"username": f"by-{role}", "role": "viewer"}),
            ("POST", "/api/v1/users", {"username": f"by-{role}", "role": "admin", "password": PASSWORD}),
            ("PATCH", f"/api/v1/users/{target['id']}", {"role": "admin"}),
            ("PATCH", f"/api/v1/users/{target['id']}", {"disabled": True}),
            ("PATCH", f"/api/v1/users/{target['id']}", {"password": PASSWORD}),
            ("PATCH", f"/api/v1/users/{caller['id']}", {"role": "admin"}),  # not even themself
            ("DELETE", f"/api/v1/users/{target['id']}", None),
            ("DELETE", f"/api/v1/users/{t.admin['id']}", None),
        ]:
            assert_error(coffer.call(method, path, token=token, json=body), 403, "forbidden")
        # Reading is for every user of the tenant.
        assert coffer.call("GET", f"/api/v1/users/{target['id']}", token=token).json() == target
        assert len(users_of(coffer, token)[0]) >= 3
    items, _ = users_of(coffer, t.admin_token)
    assert sorted(u["username"] for u in items) == ["a-editor", "a-viewer", "admin", "target"]
    assert coffer.call("GET", f"/api/v1/users/{target['id']}", token=t.admin_token).json() == target
    assert_error(coffer.login(t.slug, "target", PASSWORD), 401, "unauthenticated")


def test_the_last_enabled_admin_stays(coffer):
    t = coffer.new_tenant()
    me = t.admin["id"]
    path = f"/api/v1/users/{me}"
    assert_error(coffer.call("PATCH", path, token=t.admin_token, json={"role": "editor"}), 409, "conflict")
    assert_error(coffer.call("PATCH", path, token=t.admin_token, json={"role": "viewer"}), 409, "conflict")
    assert_error(coffer.call("PATCH", path, token=t.admin_token, json={"disabled": True}), 409, "conflict")
    assert_error(coffer.call("DELETE", path, token=t.admin_token), 409, "conflict")
    # Setting what already holds is fine.
    assert coffer.call("PATCH", path, token=t.admin_token, json={"role": "admin", "disabled": False}).status_code == 200

    # A second admin: now either may step down, but not both.
    dave = coffer.add_user(t, "dave", "admin")
    r = coffer.call("PATCH", f"/api/v1/users/{dave['id']}", token=t.admin_token, json={"role": "editor"})
    assert r.status_code == 200
    assert_error(coffer.call("PATCH", path, token=t.admin_token, json={"role": "editor"}), 409, "conflict")

    # A disabled admin does not count.
    coffer.call("PATCH", f"/api/v1/users/{dave['id']}", token=t.admin_token, json={"role": "admin"})
    r = coffer.call("PATCH", f"/api/v1/users/{dave['id']}", token=t.admin_token, json={"disabled": True})
    assert r.status_code == 200 and r.json()["role"] == "admin" and r.json()["disabled"] is True
    assert_error(coffer.call("PATCH", path, token=t.admin_token, json={"role": "viewer"}), 409, "conflict")
    assert_error(coffer.call("PATCH", path, token=t.admin_token, json={"disabled": True}), 409, "conflict")

    # With dave enabled again, the first admin may demote themself (and then can no longer write).
    coffer.call("PATCH", f"/api/v1/users/{dave['id']}", token=t.admin_token, json={"disabled": False})
    r = coffer.call("PATCH", path, token=t.admin_token, json={"role": "editor"})
    assert r.status_code == 200 and r.json()["role"] == "editor"
    assert_error(coffer.call("PATCH", path, token=t.admin_token, json={"role": "admin"}), 403, "forbidden")
    dave_token = coffer.token(dave)
    assert_error(coffer.call("PATCH", f"/api/v1/users/{dave['id']}", token=dave_token, json={"role": "viewer"}),
                 409, "conflict")
    assert_error(coffer.call("PATCH", f"/api/v1/users/{dave['id']}", token=dave_token, json={"disabled": True}),
                 409, "conflict")
    roles = {u["username"]: (u["role"], u["disabled"]) for u in users_of(coffer, dave_token)[0]}
    assert roles == {"admin": ("editor", False), "dave": ("admin", False)}


def test_concurrent_demotions_keep_an_enabled_admin(coffer):
    # Two admins demote (or disable) each other at the same moment: one of them must stay.
    for change in [{"role": "editor"}, {"disabled": True}, {"role": "viewer", "disabled": True}] * 3:
        t = coffer.new_tenant()
        b = coffer.add_user(t, "b", "admin")
        watcher = coffer.token(coffer.add_user(t, "watcher", "viewer"))
        pairs = [(t.admin_token, b["id"]), (coffer.token(b), t.admin["id"])]
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(
                lambda p: coffer.call("PATCH", f"/api/v1/users/{p[1]}", token=p[0], json=change), pairs))
        # The loser is refused: the last admin (409), or no longer an admin (403) or enabled (401).
        codes = sorted(r.status_code for r in answers)
        assert codes in ([200, 401], [200, 403], [200, 409]), (change, [r.text for r in answers])
        everyone = coffer.call("GET", "/api/v1/users", token=watcher).json()["items"]
        assert [u for u in everyone if u["role"] == "admin" and not u["disabled"]], everyone


def test_concurrent_creates_of_one_name_make_one_user(coffer):
    t = coffer.new_tenant()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: coffer.call("POST", "/api/v1/users", token=t.admin_token,
                                                      json={"username": "racer", "role": "viewer"}), range(8)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7, [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert_error(r, 409, "conflict")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: coffer.call("POST", "/api/v1/tenants", token=coffer.op, json={
            "slug": "race-slug", "name": f"n{i}", "admin": {"username": "a"}}), range(8)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7, [r.text for r in answers]


def test_an_admin_cannot_delete_themself(coffer):
    t = coffer.new_tenant()
    other = coffer.add_user(t, "other-admin", "admin")
    assert_error(coffer.call("DELETE", f"/api/v1/users/{t.admin['id']}", token=t.admin_token), 409, "conflict")
    # But another admin may delete them.
    assert coffer.call("DELETE", f"/api/v1/users/{t.admin['id']}", token=coffer.token(other)).status_code == 204
    assert [u["username"] for u in users_of(coffer, coffer.token(other))[0]] == ["other-admin"]
    assert_error(coffer.call("DELETE", f"/api/v1/users/{other['id']}", token=coffer.token(other)), 409, "conflict")


def test_users_list_is_paginated(coffer):
    t = coffer.new_tenant()
    names = {"admin"} | {f"user{i:02d}" for i in range(23)} | {"Zed", "a.b", "x@y"}
    for n in sorted(names - {"admin"}):
        coffer.add_user(t, n, "viewer")
    everyone, pages = users_of(coffer, t.admin_token)
    assert len(pages) == 1 and {u["username"] for u in everyone} == names  # the default limit is 100
    for limit in [1, 2, 5, 7, 13, 26, 27, 1000]:
        items, pages = users_of(coffer, t.admin_token, limit=limit)
        seen = [u["username"] for u in items]
        assert len(seen) == len(set(seen)), (limit, seen)
        assert set(seen) == names, limit
        assert all(len(p) <= limit for p in pages)
        assert all(len(p) == limit for p in pages[:-1])
        assert len(pages) <= -(-len(names) // limit) + 1
        assert [u["username"] for u in items] == [u["username"] for u in everyone]  # one stable order
    # Another tenant's list is its own.
    other = coffer.new_tenant()
    assert [u["username"] for u in users_of(coffer, other.admin_token, limit=3)[0]] == ["admin"]


def test_users_list_bad_query_values_are_400(coffer):
    t = coffer.new_tenant()
    for q in ["limit=0", "limit=1001", "limit=x", "limit=-1", "limit=", "limit=1.5", "limit=10abc",
              "cursor=%21%21%21", "cursor=bm90LWEtY3Vyc29y"]:
        assert_error(coffer.call("GET", f"/api/v1/users?{q}", token=t.admin_token), 400, "bad_request")
    assert coffer.call("GET", "/api/v1/users?limit=1000", token=t.admin_token).status_code == 200
    assert coffer.call("GET", "/api/v1/users?limit=1", token=t.admin_token).status_code == 200


def test_users_of_another_tenant_do_not_exist(coffer):
    a = coffer.new_tenant()
    b = coffer.new_tenant()
    victim = coffer.add_user(a, "victim-user", "admin")
    b_viewer = coffer.add_user(b, "bv", "viewer")
    for token in [b.admin_token, coffer.token(b_viewer)]:
        answers = []
        for uid in [victim["id"], a.admin["id"], "no-such-user-000000000000"]:
            for method, body in [("GET", None), ("PATCH", {"role": "viewer"}), ("PATCH", {"disabled": True}),
                                 ("DELETE", None)]:
                r = coffer.call(method, f"/api/v1/users/{uid}", token=token, json=body)
                err = assert_error(r, 404, "not_found")
                answers.append((err["code"], err["message"]))
                for leak in [victim["id"], a.admin["id"], "victim-user", a.id, a.slug]:
                    assert leak not in r.text
        assert len(set(answers)) == 1, answers
        names = [u["username"] for u in users_of(coffer, token)[0]]
        assert "victim-user" not in names
    assert coffer.call("GET", f"/api/v1/users/{victim['id']}", token=a.admin_token).json() == victim


def test_user_objects_never_carry_a_password(coffer):
    t = coffer.new_tenant(password=PASSWORD)
    body = coffer.call("POST", "/api/v1/tenants", token=coffer.op, json={
        "slug": "secretive", "name": "S", "admin": {"username": "a", "password": PASSWORD}})
    assert body.status_code == 201 and no_secrets(body.text)
    assert set(body.json()["admin"]) == USER_KEYS
    u = coffer.add_user(t, "bob", "viewer", password=PASSWORD)
    for r in [coffer.call("GET", "/api/v1/users", token=t.admin_token),
              coffer.call("GET", f"/api/v1/users/{u['id']}", token=t.admin_token),
              coffer.call("PATCH", f"/api/v1/users/{u['id']}", token=t.admin_token, json={"password": PASSWORD + "2"}),
              coffer.call("GET", "/api/v1/me", token=coffer.login_token(t.slug, "bob", PASSWORD + "2"))]:
        assert r.status_code == 200 and no_secrets(r.text), r.text


# -- tenants -----------------------------------------------------------------------------------
def test_tenant_create_returns_tenant_and_admin(coffer):
    r = coffer.call("POST", "/api/v1/tenants", token=coffer.op, json={
        "slug": "globex", "name": "Globex Corporation", "quota_bytes": 10 ** 12, "quota_files": 5000,
        "admin": {"username": "hank", "password": PASSWORD}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"tenant", "admin"}
    tenant, admin = body["tenant"], body["admin"]
    assert_tenant(tenant, slug="globex", name="Globex Corporation", quota_bytes=10 ** 12, quota_files=5000,
                  used_bytes=0, used_files=0)
    assert_user(admin, username="hank", role="admin", disabled=False, tenant_id=tenant["id"])
    assert len(tenant["id"]) >= 16 and tenant["id"] != admin["id"]
    assert r.headers["Location"] == f"/api/v1/tenants/{tenant['id']}"
    assert coffer.call("GET", r.headers["Location"], token=coffer.op).json() == tenant
    token = coffer.login_token("globex", "hank")
    assert coffer.call("GET", "/api/v1/me", token=token).json() == {"user": admin, "tenant": tenant}
    # Quotas absent or null are no quota.
    for extra in [{}, {"quota_bytes": None, "quota_files": None}]:
        t = coffer.new_tenant(**extra)
        assert_tenant(t.tenant, quota_bytes=None, quota_files=None, used_bytes=0, used_files=0)


@pytest.mark.parametrize("slug", ["a", "0", "a" * 63, "a-b", "0-9", "xn--bcher-kva", "a--b", "123"])
def test_valid_slugs(coffer, slug):
    r = coffer.call("POST", "/api/v1/tenants", token=coffer.op,
                    json={"slug": slug, "name": "x", "admin": {"username": "a"}})
    assert r.status_code == 201, r.text
    assert r.json()["tenant"]["slug"] == slug
    assert coffer.call("DELETE", f"/api/v1/tenants/{r.json()['tenant']['id']}", token=coffer.op).status_code == 204


@pytest.mark.parametrize("slug", [
    pytest.param("Acme", id="upper case"),
    pytest.param("ACME", id="all upper case"),
    pytest.param("-acme", id="leading dash"),
    pytest.param("acme-", id="trailing dash"),
    pytest.param("a" * 64, id="64 chars"),
    pytest.param("", id="empty"),
    pytest.param("a_b", id="underscore"),
    pytest.param("a.b", id="dot"),
    pytest.param("a b", id="space"),
    pytest.param("a/b", id="slash"),
    pytest.param("b\u00fccher", id="unicode"),
    pytest.param("-", id="dash only"),
])
def test_invalid_slugs_are_400(coffer, slug):
    r = coffer.call("POST", "/api/v1/tenants", token=coffer.op,
                    json={"slug": slug, "name": "x", "admin": {"username": "a"}})
    assert_error(r, 400, "bad_request")
    slugs = [t["slug"] for t in coffer.call("GET", "/api/v1/tenants?limit=1000", token=coffer.op).json()["items"]]
    assert slug not in slugs


def test_duplicate_slug_is_409(coffer):
    first = coffer.new_tenant(slug="dup-slug", name="First")
    r = coffer.call("POST", "/api/v1/tenants", token=coffer.op,
                    json={"slug": "dup-slug", "name": "Second", "admin": {"username": "other"}})
    assert_error(r, 409, "conflict")
    assert coffer.call("GET", f"/api/v1/tenants/{first.id}", token=coffer.op).json() == first.tenant
    users = users_of(coffer, first.admin_token)[0]
    assert [u["username"] for u in users] == ["admin"]


@pytest.mark.parametrize("field", ["quota_bytes", "quota_files"])
@pytest.mark.parametrize("value", [-1, -(2 ** 62), "100", 1.5, True, [1], {"v": 1}, 2 ** 64])
def test_bad_quotas_are_400(coffer, field, value):
    r = coffer.call("POST", "/api/v1/tenants", token=coffer.op,
                    json={"slug": "bad-quota", "name": "x", field: value, "admin": {"username": "a"}})
    assert_error(r, 400, "bad_request")
    t = coffer.new_tenant(**{field: 7})
    assert_error(coffer.call("PATCH", f"/api/v1/tenants/{t.id}", token=coffer.op, json={field: value}),
                 400, "bad_request")
    assert coffer.call("GET", f"/api/v1/tenants/{t.id}", token=coffer.op).json()[field] == 7
    slugs = [x["slug"] for x in coffer.call("GET", "/api/v1/tenants?limit=1000", token=coffer.op).json()["items"]]
    assert "bad-quota" not in slugs


def test_an_invalid_admin_creates_no_tenant(coffer):
    for admin in [{"username": "bad name"}, {"username": "a", "password": "short"}, {}, {"password": PASSWORD},
                  {"username": "a", "role": "admin"}]:
        r = coffer.call("POST", "/api/v1/tenants", token=coffer.op,
                        json={"slug": "atomic", "name": "x", "admin": admin})
        assert_error(r, 400, "bad_request")
    assert_error(coffer.call("POST", "/api/v1/tenants", token=coffer.op, json={"slug": "atomic", "name": "x"}),
                 400, "bad_request")
    assert_error(coffer.call("POST", "/api/v1/tenants", token=coffer.op, json={"name": "x", "admin": {"username": "a"}}),
                 400, "bad_request")
    # The slug is still free.
    assert coffer.new_tenant(slug="atomic").slug == "atomic"


def test_tenants_list_is_paginated(make_server):
    s = make_server(env={"COFFER_JWT_SECRET": SECRET}).start()
    c = Coffer(s)
    slugs = {f"pg-{i:02d}" for i in range(17)}
    for slug in sorted(slugs, reverse=True):
        c.new_tenant(slug=slug)
    r = c.call("GET", "/api/v1/tenants", token=c.op)
    assert r.status_code == 200 and set(r.json()) == {"items", "next_cursor"}
    everyone = r.json()["items"]
    assert {t["slug"] for t in everyone} == slugs and r.json()["next_cursor"] is None
    assert all(set(t) == TENANT_KEYS for t in everyone)
    for limit in [1, 4, 5, 17, 1000]:
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            body = c.call("GET", "/api/v1/tenants", token=c.op, params=params).json()
            assert len(body["items"]) <= limit
            seen += [t["slug"] for t in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
            assert len(body["items"]) == limit
        assert len(seen) == len(set(seen)) and set(seen) == slugs, (limit, seen)
        assert seen == [t["slug"] for t in everyone]
        assert pages <= -(-len(slugs) // limit) + 1
    for q in ["limit=0", "limit=1001", "limit=x", "cursor=%21"]:
        assert_error(c.call("GET", f"/api/v1/tenants?{q}", token=c.op), 400, "bad_request")


def test_tenant_patch(coffer):
    t = coffer.new_tenant(name="Before", quota_bytes=100)
    path = f"/api/v1/tenants/{t.id}"
    r = coffer.call("PATCH", path, token=coffer.op, json={"name": "After"})
    assert r.status_code == 200
    assert r.json() == {**t.tenant, "name": "After"}
    r = coffer.call("PATCH", path, token=coffer.op, json={"quota_files": 10, "quota_bytes": 0})
    assert r.json() == {**t.tenant, "name": "After", "quota_files": 10, "quota_bytes": 0}
    r = coffer.call("PATCH", path, token=coffer.op, json={"quota_bytes": None})
    assert r.json() == {**t.tenant, "name": "After", "quota_files": 10, "quota_bytes": None}
    r = coffer.call("PATCH", path, token=coffer.op, json={"quota_files": None, "quota_bytes": 2 ** 53})
    assert r.json() == {**t.tenant, "name": "After", "quota_files": None, "quota_bytes": 2 ** 53}
    assert coffer.call("GET", path, token=coffer.op).json() == r.json()
    assert coffer.call("GET", "/api/v1/me", token=t.admin_token).json()["tenant"] == r.json()
    # A name is text without control characters (PostgreSQL's text cannot hold a NUL).
    for body in [{"slug": "new-slug"}, {"used_bytes": 0}, {"id": "x"}, {"name": 5}, {"name": None},
                 {"name": ""}, {"name": "x" * 257}, {"name": "a\x00b"}, {"name": "tab\there"}]:
        assert_error(coffer.call("PATCH", path, token=coffer.op, json=body), 400, "bad_request")
    assert coffer.call("GET", path, token=coffer.op).json() == r.json()
    assert_error(coffer.call("PATCH", "/api/v1/tenants/no-such-tenant-00000000", token=coffer.op,
                             json={"name": "x"}), 404, "not_found")


def test_tenant_delete(coffer):
    doomed = coffer.new_tenant(admin="alice", password=PASSWORD)
    bob = coffer.add_user(doomed, "bob", "editor", password=PASSWORD)
    survivor = coffer.new_tenant(admin="alice", password=PASSWORD)
    alice_token = coffer.login_token(doomed.slug, "alice")
    bob_token = coffer.login_token(doomed.slug, "bob")

    r = coffer.call("DELETE", f"/api/v1/tenants/{doomed.id}", token=coffer.op)
    assert r.status_code == 204 and r.content == b""
    assert_error(coffer.call("GET", f"/api/v1/tenants/{doomed.id}", token=coffer.op), 404, "not_found")
    assert_error(coffer.call("PATCH", f"/api/v1/tenants/{doomed.id}", token=coffer.op, json={"name": "x"}),
                 404, "not_found")
    assert_error(coffer.call("DELETE", f"/api/v1/tenants/{doomed.id}", token=coffer.op), 404, "not_found")
    slugs = [x["slug"] for x in coffer.call("GET", "/api/v1/tenants?limit=1000", token=coffer.op).json()["items"]]
    assert doomed.slug not in slugs and survivor.slug in slugs
    # Its users can no longer log in, and its tokens are refused.
    for name in ["alice", "bob"]:
        assert_error(coffer.login(doomed.slug, name, PASSWORD), 401, "unauthenticated")
    for token in [alice_token, bob_token, doomed.admin_token, coffer.token(bob)]:
        assert_error(coffer.call("GET", "/api/v1/me", token=token), 401, "unauthenticated")
        assert_error(coffer.call("GET", "/api/v1/users", token=token), 401, "unauthenticated")
    # The other tenant is untouched.
    assert coffer.login(survivor.slug, "alice", PASSWORD).status_code == 200
    assert coffer.call("GET", f"/api/v1/tenants/{survivor.id}", token=coffer.op).json() == survivor.tenant


def test_a_tenant_name_with_control_characters_makes_no_tenant(coffer):
    for name in ["a\x00b", "line\nbreak", "del\x7f"]:
        r = coffer.call("POST", "/api/v1/tenants", token=coffer.op,
                        json={"slug": "ctl-name", "name": name, "admin": {"username": "a"}})
        assert_error(r, 400, "bad_request")
    slugs = [x["slug"] for x in coffer.call("GET", "/api/v1/tenants?limit=1000", token=coffer.op).json()["items"]]
    assert "ctl-name" not in slugs
    assert coffer.new_tenant(slug="ctl-name", name="Caf\u00e9 \u2603").tenant["name"] == "Caf\u00e9 \u2603"


def test_tenant_get_of_unknown_ids_is_404(coffer):
    for tid in ["no-such-tenant-00000000", "x", "..", "%2e%2e"]:
        assert_error(coffer.call("GET", f"/api/v1/tenants/{tid}", token=coffer.op), 404, "not_found")
        assert_error(coffer.call("DELETE", f"/api/v1/tenants/{tid}", token=coffer.op), 404, "not_found")


def test_tenant_json_is_strict(coffer):
    ok = {"slug": "strict-t", "name": "x", "admin": {"username": "a"}}
    for body in [b"", b"[]", b"null", b'"x"', json.dumps({**ok, "extra": 1}).encode(),
                 b'{"slug": "strict-t", "slug": "strict-t", "name": "x", "admin": {"username": "a"}}',
                 b'{"slug": "strict-t", "name": "x", "admin": {"username": "a", "username": "b"}}']:
        r = coffer.call("POST", "/api/v1/tenants", token=coffer.op, data=body,
                        headers={"Content-Type": "application/json"})
        assert_error(r, 400, "bad_request")
    r = coffer.call("POST", "/api/v1/tenants", token=coffer.op, data=json.dumps(ok).encode(),
                    headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    assert coffer.call("POST", "/api/v1/tenants", token=coffer.op, json=ok).status_code == 201
