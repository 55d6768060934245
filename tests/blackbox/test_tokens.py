"""Token rules, proved with tokens forged in Python against the real server: wrong keys, `none`,
algorithm confusion with the server's own public key, time claims and leeway, issuer and
audience, users of other tenants, disabled and deleted users, role claims that are ignored,
operator tokens outside the tenant routes and user tokens on them."""
import base64
import hashlib
import hmac
import json
import os
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from coffer_server import CofferServer
from test_identity import (PASSWORD, SECRET, Coffer, assert_error, b64url, claims_of, hs256, mint, segment,
                           start)


def now():
    return int(time.time())


@pytest.fixture(scope="module")
def coffer():
    s = start({"COFFER_JWT_LEEWAY": "10s"})
    yield Coffer(s)
    s.close()


@pytest.fixture(scope="module")
def acme(coffer):
    """A tenant with an admin (alice, with a password), an editor and a viewer."""
    t = coffer.new_tenant(admin="alice", password=PASSWORD)
    t.editor = coffer.add_user(t, "ed", "editor")
    t.viewer = coffer.add_user(t, "vi", "viewer")
    return t


def user_claims(user, **extra):
    return {"sub": user["id"], "tenant_id": user["tenant_id"], "exp": now() + 600, **extra}


def operator_claims(**extra):
    return {"sub": "operator", "role": "operator", "exp": now() + 600, **extra}


def me(coffer, token):
    return coffer.call("GET", "/api/v1/me", token=token)


def refused(coffer, token, path="/api/v1/me"):
    assert_error(coffer.call("GET", path, token=token), 401, "unauthenticated")


# -- the key and the algorithm -----------------------------------------------------------------
def test_a_token_signed_with_the_servers_key_is_accepted(coffer, acme):
    assert me(coffer, coffer.mint(user_claims(acme.admin))).status_code == 200
    assert coffer.call("GET", "/api/v1/tenants", token=coffer.mint(operator_claims())).status_code == 200


@pytest.mark.parametrize("key", [SECRET[:-1] + "X", SECRET + "0", SECRET[:32], "", "secret",
                                 SECRET.upper()])
def test_wrong_hs256_key_is_refused(coffer, acme, key):
    refused(coffer, mint(user_claims(acme.admin), key=key))
    refused(coffer, mint(operator_claims(), key=key), "/api/v1/tenants")


def test_tampered_tokens_are_refused(coffer, acme):
    other = coffer.new_tenant()
    good = coffer.mint(user_claims(acme.viewer))
    h, p, s = good.split(".")
    for claims in [user_claims(acme.admin), user_claims(acme.viewer, exp=now() + 99999),
                   {**user_claims(acme.viewer), "tenant_id": other.id}, operator_claims()]:
        refused(coffer, f"{h}.{segment(claims)}.{s}")
    refused(coffer, f"{h}.{p}.")
    refused(coffer, f"{h}.{p}")
    refused(coffer, f"{h}.{p}.{s[:-2]}")
    refused(coffer, f"{h}.{p}.{coffer.mint(user_claims(acme.admin)).split('.')[2]}")
    assert me(coffer, good).status_code == 200


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "NoNe", "none "])
def test_alg_none_is_refused_in_every_casing(coffer, acme, alg):
    for claims, path in [(user_claims(acme.admin), "/api/v1/me"),
                         (user_claims(acme.viewer), "/api/v1/users"),
                         (operator_claims(), "/api/v1/tenants")]:
        for header in [{"alg": alg}, {"alg": alg, "typ": "JWT"}, {"typ": "JWT", "alg": alg, "kid": "coffer"}]:
            unsigned = segment(header) + "." + segment(claims)
            real_sig = b64url(hmac.new(SECRET.encode(), unsigned.encode(), hashlib.sha256).digest())
            for token in [unsigned + ".", unsigned, unsigned + "." + real_sig, unsigned + ".bm9uZQ",
                          unsigned + ".."]:
                refused(coffer, token, path)


@pytest.mark.parametrize("header,digest", [
    ({"alg": "HS384", "typ": "JWT"}, hashlib.sha384),
    ({"alg": "HS512", "typ": "JWT"}, hashlib.sha512),
    ({"alg": "hs256", "typ": "JWT"}, hashlib.sha256),
    ({"alg": "HS256 ", "typ": "JWT"}, hashlib.sha256),
    ({"alg": "RS256", "typ": "JWT"}, hashlib.sha256),
    ({"alg": "ES256", "typ": "JWT"}, hashlib.sha256),
    ({"alg": "EdDSA", "typ": "JWT"}, hashlib.sha256),
    ({"alg": ["HS256"], "typ": "JWT"}, hashlib.sha256),
    ({"alg": None, "typ": "JWT"}, hashlib.sha256),
    ({"typ": "JWT"}, hashlib.sha256),
])
def test_only_the_pinned_algorithm_is_accepted(coffer, acme, header, digest):
    # Signed with the right secret, but the header names another (or no) algorithm.
    signing_input = segment(header) + "." + segment(user_claims(acme.admin))
    token = signing_input + "." + b64url(hmac.new(SECRET.encode(), signing_input.encode(), digest).digest())
    refused(coffer, token)


def test_keys_named_by_the_token_are_not_trusted(coffer, acme):
    attacker = b"attacker-chosen-key-0123456789abcdef"
    claims = user_claims(acme.admin)
    for header in [{"alg": "HS256", "jwk": {"kty": "oct", "k": b64url(attacker)}},
                   {"alg": "HS256", "jku": "http://127.0.0.1:1/jwks.json"},
                   {"alg": "HS256", "x5u": "http://127.0.0.1:1/cert.pem"},
                   {"alg": "HS256", "kid": "coffer", "jwk": {"kty": "oct", "k": b64url(attacker)}}]:
        refused(coffer, hs256(header, claims, attacker))
    for kid in ["../../../../dev/null", "/dev/null", "' OR '1'='1", "", "coffer\u0000"]:
        refused(coffer, hs256({"alg": "HS256", "kid": kid}, claims, b""))
    # An embedded ES256 key with a matching signature proves nothing either.
    key = ec.generate_private_key(ec.SECP256R1())
    pub = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    refused(coffer, jwt.encode(claims, key, algorithm="ES256", headers={"jwk": pub}))


# -- algorithm confusion: HS256 keyed with the server's own public key --------------------------
class AsymmetricServer:
    """A server signing with a generated EdDSA or ES256 key, read back from its data directory."""

    def __init__(self, alg):
        self.alg = alg
        self.server = CofferServer(env={"COFFER_JWT_ALGORITHM": alg}).start()
        name = {"ES256": "jwt-es256.jwk", "EdDSA": "jwt-eddsa.jwk"}[alg]
        with open(os.path.join(self.server.data_dir, name)) as f:
            self.jwk_text = f.read()
        jwk = json.loads(self.jwk_text)
        self.public_jwk = {k: v for k, v in jwk.items() if k != "d"}
        d = base64.urlsafe_b64decode(jwk["d"] + "=" * (-len(jwk["d"]) % 4))
        if alg == "ES256":
            self.private = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
        else:
            self.private = ed25519.Ed25519PrivateKey.from_private_bytes(d)
        self.public = self.private.public_key()
        assert json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.public) if alg == "ES256" else
                          jwt.algorithms.OKPAlgorithm.to_jwk(self.public)).items() >= self.public_jwk.items()
        self.op = self.server.command("token", "--operator").stdout.strip()
        r = self.server.post("/api/v1/tenants", token=self.op,
                             json={"slug": "acme", "name": "Acme", "admin": {"username": "alice"}})
        assert r.status_code == 201, r.text
        self.tenant = r.json()["tenant"]
        self.admin = r.json()["admin"]
        self.user_token = self.server.command("token", "--tenant", "acme", "--user", "alice").stdout.strip()

    def public_forms(self):
        """Every byte string an HS256 verifier might be fooled into using as its key."""
        pem = self.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        forms = {
            "pem": pem,
            "pem without newline": pem.rstrip(b"\n"),
            "pem with crlf": pem.replace(b"\n", b"\r\n"),
            "der": self.public.public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo),
            "openssh": self.public.public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH),
            "jwk": json.dumps(self.public_jwk).encode(),
            "jwk compact sorted": json.dumps(self.public_jwk, separators=(",", ":"), sort_keys=True).encode(),
            "jwk with kid": json.dumps({**self.public_jwk, "kid": "coffer"}).encode(),
            "jwk file": self.jwk_text.encode(),
            "x": self.public_jwk["x"].encode(),
        }
        if self.alg == "ES256":
            forms["raw point"] = self.public.public_bytes(serialization.Encoding.X962,
                                                          serialization.PublicFormat.UncompressedPoint)
            forms["compressed point"] = self.public.public_bytes(serialization.Encoding.X962,
                                                                 serialization.PublicFormat.CompressedPoint)
            forms["x||y"] = forms["raw point"][1:]
        else:
            forms["raw"] = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return forms

    def close(self):
        self.server.close()


@pytest.fixture(scope="module", params=["ES256", "EdDSA"])
def asym(request):
    s = AsymmetricServer(request.param)
    yield s
    s.close()


def test_tokens_signed_with_the_generated_private_key_are_accepted(asym):
    # The control for the forgeries below: the key read from the data directory is the server's.
    assert claims_of(asym.user_token) and jwt.get_unverified_header(asym.user_token)["alg"] == asym.alg
    assert asym.server.get("/api/v1/me", token=asym.user_token).status_code == 200
    claims = {"sub": asym.admin["id"], "tenant_id": asym.tenant["id"], "exp": now() + 600}
    for headers in [None, {"kid": "coffer"}]:
        token = jwt.encode(claims, asym.private, algorithm=asym.alg, headers=headers)
        assert asym.server.get("/api/v1/me", token=token).status_code == 200
    op = jwt.encode({"sub": "operator", "role": "operator", "exp": now() + 600}, asym.private, algorithm=asym.alg)
    assert asym.server.get("/api/v1/tenants", token=op).status_code == 200
    # Another key of the same kind is not.
    other = ec.generate_private_key(ec.SECP256R1()) if asym.alg == "ES256" else ed25519.Ed25519PrivateKey.generate()
    assert_error(asym.server.get("/api/v1/me", token=jwt.encode(claims, other, algorithm=asym.alg)),
                 401, "unauthenticated")


def test_hs256_keyed_with_the_servers_public_key_is_refused(asym):
    user = {"sub": asym.admin["id"], "tenant_id": asym.tenant["id"], "exp": now() + 600}
    operator = {"sub": "operator", "role": "operator", "exp": now() + 600}
    forms = asym.public_forms()
    assert len(forms) >= 10
    for name, key in forms.items():
        for header in [{"alg": "HS256", "typ": "JWT"}, {"alg": "HS256", "typ": "JWT", "kid": "coffer"}]:
            for claims, path in [(user, "/api/v1/me"), (operator, "/api/v1/tenants")]:
                r = asym.server.get(path, token=hs256(header, claims, key))
                assert r.status_code == 401, (name, header, path, r.text)
                assert_error(r, 401, "unauthenticated")
    # Nor any other secret: an asymmetric server has no HS256 key at all.
    for key in [SECRET, "", "coffer"]:
        assert_error(asym.server.get("/api/v1/me", token=mint(user, key=key)), 401, "unauthenticated")


def test_asymmetric_signature_tricks_are_refused(asym):
    claims = {"sub": asym.admin["id"], "tenant_id": asym.tenant["id"], "exp": now() + 600}
    h, p, s = jwt.encode(claims, asym.private, algorithm=asym.alg).split(".")
    sig = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    other_alg = {"ES256": "EdDSA", "EdDSA": "ES256"}[asym.alg]
    tokens = {
        "zero signature": f"{h}.{p}.{b64url(bytes(len(sig)))}",  # CVE-2022-21449
        "empty signature": f"{h}.{p}.",
        "truncated signature": f"{h}.{p}.{b64url(sig[:-1])}",
        "flipped bit": f"{h}.{p}.{b64url(sig[:-1] + bytes([sig[-1] ^ 1]))}",
        "other claims": f"{h}.{segment({**claims, 'exp': now() + 99999})}.{s}",
        "alg swapped": f"{segment({'alg': other_alg, 'typ': 'JWT'})}.{p}.{s}",
        "ES384 header": f"{segment({'alg': 'ES384', 'typ': 'JWT'})}.{p}.{s}",
        "none header": f"{segment({'alg': 'none'})}.{p}.",
    }
    for name, token in tokens.items():
        r = asym.server.get("/api/v1/me", token=token)
        assert r.status_code == 401, (name, r.text)
    assert asym.server.get("/api/v1/me", token=f"{h}.{p}.{s}").status_code == 200


# -- time claims -------------------------------------------------------------------------------
@pytest.mark.parametrize("change,accepted", [
    pytest.param({"exp": -3600}, False, id="expired an hour ago"),
    pytest.param({"exp": -30}, False, id="expired beyond the leeway"),
    pytest.param({"exp": -3}, True, id="expired within the leeway"),
    pytest.param({"nbf": 60}, False, id="nbf beyond the leeway"),
    pytest.param({"nbf": 3}, True, id="nbf within the leeway"),
    pytest.param({"nbf": -60}, True, id="nbf in the past"),
    pytest.param({"iat": 3600}, False, id="issued in the future"),
    pytest.param({"iat": 3}, True, id="iat within the leeway"),
    pytest.param({"iat": -60}, True, id="iat in the past"),
])
def test_time_claims_with_the_configured_leeway(coffer, acme, change, accepted):
    claims = user_claims(acme.admin)
    for k, delta in change.items():
        claims[k] = now() + delta
    r = me(coffer, coffer.mint(claims))
    if accepted:
        assert r.status_code == 200, r.text
    else:
        assert_error(r, 401, "unauthenticated")
    op = operator_claims()
    for k, delta in change.items():
        op[k] = now() + delta
    r = coffer.call("GET", "/api/v1/tenants", token=coffer.mint(op))
    assert r.status_code == (200 if accepted else 401)


@pytest.mark.parametrize("exp", [None, "9999999999", [9999999999], True, {"t": 1}, float("nan")],
                         ids=["missing", "string", "array", "bool", "object", "nan"])
def test_exp_is_required_and_numeric(coffer, acme, exp):
    claims = user_claims(acme.admin)
    if exp is None:
        del claims["exp"]
    else:
        claims["exp"] = exp
    refused(coffer, coffer.mint(claims))
    op = operator_claims()
    if exp is None:
        del op["exp"]
    else:
        op["exp"] = exp
    refused(coffer, coffer.mint(op), "/api/v1/tenants")


def test_an_expired_token_from_login_is_refused(make_server):
    s = make_server(env={"COFFER_JWT_SECRET": SECRET, "COFFER_TOKEN_TTL": "1s", "COFFER_JWT_LEEWAY": "1s"}).start()
    c = Coffer(s)
    t = c.new_tenant(admin="alice", password=PASSWORD)
    token = c.login_token(t.slug, "alice")
    assert claims_of(token)["exp"] - claims_of(token)["iat"] == 1
    assert me(c, token).status_code == 200
    time.sleep(max(0.0, claims_of(token)["exp"] + 1 + 1.1 - time.time()))  # past exp and the leeway
    assert_error(me(c, token), 401, "unauthenticated")


# -- issuer and audience -----------------------------------------------------------------------
ISSUER = "https://id.coffer.test"
AUDIENCE = "coffer-blackbox"


@pytest.fixture(scope="module")
def issuing():
    s = start({"COFFER_JWT_ISSUER": ISSUER, "COFFER_JWT_AUDIENCE": AUDIENCE})
    c = Coffer(s)
    c.op = c.mint(operator_claims(iss=ISSUER, aud=AUDIENCE))
    yield c
    s.close()


def test_issuer_and_audience_are_set_on_issued_tokens(issuing):
    t = issuing.new_tenant(admin="alice", password=PASSWORD)
    token = issuing.login_token(t.slug, "alice")
    claims = claims_of(token)
    assert claims["iss"] == ISSUER and (claims["aud"] == AUDIENCE or claims["aud"] == [AUDIENCE])
    assert me(issuing, token).status_code == 200


@pytest.mark.parametrize("iss_aud,accepted", [
    pytest.param({"iss": ISSUER, "aud": AUDIENCE}, True, id="right"),
    pytest.param({"iss": ISSUER, "aud": ["other", AUDIENCE]}, True, id="audience among several"),
    pytest.param({"iss": ISSUER + "/", "aud": AUDIENCE}, False, id="issuer with a trailing slash"),
    pytest.param({"iss": "https://evil.test", "aud": AUDIENCE}, False, id="wrong issuer"),
    pytest.param({"iss": ISSUER.upper(), "aud": AUDIENCE}, False, id="issuer in another case"),
    pytest.param({"iss": ISSUER, "aud": "other"}, False, id="wrong audience"),
    pytest.param({"iss": ISSUER, "aud": ["other"]}, False, id="wrong audience list"),
    pytest.param({"iss": ISSUER, "aud": []}, False, id="empty audience list"),
    pytest.param({"iss": ISSUER}, False, id="no audience"),
    pytest.param({"aud": AUDIENCE}, False, id="no issuer"),
    pytest.param({}, False, id="neither"),
    pytest.param({"iss": [ISSUER], "aud": AUDIENCE}, False, id="issuer as a list"),
])
def test_issuer_and_audience_are_checked_when_configured(issuing, iss_aud, accepted):
    t = issuing.new_tenant()
    user_token = issuing.mint(user_claims(t.admin, **iss_aud))
    op_token = issuing.mint(operator_claims(**iss_aud))
    if accepted:
        assert me(issuing, user_token).status_code == 200
        assert issuing.call("GET", "/api/v1/tenants", token=op_token).status_code == 200
    else:
        refused(issuing, user_token)
        refused(issuing, op_token, "/api/v1/tenants")


# -- who the token names -----------------------------------------------------------------------
def test_a_user_of_another_tenant_is_refused(coffer, acme):
    other = coffer.new_tenant(admin="olga", password=PASSWORD)
    olga_token = coffer.login_token(other.slug, "olga")
    assert me(coffer, olga_token).json()["tenant"]["id"] == other.id
    # olga's genuine token with acme's tenant_id, re-signed with the real key.
    forged = coffer.mint({**claims_of(olga_token), "tenant_id": acme.id})
    for path in ["/api/v1/me", "/api/v1/users", f"/api/v1/users/{acme.admin['id']}", f"/api/v1/tenants/{acme.id}"]:
        refused(coffer, forged, path)
    refused(coffer, coffer.mint(user_claims(acme.admin, tenant_id=other.id)))
    refused(coffer, coffer.mint(user_claims(acme.viewer, tenant_id=other.id)), "/api/v1/users")
    # And with her own tenant, olga sees nothing of acme.
    assert_error(coffer.call("GET", f"/api/v1/users/{acme.admin['id']}", token=olga_token), 404, "not_found")
    users = coffer.call("GET", "/api/v1/users", token=olga_token).json()["items"]
    assert [u["username"] for u in users] == ["olga"]


@pytest.mark.parametrize("claims", [
    {"sub": "no-such-user-id-0000000000"},
    {"tenant_id": "no-such-tenant-id-00000000"},
    {"sub": ""},
    {"tenant_id": ""},
    {"sub": None},
    {"tenant_id": None},
    {"sub": 12345},
])
def test_tokens_naming_nobody_are_refused(coffer, acme, claims):
    base = user_claims(acme.admin)
    for k, v in claims.items():
        if v is None:
            del base[k]
        else:
            base[k] = v
    refused(coffer, coffer.mint(base))
    refused(coffer, coffer.mint(base), "/api/v1/users")


def test_a_disabled_user_is_refused_at_once(coffer):
    t = coffer.new_tenant()
    bob = coffer.add_user(t, "bob", "editor", password=PASSWORD)
    token = coffer.login_token(t.slug, "bob")
    assert me(coffer, token).status_code == 200
    r = coffer.call("PATCH", f"/api/v1/users/{bob['id']}", token=t.admin_token, json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    refused(coffer, token)  # the token was issued before
    refused(coffer, token, "/api/v1/users")
    refused(coffer, coffer.mint(user_claims(bob)))  # and one minted after
    assert_error(coffer.login(t.slug, "bob", PASSWORD), 401, "unauthenticated")
    # Enabled again, the same token works again.
    assert coffer.call("PATCH", f"/api/v1/users/{bob['id']}", token=t.admin_token,
                       json={"disabled": False}).status_code == 200
    assert me(coffer, token).status_code == 200


def test_a_disabled_admin_loses_admin_rights_at_once(coffer):
    t = coffer.new_tenant()
    second = coffer.add_user(t, "second", "admin")
    second_token = coffer.token(second)
    assert coffer.call("POST", "/api/v1/users", token=second_token,
                       json={"username": "made-by-second", "role": "viewer"}).status_code == 201
    assert coffer.call("PATCH", f"/api/v1/users/{second['id']}", token=t.admin_token,
                       json={"disabled": True}).status_code == 200
    assert_error(coffer.call("POST", "/api/v1/users", token=second_token,
                             json={"username": "x", "role": "viewer"}), 401, "unauthenticated")


def test_a_deleted_user_is_refused(coffer):
    t = coffer.new_tenant()
    bob = coffer.add_user(t, "bob", "viewer", password=PASSWORD)
    token = coffer.login_token(t.slug, "bob")
    assert me(coffer, token).status_code == 200
    assert coffer.call("DELETE", f"/api/v1/users/{bob['id']}", token=t.admin_token).status_code == 204
    refused(coffer, token)
    refused(coffer, token, "/api/v1/users")
    assert_error(coffer.login(t.slug, "bob", PASSWORD), 401, "unauthenticated")
    # A new user of the same name is someone else: the old token does not become theirs.
    coffer.add_user(t, "bob", "admin", password=PASSWORD)
    refused(coffer, token)


def test_a_deleted_tenant_refuses_its_tokens(coffer):
    t = coffer.new_tenant(admin="alice", password=PASSWORD)
    token = coffer.login_token(t.slug, "alice")
    assert coffer.call("DELETE", f"/api/v1/tenants/{t.id}", token=coffer.op).status_code == 204
    refused(coffer, token)
    refused(coffer, token, "/api/v1/users")
    assert_error(coffer.login(t.slug, "alice", PASSWORD), 401, "unauthenticated")


@pytest.mark.parametrize("extra", [
    {"role": "admin"}, {"role": "operator"}, {"roles": ["admin"]}, {"tenant_role": "admin"},
    {"admin": True}, {"scope": "admin users:write"}, {"is_operator": True},
])
def test_role_claims_in_the_token_are_ignored(coffer, acme, extra):
    genuine = coffer.token(acme.viewer)
    assert coffer.call("GET", "/api/v1/users", token=genuine).status_code == 200
    forged = coffer.mint({**claims_of(genuine), **extra})  # re-signed with the real key
    r = coffer.call("POST", "/api/v1/users", token=forged, json={"username": "by-forgery", "role": "admin"})
    if extra == {"role": "operator"}:
        assert r.status_code in (401, 403), r.text  # an "operator" naming a tenant is nobody
    else:
        assert_error(r, 403, "forbidden")  # a valid token of a viewer
    r = coffer.call("PATCH", f"/api/v1/users/{acme.viewer['id']}", token=forged, json={"role": "admin"})
    assert r.status_code in (401, 403)
    r = coffer.call("GET", "/api/v1/tenants", token=forged)
    assert r.status_code in (401, 403)
    if extra != {"role": "operator"}:
        assert me(coffer, forged).json()["user"]["role"] == "viewer"
    users = coffer.call("GET", "/api/v1/users", token=acme.admin_token).json()["items"]
    assert "by-forgery" not in [u["username"] for u in users]
    assert coffer.call("GET", f"/api/v1/users/{acme.viewer['id']}", token=acme.admin_token).json()["role"] == "viewer"


def test_an_operator_token_with_a_tenant_is_no_operator(coffer, acme):
    forged = coffer.mint(operator_claims(tenant_id=acme.id))
    assert coffer.call("GET", "/api/v1/tenants", token=forged).status_code in (401, 403)
    assert coffer.call("GET", "/api/v1/users", token=forged).status_code in (401, 403)
    forged = coffer.mint(operator_claims(sub=acme.admin["id"], tenant_id=acme.id))
    assert coffer.call("GET", "/api/v1/tenants", token=forged).status_code in (401, 403)
    assert coffer.call("POST", "/api/v1/tenants", token=forged, json={
        "slug": "by-forgery", "name": "x", "admin": {"username": "x"}}).status_code in (401, 403)


# -- operator and user tokens on each other's routes ----------------------------------------------
def test_an_operator_token_is_forbidden_outside_the_tenant_routes(coffer, acme):
    uid = acme.viewer["id"]
    for method, path, body in [
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/users", None),
        ("GET", "/api/v1/users/", None),
        ("POST", "/api/v1/users", {"username": "by-operator", "role": "admin"}),
        ("GET", f"/api/v1/users/{uid}", None),
        ("PATCH", f"/api/v1/users/{uid}", {"role": "admin"}),
        ("DELETE", f"/api/v1/users/{uid}", None),
        ("GET", f"/api/v1/permissions?user_id={uid}", None),
    ]:
        r = coffer.call(method, path, token=coffer.op, json=body)
        assert_error(r, 403, "forbidden")
    got = coffer.call("GET", f"/api/v1/users/{uid}", token=acme.admin_token).json()
    assert got == acme.viewer
    assert coffer.call("GET", "/api/v1/tenants", token=coffer.op).status_code == 200


def test_a_user_token_is_forbidden_on_the_tenant_routes(coffer, acme):
    other = coffer.new_tenant()
    tokens = {"admin": acme.admin_token, "editor": coffer.token(acme.editor), "viewer": coffer.token(acme.viewer)}
    for role, token in tokens.items():
        for method, path, body in [
            ("GET", "/api/v1/tenants", None),
            ("GET", "/api/v1/tenants/", None),
            ("POST", "/api/v1/tenants", {"slug": f"by-{role}", "name": "x", "admin": {"username": "x"}}),
            ("PATCH", f"/api/v1/tenants/{acme.id}", {"quota_bytes": 1}),
            ("DELETE", f"/api/v1/tenants/{acme.id}", None),
            ("PATCH", f"/api/v1/tenants/{other.id}", {"quota_bytes": 1}),
            ("DELETE", f"/api/v1/tenants/{other.id}", None),
        ]:
            assert_error(coffer.call(method, path, token=token, json=body), 403, "forbidden")
    # Nothing changed.
    assert coffer.call("GET", f"/api/v1/tenants/{acme.id}", token=coffer.op).json() == acme.tenant
    assert coffer.call("GET", f"/api/v1/tenants/{other.id}", token=coffer.op).json() == other.tenant


def test_a_tenant_admin_reads_its_own_tenant_only(coffer, acme):
    other = coffer.new_tenant(name="Secret Other Corp")
    r = coffer.call("GET", f"/api/v1/tenants/{acme.id}", token=acme.admin_token)
    assert r.status_code == 200
    assert r.json() == acme.tenant
    for user in [acme.editor, acme.viewer]:
        assert_error(coffer.call("GET", f"/api/v1/tenants/{acme.id}", token=coffer.token(user)), 403, "forbidden")
    for user in [acme.admin, acme.editor, acme.viewer]:
        token = coffer.token(user)
        a = coffer.call("GET", f"/api/v1/tenants/{other.id}", token=token)
        b = coffer.call("GET", "/api/v1/tenants/no-such-tenant-0000000000", token=token)
        ea, eb = assert_error(a, 404, "not_found"), assert_error(b, 404, "not_found")
        assert (ea["code"], ea["message"]) == (eb["code"], eb["message"])
        for leak in [other.id, other.slug, "Secret Other Corp"]:
            assert leak not in a.text and leak not in str(a.headers)


def test_a_role_change_takes_effect_at_once(coffer):
    t = coffer.new_tenant()
    second = coffer.add_user(t, "second", "admin", password=PASSWORD)
    token = coffer.login_token(t.slug, "second")
    assert coffer.call("POST", "/api/v1/users", token=token, json={"username": "u1", "role": "viewer"}).status_code == 201
    r = coffer.call("PATCH", f"/api/v1/users/{second['id']}", token=t.admin_token, json={"role": "editor"})
    assert r.status_code == 200 and r.json()["role"] == "editor"
    assert_error(coffer.call("POST", "/api/v1/users", token=token, json={"username": "u2", "role": "viewer"}),
                 403, "forbidden")
    assert me(coffer, token).json()["user"]["role"] == "editor"
    # And back: the same token is an admin's again.
    coffer.call("PATCH", f"/api/v1/users/{second['id']}", token=t.admin_token, json={"role": "admin"})
    assert coffer.call("POST", "/api/v1/users", token=token, json={"username": "u3", "role": "viewer"}).status_code == 201
    # A promotion works at once too.
    viewer = coffer.add_user(t, "vee", "viewer")
    vtoken = coffer.token(viewer)
    assert_error(coffer.call("POST", "/api/v1/users", token=vtoken, json={"username": "u4", "role": "viewer"}),
                 403, "forbidden")
    coffer.call("PATCH", f"/api/v1/users/{viewer['id']}", token=t.admin_token, json={"role": "admin"})
    assert coffer.call("POST", "/api/v1/users", token=vtoken, json={"username": "u4", "role": "viewer"}).status_code == 201
