"""docs/deployment.md, tried: two Coffer nodes on one PostgreSQL and one S3 bucket (Ceph RGW) behind
nginx with the guide's proxy settings; a client that only knows nginx's address logs in, uploads
(streamed, chunked and multipart, large and small), lists, downloads (whole, ranges) and fetches a
presigned URL; requests reach both nodes; a node stopped with SIGTERM is routed around.

Needs the pg_server and s3_rgw fixtures (ctest label "pg;s3") and nginx."""
import hashlib
import os
import time

import pytest
import requests

from cluster_support import Cluster
from files_support import API, file_part, multipart, path_part, sha256
from nginx_support import Nginx


PASSWORD = "behind-nginx password"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def site():
    with Cluster(2, env={"COFFER_ACCESS_LOG": "true"}) as cluster:
        with Nginx([f"127.0.0.1:{n.port}" for n in cluster.nodes]) as nginx:
            yield cluster, nginx


class Client:
    """Knows nothing but nginx's URL."""

    def __init__(self, base):
        self.base = base
        self.token = None
        self.session = requests.Session()

    def request(self, method, path, **kw):
        headers = kw.pop("headers", {})
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


def test_requests_reach_both_nodes(site, client):
    cluster, _ = site
    marks = [f"spread-{i}" for i in range(40)]
    for m in marks:
        assert client.request("GET", f"{API}/me", headers={"X-Request-Id": m}).status_code == 200
    served = [sum(f"rid={m} " in node.read_log() for m in marks) for node in cluster.nodes]
    assert sum(served) == len(marks) and all(served), served


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
    marks = iter(range(10_000))
    while True:
        m = f"back-{next(marks)}"
        assert client.request("GET", f"{API}/me", headers={"X-Request-Id": m}).status_code == 200
        if f"rid={m} " in stopped.read_log():
            break
        assert time.time() < deadline, "the restarted node gets no requests"
        time.sleep(0.2)
