"""External identity providers: Coffer trusts an issuer's RS256/ES256 tokens with the keys of its
JWKS, served here over HTTPS by a Python server with a throw-away CA (made with the openssl CLI),
or read from a file. The token names the tenant by slug and the user by username; everything
else (existence, disabled flag, role) comes from Coffer's database."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import ssl
import subprocess
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from coffer_server import CofferServer, free_port

ISSUER = "https://idp.test"
AUDIENCE = "coffer"
PASSWORD = "correct horse battery staple"


# -- a certificate authority and an HTTPS JWKS endpoint ------------------------------------------
@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ec_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", *ec_key, "-keyout", d / "ca.key", "-out", d / "ca.pem", "-days", "2",
            "-subj", "/CN=Coffer Test IdP CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                  "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("req", *ec_key, "-keyout", d / "server.key", "-out", d / "server.csr", "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.pem", "-CAkey", d / "ca.key",
            "-CAcreateserial", "-days", "2", "-out", d / "server.pem", "-extfile", d / "server.ext")
    return d


class Idp:
    """An identity provider: signing keys, and their JWKS served over HTTPS (counting fetches)."""

    def __init__(self, pki, port=0):
        self.pki = pki
        self.port = port
        self.keys = {}  # kid -> private key
        self.published = []  # kids in the JWKS
        self.fetches = 0
        self.lock = threading.Lock()
        self.httpd = None

    # keys
    def add_rsa(self, kid):
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def add_ec(self, kid):
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return kid

    def jwk(self, kid):
        key = self.keys[kid]
        algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
        d = json.loads(algorithm.to_jwk(key.public_key()))
        d["kid"] = kid
        return d

    def jwks(self):
        with self.lock:
            return json.dumps({"keys": [self.jwk(k) for k in self.published]})

    def publish(self, *kids):
        with self.lock:
            self.published = list(kids)

    def sign(self, kid, claims, alg=None, headers=None):
        key = self.keys[kid]
        alg = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        h = {"kid": kid}
        h.update(headers or {})
        if h.get("kid") is None:
            del h["kid"]
        return jwt.encode(claims, key, algorithm=alg, headers=h)

    def public_pem(self, kid):
        return self.keys[kid].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    # the HTTPS endpoint
    def start(self):
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/jwks.json":
                    body, status = b"not found", 404
                else:
                    with idp.lock:
                        idp.fetches += 1
                    body, status = idp.jwks().encode(), 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass  # e.g. a client that refuses the certificate: expected in some tests

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.pki / "server.pem", self.pki / "server.key")
        self.httpd = Server(("127.0.0.1", self.port), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self):
        return f"https://localhost:{self.port}/jwks.json"

    def fetch_count(self):
        with self.lock:
            return self.fetches


def claims(user="alice", tenant="acme", **extra):
    now = int(time.time())
    c = {"iss": ISSUER, "aud": AUDIENCE, "sub": user, "tenant_id": tenant, "iat": now, "exp": now + 300}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header, body, signature=b""):
    segment = lambda o: b64url(json.dumps(o).encode())
    return segment(header) + "." + segment(body) + "." + b64url(signature)


def hs256(header, body, secret):
    signing_input = unsigned(header, body).rsplit(".", 1)[0]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def issuers_env(pki, source, **overrides):
    issuer = {"issuer": ISSUER, "audience": AUDIENCE, "algorithms": ["RS256", "ES256"], **source}
    issuer.update(overrides)
    return {"COFFER_AUTH_ISSUERS": json.dumps([issuer]), "COFFER_JWKS_CA_FILE": str(pki / "ca.pem")}


def populate(server):
    """Tenants acme (admin root; viewers alice, carol; editor dave) and globex (bob)."""
    server.command("tenant", "create", "acme", "--admin", "root", "--password", PASSWORD)
    server.command("user", "create", "--tenant", "acme", "alice", "--role", "viewer")
    server.command("user", "create", "--tenant", "acme", "carol", "--role", "viewer")
    server.command("user", "create", "--tenant", "acme", "dave", "--role", "editor")
    server.command("tenant", "create", "globex", "--admin", "bob", "--password", PASSWORD)


def me(server, token):
    return server.get("/api/v1/me", token=token)


def assert_401(r):
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.json()["error"]["code"] == "unauthenticated", r.text


# -- one IdP and one Coffer for the read-only cases ------------------------------------------------
@pytest.fixture(scope="module")
def idp(pki):
    i = Idp(pki)
    i.add_rsa("rsa-1")
    i.add_ec("ec-1")
    i.add_rsa("rsa-impostor")
    i.add_ec("ec-impostor")
    i.publish("rsa-1", "ec-1")
    i.start()
    yield i
    i.stop()


@pytest.fixture(scope="module")
def coffer(pki, idp):
    s = CofferServer(env=issuers_env(pki, {"jwks_url": idp.url}))
    s.start()
    populate(s)
    yield s
    s.close()


def test_valid_rs256_and_es256_tokens_reach_me_as_that_user(coffer, idp):
    for kid in ("rsa-1", "ec-1"):
        r = me(coffer, idp.sign(kid, claims()))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["user"]["username"] == "alice"
        assert body["user"]["role"] == "viewer"
        assert body["tenant"]["slug"] == "acme"
        assert body["user"]["tenant_id"] == body["tenant"]["id"]
    r = me(coffer, idp.sign("rsa-1", claims(user="bob", tenant="globex")))
    assert r.status_code == 200 and r.json()["tenant"]["slug"] == "globex"
    assert "JWKS of https://idp.test" in coffer.read_log()


def forged_tokens(idp):
    now = int(time.time())
    pem = idp.public_pem("rsa-1")
    jwk_text = json.dumps(idp.jwk("rsa-1")).encode()
    impostor = idp.keys["rsa-impostor"]
    ec_impostor = idp.keys["ec-impostor"]
    yield "another RSA key under kid rsa-1", jwt.encode(claims(), impostor, "RS256", headers={"kid": "rsa-1"})
    yield "another EC key under kid ec-1", jwt.encode(claims(), ec_impostor, "ES256", headers={"kid": "ec-1"})
    yield "unknown key without kid", jwt.encode(claims(), impostor, "RS256")
    yield "RS384 with the right key", idp.sign("rsa-1", claims(), alg="RS384")
    yield "PS256 with the right key", idp.sign("rsa-1", claims(), alg="PS256")
    yield "ES256 kid on an RSA signature", idp.sign("rsa-1", claims(), headers={"kid": "ec-1"})
    for secret_name, secret in (("public PEM", pem), ("public JWK", jwk_text)):
        yield f"HS256 with the {secret_name}", hs256({"alg": "HS256", "kid": "rsa-1"}, claims(), secret)
        yield f"HS256 with the {secret_name}, no kid", hs256({"alg": "HS256"}, claims(), secret)
    for none in ("none", "None", "NONE", "nOnE"):
        yield f"alg {none}", unsigned({"alg": none, "kid": "rsa-1"}, claims())
        yield f"alg {none} with a signature", unsigned({"alg": none}, claims(), b"sig")
    yield "expired", idp.sign("rsa-1", claims(exp=now - 3600, iat=now - 7200))
    yield "not yet valid", idp.sign("rsa-1", claims(nbf=now + 3600))
    yield "issued in the future", idp.sign("rsa-1", claims(iat=now + 3600))
    yield "no exp", idp.sign("rsa-1", claims(exp=None))
    yield "wrong issuer", idp.sign("rsa-1", claims(iss="https://evil.test"))
    yield "issuer with a trailing slash", idp.sign("rsa-1", claims(iss=ISSUER + "/"))
    yield "no issuer", idp.sign("rsa-1", claims(iss=None))
    yield "wrong audience", idp.sign("rsa-1", claims(aud="someone-else"))
    yield "no audience", idp.sign("rsa-1", claims(aud=None))
    yield "unknown user", idp.sign("rsa-1", claims(user="mallory"))
    yield "unknown tenant", idp.sign("rsa-1", claims(tenant="nowhere"))
    yield "user of another tenant", idp.sign("rsa-1", claims(user="bob", tenant="acme"))
    yield "no tenant claim", idp.sign("rsa-1", claims(tenant=None, tenant_id=None))
    yield "no user claim", idp.sign("rsa-1", claims(user=None, sub=None))
    yield "operator role, no tenant", idp.sign("rsa-1", claims(tenant=None, tenant_id=None, role="operator"))


def test_forged_and_invalid_tokens_are_401(coffer, idp):
    tokens = list(forged_tokens(idp))
    alice = me(coffer, idp.sign("rsa-1", claims())).json()
    tokens.append(("tenant by id, not slug", idp.sign("rsa-1", claims(tenant=alice["tenant"]["id"]))))
    tokens.append(("user by id, not username", idp.sign("rsa-1", claims(user=alice["user"]["id"]))))
    assert len(tokens) > 30
    for name, token in tokens:
        r = me(coffer, token)
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert_401(r)
    assert me(coffer, idp.sign("rsa-1", claims())).status_code == 200  # the IdP itself still works


def test_disabled_user_is_401_at_once(coffer, idp):
    carol = idp.sign("ec-1", claims(user="carol"))
    r = me(coffer, carol)
    assert r.status_code == 200, r.text
    carol_id = r.json()["user"]["id"]
    root = idp.sign("rsa-1", claims(user="root"))
    r = coffer.request("PATCH", f"/api/v1/users/{carol_id}", token=root, json={"disabled": True})
    assert r.status_code == 200, r.text
    assert_401(me(coffer, carol))
    r = coffer.request("PATCH", f"/api/v1/users/{carol_id}", token=root, json={"disabled": False})
    assert r.status_code == 200, r.text
    assert me(coffer, carol).status_code == 200


def test_roles_come_from_the_database_not_the_token(coffer, idp):
    new_user = lambda name: {"username": name, "role": "viewer", "password": PASSWORD}
    viewer_as_admin = idp.sign("rsa-1", claims(role="admin", roles=["admin"], groups=["admin"]))
    r = coffer.post("/api/v1/users", token=viewer_as_admin, json=new_user("eve"))
    assert r.status_code == 403, r.text
    viewer_as_operator = idp.sign("rsa-1", claims(role="operator"))
    assert me(coffer, viewer_as_operator).json()["user"]["role"] == "viewer"
    assert coffer.get("/api/v1/tenants", token=viewer_as_operator).status_code == 403
    # The database's admin may, with a token that claims nothing about roles.
    root = idp.sign("ec-1", claims(user="root"))
    r = coffer.post("/api/v1/users", token=root, json=new_user("frank"))
    assert r.status_code == 201, r.text
    # A role change in the database applies to the very same token at once.
    dave = idp.sign("rsa-1", claims(user="dave", role="viewer"))
    assert coffer.post("/api/v1/users", token=dave, json=new_user("gina")).status_code == 403
    dave_id = me(coffer, dave).json()["user"]["id"]
    r = coffer.request("PATCH", f"/api/v1/users/{dave_id}", token=root, json={"role": "admin"})
    assert r.status_code == 200, r.text
    assert coffer.post("/api/v1/users", token=dave, json=new_user("gina")).status_code == 201


# -- key rotation, sources, start-up ---------------------------------------------------------------
def test_key_rotation_is_picked_up_by_one_refetch_without_restart(pki):
    idp = Idp(pki)
    idp.add_rsa("rsa-1")
    idp.publish("rsa-1")
    idp.start()
    s = CofferServer(env=issuers_env(pki, {"jwks_url": idp.url}))
    try:
        s.start()
        populate(s)
        assert me(s, idp.sign("rsa-1", claims())).status_code == 200
        assert idp.fetch_count() == 1
        pid = s.proc.pid

        idp.add_rsa("rsa-2")
        idp.add_ec("ec-2")
        idp.publish("rsa-2", "ec-2")  # rsa-1 retired
        r = me(s, idp.sign("rsa-2", claims()))
        assert r.status_code == 200, r.text
        assert idp.fetch_count() == 2
        assert me(s, idp.sign("ec-2", claims())).status_code == 200
        assert_401(me(s, idp.sign("rsa-1", claims())))  # retired
        # Unknown kids within the refresh interval (10 min by default) fetch nothing more.
        idp.add_rsa("rsa-3")
        for _ in range(5):
            assert_401(me(s, idp.sign("rsa-3", claims())))
        assert idp.fetch_count() == 2
        assert s.proc.pid == pid and s.proc.poll() is None
    finally:
        s.close()
        idp.stop()


def test_scheduled_refresh_picks_up_new_keys(pki):
    idp = Idp(pki)
    idp.add_ec("ec-1")
    idp.publish("ec-1")
    idp.start()
    s = CofferServer(env={**issuers_env(pki, {"jwks_url": idp.url}), "COFFER_JWKS_REFRESH": "1s"})
    try:
        s.start()
        populate(s)
        assert me(s, idp.sign("ec-1", claims())).status_code == 200
        idp.add_ec("ec-2")
        idp.publish("ec-2")
        # ec-1 goes once a scheduled refresh has run; nothing asks for ec-2 meanwhile (a known
        # kid never triggers a refetch).
        deadline = time.time() + 20
        while time.time() < deadline and me(s, idp.sign("ec-1", claims())).status_code == 200:
            time.sleep(0.2)
        assert_401(me(s, idp.sign("ec-1", claims())))
        assert me(s, idp.sign("ec-2", claims())).status_code == 200
    finally:
        s.close()
        idp.stop()


def test_jwks_file_source(pki, tmp_path):
    idp = Idp(pki)
    idp.add_rsa("rsa-1")
    idp.add_ec("ec-1")
    idp.add_rsa("stranger")
    idp.publish("rsa-1", "ec-1")
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(idp.jwks())
    s = CofferServer(env=issuers_env(pki, {"jwks_file": str(jwks_file)}, user_claim="preferred_username",
                                     tenant_claim="org"))
    try:
        s.start()
        populate(s)
        token = idp.sign("rsa-1", claims(preferred_username="alice", org="acme", sub="ext-123", tenant_id=None))
        r = me(s, token)
        assert r.status_code == 200, r.text
        assert r.json()["user"]["username"] == "alice"
        assert me(s, idp.sign("ec-1", claims(preferred_username="dave", org="acme"))).status_code == 200
        assert_401(me(s, idp.sign("rsa-1", claims())))  # sub/tenant_id mean nothing to this issuer
        assert_401(me(s, idp.sign("stranger", claims(preferred_username="alice", org="acme"))))
    finally:
        s.close()


def test_idp_down_at_start_coffer_starts_and_keeps_trying(pki):
    port = free_port()
    idp = Idp(pki, port=port)
    idp.add_rsa("rsa-1")
    idp.publish("rsa-1")
    s = CofferServer(env=issuers_env(pki, {"jwks_url": f"https://localhost:{port}/jwks.json"}))
    try:
        s.start()
        populate(s)
        assert "no keys yet" in s.read_log()
        token = idp.sign("rsa-1", claims())
        assert_401(me(s, token))
        assert s.get("/healthz").status_code == 200
        idp.start()
        deadline = time.time() + 30
        while time.time() < deadline and me(s, token).status_code != 200:
            time.sleep(0.3)
        assert me(s, token).status_code == 200, s.read_log()
    finally:
        s.close()
        idp.stop()


def test_jwks_from_an_untrusted_certificate_is_never_used(pki, idp):
    env = issuers_env(pki, {"jwks_url": idp.url})
    del env["COFFER_JWKS_CA_FILE"]  # the test CA is not in the system store
    s = CofferServer(env=env)
    try:
        s.start()
        populate(s)
        assert_401(me(s, idp.sign("rsa-1", claims())))
        assert "certificate" in s.read_log()
    finally:
        s.close()


@pytest.mark.parametrize("case", ["missing file", "not a jwks", "no usable key", "bad ca file", "http url"])
def test_bad_issuer_configuration_stops_startup(pki, tmp_path, case):
    env = issuers_env(pki, {"jwks_file": str(tmp_path / "missing.json")})
    if case == "not a jwks":
        (tmp_path / "x.json").write_text("{}")
        env = issuers_env(pki, {"jwks_file": str(tmp_path / "x.json")})
    elif case == "no usable key":
        (tmp_path / "x.json").write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0"}]}))
        env = issuers_env(pki, {"jwks_file": str(tmp_path / "x.json")})
    elif case == "bad ca file":
        env = issuers_env(pki, {"jwks_url": "https://localhost:1/jwks.json"})
        env["COFFER_JWKS_CA_FILE"] = str(tmp_path / "nothing.pem")
    elif case == "http url":
        env = issuers_env(pki, {"jwks_url": "http://localhost:1/jwks.json"})
    s = CofferServer(env=env)
    try:
        with pytest.raises(RuntimeError):
            s.start(timeout=20)
        assert s.proc is not None and s.proc.returncode != 0
        log = s.read_log()
        assert "idp.test" in log or "jwks_url" in log, log
    finally:
        s.close()
