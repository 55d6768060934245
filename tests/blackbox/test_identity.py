"""Identity: login and its throttle, strict JSON bodies, /me, the error format, and the CLI
commands `token`, `tenant create` and `user create`.

The helpers at the top (Coffer, mint, assert_error) are shared with test_tokens.py and
test_users_tenants.py."""
import base64
import hashlib
import hmac
import itertools
import json
import re
import time

import pytest

from coffer_server import CofferServer

SECRET = "coffer-blackbox-identity-secret-0123456789"  # COFFER_JWT_SECRET: the tests know the key
PASSWORD = "correct horse battery staple"
USER_KEYS = {"id", "tenant_id", "username", "role", "disabled", "created_at"}
TENANT_KEYS = {"id", "slug", "name", "quota_bytes", "quota_files", "used_bytes", "used_files", "created_at"}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


# -- tokens made in Python ---------------------------------------------------------------------
def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def hs256(header, claims, key):
    """A compact JWS whose signature is HMAC-SHA256 under `key` (any bytes), whatever `header` says."""
    if isinstance(key, str):
        key = key.encode()
    signing_input = segment(header) + "." + segment(claims)
    return signing_input + "." + b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


def mint(claims, key=SECRET, header=None):
    return hs256(header or {"alg": "HS256", "typ": "JWT"}, claims, key)


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# -- assertions --------------------------------------------------------------------------------
def assert_error(r, status, code):
    """The API.md error body, its request_id equal to the X-Request-Id header; 401 and 429 carry
    their headers. Returns the error object."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "request_id"}, err
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"]
    assert err["request_id"] and err["request_id"] == r.headers["X-Request-Id"]
    if status == 401:
        assert r.headers["WWW-Authenticate"].split()[0] == "Bearer"
    if status == 429:
        assert int(r.headers["Retry-After"]) >= 1
    return err


def assert_user(u, **expected):
    assert set(u) == USER_KEYS, u
    assert RFC3339_UTC.match(u["created_at"]), u
    assert isinstance(u["disabled"], bool)
    for k, v in expected.items():
        assert u[k] == v, (k, u)


def assert_tenant(t, **expected):
    assert set(t) == TENANT_KEYS, t
    assert RFC3339_UTC.match(t["created_at"]), t
    for k, v in expected.items():
        assert t[k] == v, (k, t)


# -- a populated server ------------------------------------------------------------------------
class Tenant:
    def __init__(self, coffer, body):
        self.tenant = body["tenant"]
        self.admin = body["admin"]
        self.id = self.tenant["id"]
        self.slug = self.tenant["slug"]
        self.admin_token = coffer.token(self.admin)


class Coffer:
    """A running server with a known HS256 key, and helpers to populate it over the API."""

    _serial = itertools.count(1)

    def __init__(self, server, secret=SECRET):
        self.server = server
        self.secret = secret
        self.op = self.mint({"sub": "operator", "role": "operator", "exp": int(time.time()) + 3600})

    def mint(self, claims, key=None, header=None):
        return mint(claims, key or self.secret, header)

    def token(self, user, ttl=3600, **extra):
        """A token for `user` (a User object) signed with the server's key."""
        return self.mint({"sub": user["id"], "tenant_id": user["tenant_id"],
                          "exp": int(time.time()) + ttl, **extra})

    def call(self, method, path, token=None, **kw):
        return self.server.request(method, path, token=token, **kw)

    def new_tenant(self, admin="admin", password=None, **fields):
        slug = fields.pop("slug", None) or f"t{next(self._serial)}-{int(time.time() * 1000) % 100000}"
        body = {"slug": slug, "name": fields.pop("name", f"Tenant {slug}"), "admin": {"username": admin}}
        if password is not None:
            body["admin"]["password"] = password
        body.update(fields)
        r = self.call("POST", "/api/v1/tenants", token=self.op, json=body)
        assert r.status_code == 201, r.text
        return Tenant(self, r.json())

    def add_user(self, tenant, username, role="viewer", password=None, token=None):
        body = {"username": username, "role": role}
        if password is not None:
            body["password"] = password
        r = self.call("POST", "/api/v1/users", token=token or tenant.admin_token, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def login(self, tenant_slug, username, password):
        return self.server.post("/api/v1/auth/token",
                                json={"tenant": tenant_slug, "username": username, "password": password})

    def login_token(self, tenant_slug, username, password=PASSWORD):
        r = self.login(tenant_slug, username, password)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


def start(env=None):
    return CofferServer(env={"COFFER_JWT_SECRET": SECRET, **(env or {})}).start()


# -- this module's server ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def coffer():
    s = start({"COFFER_LOGIN_MAX_FAILURES": "3", "COFFER_LOGIN_LOCKOUT": "1m", "COFFER_TOKEN_TTL": "15m"})
    yield Coffer(s)
    s.close()


# -- login -------------------------------------------------------------------------------------
def test_login_returns_a_bearer_token_that_works(coffer):
    t = coffer.new_tenant(admin="alice", password=PASSWORD)
    r = coffer.login(t.slug, "alice", PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900  # COFFER_TOKEN_TTL=15m
    claims = claims_of(body["access_token"])
    assert claims["exp"] - claims["iat"] == 900
    assert claims["sub"] == t.admin["id"] and claims["tenant_id"] == t.id
    assert "role" not in claims and "password" not in json.dumps(claims)
    me = coffer.call("GET", "/api/v1/me", token=body["access_token"])
    assert me.status_code == 200
    assert me.json()["user"]["id"] == t.admin["id"]


def test_every_failed_login_is_the_same_401(coffer):
    t = coffer.new_tenant(admin="alice", password=PASSWORD)
    other = coffer.new_tenant(admin="olga")
    dis = coffer.add_user(t, "dis", "editor", password=PASSWORD)
    assert coffer.call("PATCH", f"/api/v1/users/{dis['id']}", token=t.admin_token,
                       json={"disabled": True}).status_code == 200
    coffer.add_user(t, "nopass", "editor")  # created without a password
    attempts = {
        "unknown tenant": ("no-such-tenant", "alice", PASSWORD),
        "another tenant": (other.slug, "alice", PASSWORD),
        "unknown user": (t.slug, "nobody", PASSWORD),
        "wrong password": (t.slug, "alice", PASSWORD + "!"),
        "disabled user": (t.slug, "dis", PASSWORD),
        "user without a password": (t.slug, "nopass", PASSWORD),
        "user without a password, empty password": (t.slug, "nopass", ""),
        "empty everything": ("", "", ""),
    }
    seen = {}
    for why, (slug, name, pw) in attempts.items():
        r = coffer.login(slug, name, pw)
        err = assert_error(r, 401, "unauthenticated")
        seen[why] = (err["code"], err["message"], r.headers["WWW-Authenticate"],
                     r.headers["Content-Type"], "access_token" in r.text)
    assert len(set(seen.values())) == 1, seen
    # alice does log in with the right answers.
    assert coffer.login(t.slug, "alice", PASSWORD).status_code == 200


def test_repeated_failures_are_throttled_per_tenant_and_username(coffer):
    t = coffer.new_tenant(admin="alice", password=PASSWORD)
    coffer.add_user(t, "bob", "viewer", password=PASSWORD)
    for _ in range(3):  # COFFER_LOGIN_MAX_FAILURES=3
        assert_error(coffer.login(t.slug, "alice", "wrong-password"), 401, "unauthenticated")
    r = coffer.login(t.slug, "alice", PASSWORD)  # even the right password waits
    assert_error(r, 429, "rate_limited")
    assert 30 <= int(r.headers["Retry-After"]) <= 60  # COFFER_LOGIN_LOCKOUT=1m
    assert "access_token" not in r.text
    assert_error(coffer.login(t.slug, "alice", "wrong-password"), 429, "rate_limited")
    # Another username of the same tenant, and the same username elsewhere, are not affected.
    assert coffer.login(t.slug, "bob", PASSWORD).status_code == 200
    other = coffer.new_tenant(admin="alice", password=PASSWORD)
    assert coffer.login(other.slug, "alice", PASSWORD).status_code == 200
    assert_error(coffer.login(t.slug, "alice", PASSWORD), 429, "rate_limited")


def test_the_lockout_ends_after_the_configured_time(make_server):
    s = make_server(env={"COFFER_JWT_SECRET": SECRET, "COFFER_LOGIN_MAX_FAILURES": "2",
                         "COFFER_LOGIN_LOCKOUT": "2s"}).start()
    c = Coffer(s)
    t = c.new_tenant(admin="alice", password=PASSWORD)
    for _ in range(2):
        assert_error(c.login(t.slug, "alice", "wrong-password"), 401, "unauthenticated")
    locked_at = time.time()
    r = c.login(t.slug, "alice", PASSWORD)
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    time.sleep(max(0.0, locked_at + 2.3 - time.time()))
    # Over: one more failure is a plain 401 (the count starts afresh), and the right password works.
    assert_error(c.login(t.slug, "alice", "wrong-password"), 401, "unauthenticated")
    assert c.login(t.slug, "alice", PASSWORD).status_code == 200


def test_unknown_usernames_are_throttled_like_known_ones(coffer):
    t = coffer.new_tenant(admin="alice", password=PASSWORD)
    for _ in range(3):
        assert_error(coffer.login(t.slug, "ghost", "whatever-pass"), 401, "unauthenticated")
    assert_error(coffer.login(t.slug, "ghost", "whatever-pass"), 429, "rate_limited")
    for _ in range(3):
        assert_error(coffer.login("no-such-tenant-x", "alice", "whatever-pass"), 401, "unauthenticated")
    assert_error(coffer.login("no-such-tenant-x", "alice", "whatever-pass"), 429, "rate_limited")


def test_a_successful_login_resets_the_failure_count(coffer):
    t = coffer.new_tenant(admin="alice", password=PASSWORD)
    for _ in range(2):
        assert_error(coffer.login(t.slug, "alice", "wrong-password"), 401, "unauthenticated")
    assert coffer.login(t.slug, "alice", PASSWORD).status_code == 200
    for _ in range(2):
        assert_error(coffer.login(t.slug, "alice", "wrong-password"), 401, "unauthenticated")
    # Four failures in all, but never three in a row: no lockout.
    assert coffer.login(t.slug, "alice", PASSWORD).status_code == 200


# -- strict JSON -------------------------------------------------------------------------------
GOOD_LOGIN = '{"tenant": "%s", "username": "alice", "password": "%s"}'


@pytest.fixture(scope="module")
def acme(coffer):
    """A tenant whose admin alice has a password; the strict-JSON tests never log her in wrongly."""
    return coffer.new_tenant(admin="alice", password=PASSWORD)


def test_the_well_formed_login_body_logs_in(coffer, acme):
    for ctype in ["application/json", "application/json; charset=utf-8", "Application/JSON"]:
        ok = coffer.server.post("/api/v1/auth/token", data=(GOOD_LOGIN % (acme.slug, PASSWORD)).encode(),
                                headers={"Content-Type": ctype})
        assert ok.status_code == 200, (ctype, ok.text)


@pytest.mark.parametrize("body", [
    pytest.param('{"tenant": "%s", "username": "alice", "password": "%s", "remember": true}', id="unknown field"),
    pytest.param('{"tenant": "%s", "username": "alice", "password": 12345678}', id="number for a string"),
    pytest.param('{"tenant": "%s", "username": "alice", "password": null}', id="null for a string"),
    pytest.param('{"tenant": "%s", "username": ["alice"], "password": "%s"}', id="array for a string"),
    pytest.param('{"tenant": "%s", "username": "alice"}', id="missing field"),
    pytest.param('{"tenant": "%s", "username": "alice", "username": "alice", "password": "%s"}',
                 id="duplicate key"),
    pytest.param('{"tenant": "%s", "username": "alice", "password": "%s"} {}', id="trailing data"),
    pytest.param('{"tenant": "%s", "username": "alice", "password": "%s",}', id="trailing comma"),
    pytest.param("", id="empty body"),
    pytest.param("   ", id="whitespace body"),
    pytest.param("[]", id="array body"),
    pytest.param('"alice"', id="string body"),
    pytest.param("null", id="null body"),
    pytest.param("42", id="number body"),
    pytest.param("{", id="truncated"),
])
def test_login_body_is_strict_json(coffer, acme, body):
    n = body.count("%s")
    text = body % ((acme.slug, PASSWORD)[:n]) if n else body
    r = coffer.server.post("/api/v1/auth/token", data=text.encode(),
                           headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_request")
    assert "access_token" not in r.text


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "application/jsonx"])
def test_login_needs_a_json_content_type(coffer, acme, ctype):
    r = coffer.server.post("/api/v1/auth/token", data=(GOOD_LOGIN % (acme.slug, PASSWORD)).encode(),
                           headers={"Content-Type": ctype})
    assert_error(r, 415, "unsupported_media_type")


def test_other_routes_are_strict_too(coffer):
    t = coffer.new_tenant()
    user = coffer.add_user(t, "bob", "viewer")
    cases = [
        ("POST", "/api/v1/users", t.admin_token, {"username": "x1", "role": "viewer", "admin": True}),
        ("POST", "/api/v1/users", t.admin_token, {"username": 7, "role": "viewer"}),
        ("POST", "/api/v1/users", t.admin_token, {"username": "x2", "role": ["viewer"]}),
        ("PATCH", f"/api/v1/users/{user['id']}", t.admin_token, {"disabled": "yes"}),
        ("PATCH", f"/api/v1/users/{user['id']}", t.admin_token, {"disabled": 1}),
        ("PATCH", f"/api/v1/users/{user['id']}", t.admin_token, {"role": "editor", "username": "renamed"}),
        ("POST", "/api/v1/tenants", coffer.op, {"slug": "strict-a", "name": "A", "admin": {"username": "a"},
                                                "plan": "gold"}),
        ("POST", "/api/v1/tenants", coffer.op, {"slug": "strict-b", "name": "B",
                                                "admin": {"username": "a", "role": "viewer"}}),
        ("POST", "/api/v1/tenants", coffer.op, {"slug": "strict-c", "name": "C", "admin": "a"}),
        ("POST", "/api/v1/tenants", coffer.op, {"slug": "strict-d", "name": 4, "admin": {"username": "a"}}),
        ("PATCH", f"/api/v1/tenants/{t.id}", coffer.op, {"quota_bytes": "100"}),
        ("PATCH", f"/api/v1/tenants/{t.id}", coffer.op, {"slug": "renamed"}),
    ]
    for method, path, token, body in cases:
        assert_error(coffer.call(method, path, token=token, json=body), 400, "bad_request")
    for method, path, token in [("POST", "/api/v1/users", t.admin_token),
                                ("PATCH", f"/api/v1/users/{user['id']}", t.admin_token),
                                ("POST", "/api/v1/tenants", coffer.op)]:
        assert_error(coffer.call(method, path, token=token, data=b"",
                                 headers={"Content-Type": "application/json"}), 400, "bad_request")
        assert_error(coffer.call(method, path, token=token, data=b"[1]",
                                 headers={"Content-Type": "application/json"}), 400, "bad_request")
        assert_error(coffer.call(method, path, token=token, data=b'{"role": "viewer", "role": "admin"}',
                                 headers={"Content-Type": "application/json"}), 400, "bad_request")
        assert_error(coffer.call(method, path, token=token, data=b'{"role": "viewer"}',
                                 headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    # Nothing of the refused bodies was applied.
    got = coffer.call("GET", f"/api/v1/users/{user['id']}", token=t.admin_token).json()
    assert got == user
    names = [u["username"] for u in coffer.call("GET", "/api/v1/users", token=t.admin_token).json()["items"]]
    assert sorted(names) == ["admin", "bob"]
    slugs = [x["slug"] for x in coffer.call("GET", "/api/v1/tenants?limit=1000", token=coffer.op).json()["items"]]
    assert not [s for s in slugs if s.startswith("strict-")]
    assert coffer.call("GET", f"/api/v1/tenants/{t.id}", token=coffer.op).json() == t.tenant


# -- /me and the error format ------------------------------------------------------------------
def test_me_returns_the_callers_user_and_tenant(coffer):
    t = coffer.new_tenant(quota_bytes=1000, quota_files=10)
    for role in ["admin", "editor", "viewer"]:
        u = coffer.add_user(t, f"me-{role}", role)
        r = coffer.call("GET", "/api/v1/me", token=coffer.token(u))
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"user", "tenant"}
        assert body["user"] == u
        assert_user(body["user"], role=role, tenant_id=t.id, disabled=False)
        assert_tenant(body["tenant"], id=t.id, slug=t.slug, quota_bytes=1000, quota_files=10,
                      used_bytes=0, used_files=0)
    other = coffer.new_tenant()
    assert coffer.call("GET", "/api/v1/me", token=other.admin_token).json()["tenant"]["id"] == other.id


def test_requests_without_a_usable_token_are_401(coffer):
    t = coffer.new_tenant()
    good = t.admin_token
    for header in [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6cGFzc3dvcmQ=", f"Token {good}",
                   f"Bearer{good}", "Bearer not-a-jwt", "Bearer a.b.c", f"Bearer {good}x",
                   f"Bearer {good}.extra", f"Bearer {good.rsplit('.', 1)[0]}"]:
        headers = {} if header is None else {"Authorization": header}
        for path in ["/api/v1/me", "/api/v1/users", "/api/v1/tenants"]:
            assert_error(coffer.server.get(path, headers=headers), 401, "unauthenticated")
    assert coffer.server.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    # The auth-scheme is case-insensitive (RFC 7235).
    assert coffer.server.get("/api/v1/me", headers={"Authorization": f"bearer {good}"}).status_code == 200


def test_error_request_id_echoes_the_callers_id(coffer):
    r = coffer.server.get("/api/v1/me", headers={"X-Request-Id": "trace-identity-1"})
    err = assert_error(r, 401, "unauthenticated")
    assert err["request_id"] == "trace-identity-1"
    r = coffer.call("GET", "/api/v1/users/nope", token=coffer.new_tenant().admin_token,
                    headers={"X-Request-Id": "trace-identity-2"})
    assert assert_error(r, 404, "not_found")["request_id"] == "trace-identity-2"


# -- CLI ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_server():
    """A server with the generated HS256 key and one tenant, made by the CLI."""
    s = CofferServer().start()
    s.command("tenant", "create", "acme", "--admin", "alice")
    yield s
    s.close()


def test_cli_user_token_works(server):
    op = server.command("token", "--operator").stdout.strip()
    r = server.post("/api/v1/tenants", token=op,
                    json={"slug": "acme", "name": "Acme", "admin": {"username": "alice"}})
    assert r.status_code == 201, r.text
    out = server.command("token", "--tenant", "acme", "--user", "alice")
    token = out.stdout.strip()
    assert out.stdout.count("\n") == 1 and token.count(".") == 2
    me = server.get("/api/v1/me", token=token)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["username"] == "alice" and me.json()["tenant"]["slug"] == "acme"
    # A user token is not an operator token.
    assert_error(server.get("/api/v1/tenants", token=token), 403, "forbidden")
    claims = claims_of(server.command("token", "--tenant", "acme", "--user", "alice", "--ttl", "10m").stdout.strip())
    assert claims["exp"] - claims["iat"] == 600


def test_cli_operator_token_works_on_tenant_routes_only(server):
    out = server.command("token", "--operator", "--ttl", "2h")
    op = out.stdout.strip()
    claims = claims_of(op)
    assert claims["exp"] - claims["iat"] == 7200 and "tenant_id" not in claims
    assert server.get("/api/v1/tenants", token=op).status_code == 200
    r = server.post("/api/v1/tenants", token=op, json={"slug": "acme", "name": "Acme", "admin": {"username": "a"}})
    assert r.status_code == 201
    assert server.get(r.headers["Location"], token=op).status_code == 200
    assert_error(server.get("/api/v1/me", token=op), 403, "forbidden")
    assert_error(server.get("/api/v1/users", token=op), 403, "forbidden")


def test_cli_tenant_and_user_create_then_login(server):
    out = server.command("tenant", "create", "acme", "--name", "Acme Corp", "--admin", "alice",
                         "--password", PASSWORD)
    assert out.returncode == 0
    out = server.command("user", "create", "--tenant", "acme", "bob", "--role", "editor", "--password", PASSWORD)
    assert out.returncode == 0
    server.command("user", "create", "--tenant", "acme", "carol", "--role", "viewer")  # no password
    r = server.post("/api/v1/auth/token", json={"tenant": "acme", "username": "alice", "password": PASSWORD})
    assert r.status_code == 200, r.text
    me = server.get("/api/v1/me", token=r.json()["access_token"]).json()
    assert me["user"]["role"] == "admin" and me["tenant"]["name"] == "Acme Corp"
    r = server.post("/api/v1/auth/token", json={"tenant": "acme", "username": "bob", "password": PASSWORD})
    assert r.status_code == 200
    assert server.get("/api/v1/me", token=r.json()["access_token"]).json()["user"]["role"] == "editor"
    r = server.post("/api/v1/auth/token", json={"tenant": "acme", "username": "carol", "password": ""})
    assert_error(r, 401, "unauthenticated")
    # What the CLI made is what the API sees.
    admin = server.get("/api/v1/me", token=server.command("token", "--tenant", "acme", "--user", "alice")
                       .stdout.strip()).json()
    users = server.get("/api/v1/users", token=server.command("token", "--tenant", "acme", "--user", "alice")
                       .stdout.strip()).json()["items"]
    assert {(u["username"], u["role"]) for u in users} == {("alice", "admin"), ("bob", "editor"),
                                                           ("carol", "viewer")}
    assert admin["tenant"]["slug"] == "acme"


@pytest.mark.parametrize("args", [
    ["token"],
    ["token", "--operator", "--tenant", "acme"],
    ["token", "--tenant", "acme"],
    ["token", "--user", "alice"],
    ["token", "--operator", "--ttl", "soon"],
    ["token", "--operator", "--ttl", "0s"],
    ["token", "--operator", "--no-such-flag"],
    ["tenant", "create"],
    ["tenant", "create", "acme2"],
    ["tenant"],
    ["user", "create", "--tenant", "acme", "dave"],
    ["user", "create", "--tenant", "acme", "dave", "--role", "boss"],
    ["user", "create", "dave", "--role", "viewer"],
    ["frobnicate"],
])
def test_cli_bad_arguments_exit_2(cli_server, args):
    server = cli_server
    r = server.command(*args, check=False)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.strip()
    # Nothing was created by the refused commands.
    op = server.command("token", "--operator").stdout.strip()
    assert [t["slug"] for t in server.get("/api/v1/tenants", token=op).json()["items"]] == ["acme"]


@pytest.mark.parametrize("args", [
    ["token", "--tenant", "nope", "--user", "alice"],
    ["user", "create", "--tenant", "nope", "dave", "--role", "viewer"],
])
def test_cli_unknown_tenant_exits_1_with_one_line(cli_server, args):
    server = cli_server
    r = server.command(*args, check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "nope" in lines[0] or "tenant" in lines[0], lines


def test_cli_refuses_what_the_api_refuses(server):
    server.command("tenant", "create", "acme", "--admin", "alice")
    server.command("user", "create", "--tenant", "acme", "dis", "--role", "viewer")
    op = server.command("token", "--operator").stdout.strip()
    alice = server.command("token", "--tenant", "acme", "--user", "alice").stdout.strip()
    dis = [u for u in server.get("/api/v1/users", token=alice).json()["items"] if u["username"] == "dis"][0]
    assert server.request("PATCH", f"/api/v1/users/{dis['id']}", token=alice, json={"disabled": True}).ok
    for args in [["tenant", "create", "acme", "--admin", "bob"],           # slug taken
                 ["tenant", "create", "Bad-Slug", "--admin", "bob"],       # not a DNS label
                 ["tenant", "create", "other", "--admin", "bad name"],     # username syntax
                 ["tenant", "create", "other2", "--admin", "a", "--password", "short"],
                 ["user", "create", "--tenant", "acme", "alice", "--role", "viewer"],  # username taken
                 ["user", "create", "--tenant", "acme", "a/b", "--role", "viewer"],
                 ["token", "--tenant", "acme", "--user", "nobody"],
                 ["token", "--tenant", "acme", "--user", "dis"]]:         # a disabled user
        r = server.command(*args, check=False)
        assert r.returncode == 1, (args, r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""
    assert [t["slug"] for t in server.get("/api/v1/tenants", token=op).json()["items"]] == ["acme"]
