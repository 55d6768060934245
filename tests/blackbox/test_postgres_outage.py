"""PostgreSQL going away under running Coffer nodes (docs/deployment.md "Health checks and
restarts"): /readyz names the database and API requests are 503 `storage_unavailable` with
Retry-After while it is down, and no answer gives the database URL away; when it is back, the
same processes serve again without a restart (stale connections are replaced).

Each test runs a PostgreSQL of its own (scripts/pg-test-server.sh on a free port), so that it may
stop it. Registered only with the PostgreSQL runs (ctest label pg)."""
import time

import pytest

from coffer_database import OwnPostgres
from files_support import API, Env, assert_error

SECRET = "coffer-blackbox-outage-secret-0123456789abcdef"


def wait_ready(server, timeout=20):
    deadline = time.time() + timeout
    while True:
        r = server.get("/readyz")
        if r.status_code == 200:
            return
        assert time.time() < deadline, r.text
        time.sleep(0.1)


@pytest.fixture
def pg():
    with OwnPostgres() as server:
        yield server


def test_a_postgresql_outage_is_503_everywhere_and_ends_without_a_restart(make_server, pg):
    shared = {"COFFER_DATABASE_URL": pg.url, "COFFER_JWT_SECRET": SECRET}  # tokens good on both
    nodes = [make_server(env=shared).start() for _ in range(2)]
    env = Env(nodes[0])
    tenant = env.tenant()
    editor = tenant.user("editor")
    f = editor.put("before.txt", b"before")
    for node in nodes:
        assert node.get("/readyz").json()["checks"] == {"database": "ok", "storage": "ok"}

    pg.halt()
    for node in nodes:
        r = node.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["failed"] == "database" and r.json()["checks"]["storage"] == "ok", r.text
        assert int(r.headers["Retry-After"]) >= 1
        for method, path in [("GET", f"{API}/files/{f['id']}"), ("GET", f"{API}/files/"),
                             ("GET", f"{API}/me")]:
            r = node.request(method, path, token=editor.token)
            assert_error(r, 503, "storage_unavailable")
            assert r.headers["Retry-After"]
            assert "postgresql://" not in r.text and "127.0.0.1" not in r.text
        r = node.request("POST", f"{API}/files/?path=during.txt", token=editor.token, data=b"during",
                         headers={"Content-Type": "text/plain"})
        assert_error(r, 503, "storage_unavailable")
        assert node.get("/healthz").status_code == 200  # liveness: no reason to restart

    pg.resume()
    for node in nodes:
        wait_ready(node)
        r = node.request("GET", f"{API}/files/{f['id']}", token=editor.token)
        assert r.status_code == 200 and r.json()["sha256"] == f["sha256"], r.text
    r = nodes[0].request("GET", f"{API}/files/{f['id']}/download", token=editor.token)
    assert r.status_code == 200 and r.content == b"before", r.text
    # Nothing of the refused upload was committed; a write works again, seen by both nodes (each
    # keeps its bytes in a directory of its own here: the metadata is what they share).
    assert editor.paths() == ["before.txt"]
    g = editor.put("after.txt", b"after")
    r = nodes[1].request("GET", f"{API}/files/{g['id']}", token=editor.token)
    assert r.status_code == 200 and r.json()["path"] == "after.txt", r.text
