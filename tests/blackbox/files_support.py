"""Shared helpers for the black-box tests of API.md "Files": tenants and users made fast (no
passwords: tokens come from `coffer token`), uploads built byte for byte, listings, usage checks
and a look at the object store (either backend, through coffer_server.StoreView)."""
import hashlib
import itertools
import os
import re
import threading
import urllib.parse
from datetime import datetime, timezone


API = "/api/v1"
FILE_FIELDS = {"id", "path", "size", "content_type", "sha256", "etag", "version", "owner_id",
               "created_at", "updated_at", "role"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_counter = itertools.count(1)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def q(text):
    """Percent-encodes a query value completely ('/', '+', '%', '#', '?', ' ' included)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return urllib.parse.quote_from_bytes(text, safe="")


def parse_time(text):
    assert RFC3339.match(text), text
    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def assert_error(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["request_id"] == r.headers["X-Request-Id"]


def assert_presigned_refused(r, store):
    """A presigned URL refused by whoever serves it: Coffer's /blob route (fs) answers API.md's
    error JSON, the S3 store its own XML error; both with 403."""
    assert r.status_code == 403, (r.request.url, r.status_code, r.text[:300])
    if store.kind == "fs":
        assert r.json()["error"]["code"] == "forbidden", r.text
    else:
        assert b"<Code>AccessDenied</Code>" in r.content or b"SignatureDoesNotMatch" in r.content, r.text


def storage_metric(server, name, op):
    """The value of a storage metric of /metrics for one op (coffer_storage_calls_total, ...)."""
    m = re.search(rf'^{name}{{op="{op}"}} (\d+)$', server.get("/metrics").text, re.M)
    assert m, (name, op)
    return int(m.group(1))


def assert_file_object(f, *, path=None, data=None, content_type=None, owner=None, role=None,
                       version=None):
    """Every field of API.md's File object, with its type."""
    assert set(f) == FILE_FIELDS, f
    assert isinstance(f["id"], str) and len(f["id"]) >= 16
    assert isinstance(f["path"], str)
    assert isinstance(f["size"], int) and not isinstance(f["size"], bool)
    assert isinstance(f["content_type"], str)
    assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"]), f["sha256"]
    assert isinstance(f["etag"], str) and re.fullmatch(r'"[^"]+"', f["etag"]), f["etag"]
    assert isinstance(f["version"], int) and f["version"] >= 1
    assert isinstance(f["owner_id"], str) and f["owner_id"]
    assert parse_time(f["created_at"]) <= parse_time(f["updated_at"])
    assert f["role"] in ("viewer", "editor", "admin")
    if path is not None:
        assert f["path"] == path
    if data is not None:
        assert f["size"] == len(data)
        assert f["sha256"] == sha256(data)
    if content_type is not None:
        assert f["content_type"] == content_type
    if owner is not None:
        assert f["owner_id"] == owner.id
    if role is not None:
        assert f["role"] == role
    if version is not None:
        assert f["version"] == version


def multipart(parts, boundary="coffer-test-boundary-4f1c2a"):
    """A multipart/form-data body, built byte for byte.

    parts: dicts with name, data (bytes), and optionally filename (bytes, sent raw in quotes),
    filename_star (str, sent as filename*=UTF-8''...), content_type."""
    out = []
    for p in parts:
        disp = b'form-data; name="' + p["name"].encode() + b'"'
        if "filename" in p:
            fn = p["filename"]
            if isinstance(fn, str):
                fn = fn.encode("utf-8")
            disp += b'; filename="' + fn + b'"'
        if "filename_star" in p:
            disp += b"; filename*=UTF-8''" + q(p["filename_star"]).encode()
        out.append(b"--" + boundary.encode() + b"\r\n")
        out.append(b"Content-Disposition: " + disp + b"\r\n")
        if p.get("content_type"):
            out.append(b"Content-Type: " + p["content_type"].encode() + b"\r\n")
        out.append(b"\r\n")
        out.append(p["data"])
        out.append(b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def path_part(value):
    return {"name": "path", "data": value.encode("utf-8") if isinstance(value, str) else value}


def file_part(data, filename="upload.bin", content_type="application/octet-stream"):
    p = {"name": "file", "data": data, "content_type": content_type}
    if filename is not None:
        p["filename"] = filename
    return p


class User:
    def __init__(self, env, tenant, id, username, role, token):
        self.env, self.tenant, self.id, self.username, self.role, self.token = \
            env, tenant, id, username, role, token

    def request(self, method, path, **kw):
        return self.env.server.request(method, path, token=self.token, **kw)

    # -- files --------------------------------------------------------------------------------
    def upload(self, path, data, overwrite=False, content_type="application/octet-stream",
               headers=None, query_path=None):
        """Raw-body upload with ?path=; `data` may be bytes or an iterator (chunked)."""
        h = {"Content-Type": content_type} if content_type is not None else {}
        h.update(headers or {})
        target = f"{API}/files/?path={query_path if query_path is not None else q(path)}"
        if overwrite:
            target += "&overwrite=true"
        return self.request("POST", target, data=data, headers=h)

    def upload_form(self, parts, overwrite=False, headers=None, boundary=None):
        body, ctype = multipart(parts, **({"boundary": boundary} if boundary else {}))
        h = {"Content-Type": ctype}
        h.update(headers or {})
        target = f"{API}/files/" + ("?overwrite=true" if overwrite else "")
        return self.request("POST", target, data=body, headers=h)

    def put(self, path, data, **kw):
        """Uploads and insists on 201; returns the File object."""
        r = self.upload(path, data, **kw)
        assert r.status_code == 201, (path, r.status_code, r.text)
        return r.json()

    def get_file(self, file_id):
        return self.request("GET", f"{API}/files/{file_id}")

    def download(self, file_id, headers=None, alias="download", **kw):
        return self.request("GET", f"{API}/files/{file_id}/{alias}", headers=headers or {}, **kw)

    def rename(self, file_id, new_path, headers=None):
        return self.request("PATCH", f"{API}/files/{file_id}", json={"path": new_path},
                            headers=headers or {})

    def delete(self, file_id, headers=None):
        return self.request("DELETE", f"{API}/files/{file_id}", headers=headers or {})

    def download_url(self, file_id, body=None):
        kw = {"json": body} if body is not None else {}
        return self.request("POST", f"{API}/files/{file_id}/download-url", **kw)

    def list(self, **params):
        query = "&".join(f"{k}={q(str(v))}" for k, v in params.items())
        return self.request("GET", f"{API}/files/" + (f"?{query}" if query else ""))

    def list_all(self, **params):
        """Follows next_cursor to the end; returns (items, folders) in the order received."""
        items, folders, cursor, pages = [], [], None, 0
        while True:
            p = dict(params)
            if cursor:
                p["cursor"] = cursor
            r = self.list(**p)
            assert r.status_code == 200, r.text
            body = r.json()
            assert set(body) == {"items", "folders", "next_cursor"}
            limit = int(params.get("limit", 100))
            assert len(body["items"]) + len(body["folders"]) <= limit
            items += body["items"]
            folders += body["folders"]
            pages += 1
            assert pages < 10000
            cursor = body["next_cursor"]
            if cursor is None:
                return items, folders
            assert isinstance(cursor, str) and cursor

    def paths(self, **params):
        return [f["path"] for f in self.list_all(**params)[0]]

    # -- permissions --------------------------------------------------------------------------
    def grant(self, file_id, role, user=None):
        body = {"file_id": file_id, "role": role}
        if user is None:
            body["principal"] = "tenant"
        else:
            body["user_id"] = user.id
        return self.request("POST", f"{API}/permissions", json=body)

    def acl(self, file_id):
        return self.request("GET", f"{API}/permissions?file_id={q(file_id)}")


class Tenant:
    def __init__(self, env, body, admin_name):
        self.env = env
        self.id = body["tenant"]["id"]
        self.slug = body["tenant"]["slug"]
        admin = body["admin"]
        self.admin = User(env, self, admin["id"], admin_name, "admin", env.user_token(self.slug, admin_name))

    def user(self, role="editor"):
        name = f"{role}{next(_counter)}"
        r = self.admin.request("POST", f"{API}/users", json={"username": name, "role": role})
        assert r.status_code == 201, r.text
        return User(self.env, self, r.json()["id"], name, role, self.env.user_token(self.slug, name))

    def info(self):
        r = self.env.server.request("GET", f"{API}/tenants/{self.id}", token=self.env.operator)
        assert r.status_code == 200, r.text
        return r.json()

    def set_quota(self, **quota):
        r = self.env.server.request("PATCH", f"{API}/tenants/{self.id}", token=self.env.operator,
                                    json=quota)
        assert r.status_code == 200, r.text
        return r.json()

    def all_files(self):
        return self.admin.list_all(limit=1000)[0]

    def assert_usage_exact(self):
        """used_bytes/used_files equal the sum/count of the tenant's files, everywhere shown."""
        files = self.all_files()
        expected = (sum(f["size"] for f in files), len(files))
        t = self.info()
        assert (t["used_bytes"], t["used_files"]) == expected
        me = self.admin.request("GET", f"{API}/me").json()["tenant"]
        assert (me["used_bytes"], me["used_files"]) == expected
        return expected

    def objects(self):
        """Keys of the objects the store holds under this tenant's prefix."""
        return self.env.objects(self.id)


class Env:
    """One server plus the means to make tenants and users on it quickly."""

    def __init__(self, server):
        self.server = server
        self.operator = server.command("token", "--operator").stdout.strip()

    def user_token(self, slug, username):
        return self.server.command("token", "--tenant", slug, "--user", username).stdout.strip()

    def tenant(self, quota_bytes=None, quota_files=None):
        slug = f"t{next(_counter)}-{os.getpid()}"
        body = {"slug": slug, "name": slug, "admin": {"username": "boss"}}
        if quota_bytes is not None:
            body["quota_bytes"] = quota_bytes
        if quota_files is not None:
            body["quota_files"] = quota_files
        r = self.server.request("POST", f"{API}/tenants", token=self.operator, json=body)
        assert r.status_code == 201, r.text
        return Tenant(self, r.json(), "boss")

    @property
    def store(self):
        """The server's object store, seen the same way on every backend (coffer_server.StoreView)."""
        return self.server.store

    def objects(self, prefix=""):
        """Keys of the objects the store holds under `prefix` (a tenant id: that tenant's)."""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return self.store.keys(prefix)

    def temp_files(self):
        """Leftovers of puts that never completed (fs temporary files, s3 multipart uploads)."""
        return self.store.incomplete()

    def gc(self):
        r = self.server.command("gc")
        assert r.returncode == 0, r.stderr
        return r.stdout


def run_parallel(n, fn):
    """Runs fn(i) for i in range(n) on n threads released together; returns results in order."""
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def work(i):
        try:
            barrier.wait(30)
            results[i] = fn(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    if errors:
        raise errors[0]
    return results


def body_text(r):
    """Everything a client receives: status line data, headers and body, as one string."""
    head = "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    return head + "\n" + r.content.decode("utf-8", "replace")


def content_disposition_filename(header):
    m = re.search(r"filename\*=UTF-8''([^;\s]+)", header, re.I)
    assert m, header
    return urllib.parse.unquote(m.group(1), encoding="utf-8", errors="strict")
