"""docs/deployment.md, tried: three Coffer nodes on one PostgreSQL and one S3 bucket (Ceph RGW)
behind nginx with the guide's configuration (nginx_support.py reads it from the guide); a client
that only knows nginx's address logs in, uploads (streamed, chunked and multipart, large and
small), lists, downloads (whole, ranges) and fetches a presigned URL; requests reach every node;
one request id ties nginx's log to the node's; no request header changes a URL Coffer hands out;
a node stopped with SIGTERM is routed around.

Needs the pg_server and s3_rgw fixtures (ctest label "pg;s3") and nginx."""
import hashlib
import os
import re
import time

import pytest
import requests

from cluster_support import Cluster
from coffer_server import free_port
from files_support import API, Env, file_part, multipart, path_part, sha256
from nginx_support import Nginx


PASSWORD = "behind-nginx password"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def site():
    with Cluster(3, env={"COFFER_ACCESS_LOG": "true"}) as cluster:
        with Nginx([f"127.0.0.1:{n.port}" for n in cluster.nodes]) as nginx:
            yield cluster, nginx


class Client:
    """Knows nothing but nginx's URL."""

    def __init__(self, base):
        self.base = base
        self.token = None
        self.session = requests.Session()

    def request(self, method, path, **kw):
        headers = dict(kw.pop("headers", None) or {})  # the caller's dict stays as it was
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        kw.setdefault("timeout", 120)
        return self.session.request(method, self.base + path, headers=headers, **kw)


@pytest.fixture(scope="module")
def client(site):
    cluster, nginx = site
    node = cluster.nodes[0]
    operator = node.command("token", "--operator").stdout.strip()
    c = Client(nginx.url)
    r = c.request("POST", f"{API}/tenants", headers={"Authorization": f"Bearer {operator}"},
                  json={"slug": "nginx", "name": "Behind nginx",
                        "admin": {"username": "alice", "password": PASSWORD}})
    assert r.status_code == 201, r.text
    r = c.request("POST", f"{API}/auth/token", json={"tenant": "nginx", "username": "alice", "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.token = r.json()["access_token"]
    return c


def test_health_checks_through_nginx(site, client):
    for path in ("/healthz", "/readyz"):
        r = client.request("GET", path)
        assert r.status_code == 200, r.text
    assert client.request("GET", "/readyz").json()["checks"] == {"database": "ok", "storage": "ok"}
    # The guide keeps /metrics off the public side.
    assert client.request("GET", "/metrics").status_code == 404
    r = client.request("GET", "/healthz", headers={"X-Request-Id": "through-nginx.1"})
    assert r.headers["X-Request-Id"] == "through-nginx.1"


def test_upload_list_download_and_presigned_download_through_nginx(site, client):
    cluster, nginx = site
    small = os.urandom(10_000)
    r = client.request("POST", f"{API}/files/?path=docs/small.bin", data=small,
                       headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    small_file = r.json()
    assert r.headers["Location"].endswith(f"/api/v1/files/{small_file['id']}")

    # 24 MiB chunked: streamed through nginx (no request buffering) into an S3 multipart upload.
    big = os.urandom(24 * MiB)
    chunks = (big[i:i + MiB] for i in range(0, len(big), MiB))
    r = client.request("POST", f"{API}/files/?path=docs/big.bin", data=chunks,
                       headers={"Content-Type": "application/octet-stream",
                                "X-Checksum-Sha256": sha256(big)})
    assert r.status_code == 201, r.text
    big_file = r.json()
    assert big_file["size"] == len(big) and big_file["sha256"] == sha256(big)
    # nginx streamed it: nothing of the body was spooled into its temporary directory.
    spooled = [f for _, _, files in os.walk(os.path.join(nginx.prefix, "client_body")) for f in files]
    assert spooled == []

    body, ctype = multipart([path_part("docs/form.txt"), file_part(b"from a form", "form.txt", "text/plain")])
    r = client.request("POST", f"{API}/files/", data=body, headers={"Content-Type": ctype})
    assert r.status_code == 201, r.text

    r = client.request("GET", f"{API}/files/?prefix=docs/&limit=2")
    assert r.status_code == 200, r.text
    page = r.json()
    assert [f["path"] for f in page["items"]] == ["docs/big.bin", "docs/form.txt"]
    r = client.request("GET", f"{API}/files/?prefix=docs/&limit=2&cursor={page['next_cursor']}")
    assert [f["path"] for f in r.json()["items"]] == ["docs/small.bin"]
    r = client.request("GET", f"{API}/files/?delimiter=/")
    assert r.json()["folders"] == ["docs/"]

    r = client.request("GET", f"{API}/files/{big_file['id']}/download", stream=True)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(len(big))
    digest = hashlib.sha256()
    for piece in r.iter_content(MiB):
        digest.update(piece)
    assert digest.hexdigest() == sha256(big)
    r = client.request("GET", f"{API}/files/{big_file['id']}/download", headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206 and r.content == big[1000:2000]
    r = client.request("GET", f"{API}/files/{small_file['id']}/download",
                       headers={"If-None-Match": small_file["etag"]})
    assert r.status_code == 304

    # Presigned: Coffer signs, the bytes come from the bucket, not through nginx.
    r = client.request("POST", f"{API}/files/{small_file['id']}/download-url", json={"expires_in": 60})
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    assert url.startswith(cluster.endpoint)
    got = requests.get(url, timeout=30)
    assert got.status_code == 200 and got.content == small
    r = client.request("GET", f"{API}/files/{small_file['id']}/download?redirect=true", allow_redirects=False)
    assert r.status_code == 307 and r.headers["Location"].startswith(cluster.endpoint)
    assert requests.get(r.headers["Location"], timeout=30).content == small


def test_requests_reach_every_node(site, client):
    cluster, _ = site
    marks = [f"spread-{i}" for i in range(60)]
    for m in marks:
        assert client.request("GET", f"{API}/me", headers={"X-Request-Id": m}).status_code == 200
    # Nodes write their access lines in batches (at most 100 ms late).
    deadline = time.time() + 10
    while True:
        served = [sum(f"rid={m} " in node.read_log() for m in marks) for node in cluster.nodes]
        if sum(served) == len(marks) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert sum(served) == len(marks) and all(served), served


def wait_for_line(read, needle, timeout=10):
    """The line of read() holding `needle` (nginx writes its log line after the response)."""
    deadline = time.time() + timeout
    while True:
        lines = [line for line in read().splitlines() if needle in line]
        if lines:
            assert len(lines) == 1, lines
            return lines[0]
        assert time.time() < deadline, f"no line with {needle!r}"
        time.sleep(0.05)


def test_one_request_id_ties_nginx_log_to_the_nodes_log(site, client):
    cluster, nginx = site
    by_port = {n.port: n for n in cluster.nodes}
    # nginx makes an id when the client sends none; the client's own is kept.
    for sent in (None, "client-chosen.42"):
        r = client.request("GET", f"{API}/files/?limit=1", headers={"X-Request-Id": sent} if sent else {})
        assert r.status_code == 200, r.text
        rid = r.headers["X-Request-Id"]
        if sent:
            assert rid == sent
        else:
            assert re.fullmatch(r"[0-9a-f]{32}", rid), rid  # nginx's $request_id
        proxied = wait_for_line(nginx.access_log, f"rid={rid} ")
        assert proxied.startswith("127.0.0.1 ") and '"GET /api/v1/files/?limit=1 HTTP/1.1" 200' in proxied
        node = by_port[int(re.search(r"upstream=127\.0\.0\.1:(\d+)", proxied).group(1))]
        served = wait_for_line(node.read_log, f"rid={rid} ")
        assert '"GET /api/v1/files/?limit=1" 200' in served
        assert all(f"rid={rid} " not in n.read_log() for n in cluster.nodes if n is not node)


SPOOFED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
           "X-Forwarded-For": "203.0.113.7", "Forwarded": "host=evil.example;proto=https"}


def test_request_headers_never_change_the_urls_coffer_hands_out(site, client):
    cluster, _ = site
    r = client.request("POST", f"{API}/files/?path=urls/a.txt", data=b"where", headers=SPOOFED)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"{API}/files/{r.json()['id']}"  # a path: no host in it
    fid = r.json()["id"]
    for headers in ({}, SPOOFED):
        r = client.request("POST", f"{API}/files/{fid}/download-url", headers=headers)
        assert r.status_code == 200 and r.json()["url"].startswith(cluster.endpoint + "/"), r.text
        r = client.request("GET", f"{API}/files/{fid}/download?redirect=true", headers=headers,
                           allow_redirects=False)
        assert r.status_code == 307 and r.headers["Location"].startswith(cluster.endpoint + "/")
        assert requests.get(r.headers["Location"], timeout=30).content == b"where"


def test_one_node_on_a_local_directory_hands_out_urls_under_its_public_url(make_server):
    """The embedded default behind nginx: the /blob/ URLs of the local-directory backend start
    with COFFER_PUBLIC_URL (nginx's address), whatever Host or X-Forwarded-* say, and work
    through nginx."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    node = make_server(env={"COFFER_PUBLIC_URL": public}).start()
    env = Env(node)
    editor = env.tenant().user("editor")
    with Nginx([f"127.0.0.1:{node.port}"], port=port) as nginx:
        assert nginx.url == public
        r = requests.post(f"{public}{API}/files/?path=local.txt", data=b"on disk",
                          headers={**SPOOFED, "Authorization": f"Bearer {editor.token}"}, timeout=30)
        assert r.status_code == 201, r.text
        fid = r.json()["id"]
        for headers in ({}, SPOOFED):
            r = requests.post(f"{public}{API}/files/{fid}/download-url", timeout=30,
                              headers={**headers, "Authorization": f"Bearer {editor.token}"})
            assert r.status_code == 200, r.text
            url = r.json()["url"]
            assert url.startswith(f"{public}/blob/"), url
            got = requests.get(url, timeout=30)
            assert got.status_code == 200 and got.content == b"on disk"


def test_a_node_stopped_with_sigterm_is_routed_around(site, client):
    cluster, _ = site
    stopped = cluster.nodes[1]
    assert stopped.stop() == 0  # SIGTERM: a graceful stop
    try:
        for i in range(10):
            data = os.urandom(1000 + i)
            r = client.request("POST", f"{API}/files/?path=after/{i}.bin", data=data,
                               headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 201, r.text
            got = client.request("GET", f"{API}/files/{r.json()['id']}/download")
            assert got.status_code == 200 and got.content == data
    finally:
        stopped.start()
    # Back in the upstream once it listens again (nginx retries it after fail_timeout).
    deadline = time.time() + 20
    for i in range(10_000):
        assert client.request("GET", f"{API}/me", headers={"X-Request-Id": f"back-{i}"}).status_code == 200
        if "rid=back-" in stopped.read_log():  # any of them (access lines come in batches)
            break
        assert time.time() < deadline, "the restarted node gets no requests"
        time.sleep(0.2)
