"""Scale-out (issue 7, DESIGN.md "Shape"): two Coffer processes on different ports over one
PostgreSQL schema and one Ceph RGW bucket prefix, as several nodes behind a load balancer run.
Nothing a node keeps to itself may show: what one node wrote, revoked or disabled holds on the
other at once; what must be atomic (versions, quotas) is atomic across both; both collectors run
and never take a live object; a node killed mid-upload leaves nothing visible, and after the upload
TTL nothing at all under the tenant's prefix of the bucket.

Needs the pg_server and s3_rgw fixtures (ctest label "pg;s3")."""
import hashlib
import os
import random
import signal
import socket
import threading
import time
from collections import Counter

import pytest
import requests

from cluster_support import Cluster
from coffer_server import recv_all
from files_support import API, Env, assert_error, q, run_parallel, sha256

UPLOAD_TTL_S = 3
GC = {"COFFER_GC_INTERVAL": "200ms", "COFFER_GC_GRACE": "0s", "COFFER_UPLOAD_TTL": f"{UPLOAD_TTL_S}s"}


@pytest.fixture(scope="module")
def cluster():
    with Cluster(2, env=GC) as c:
        yield c


@pytest.fixture(scope="module")
def env(cluster):
    return Env(cluster.nodes[0])


@pytest.fixture
def tenant(env):
    return env.tenant()


def call(node, user, method, path, **kw):
    """`user`'s request to a given node (files_support's User always asks the env's server)."""
    return node.request(method, path, token=user.token, **kw)


def upload(node, user, path, data, overwrite=False):
    target = f"{API}/files/?path={q(path)}" + ("&overwrite=true" if overwrite else "")
    return call(node, user, "POST", target, data=data, headers={"Content-Type": "application/octet-stream"})


def download(node, user, file_id):
    return call(node, user, "GET", f"{API}/files/{file_id}/download")


def tenant_keys(cluster, tenant):
    """The tenant's objects in the bucket, by their keys as Coffer names them."""
    return cluster.bucket_keys(tenant.id + "/")


def file_keys(cluster, tenant):
    return {k for (k,) in cluster.schema.query(
        f"SELECT object_key FROM files WHERE tenant_id = '{tenant.id}'")}


def pending_work(cluster, tenant):
    """Upload intents and queued deletions of the tenant's objects still in the database."""
    return cluster.schema.query(
        f"SELECT (SELECT count(*) FROM upload_intents WHERE tenant_id = '{tenant.id}'), "
        f"(SELECT count(*) FROM deletions WHERE object_key LIKE '{tenant.id}/%')")[0]


def wait_for(condition, timeout, what):
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"{what}: still not so after {timeout}s")
        time.sleep(0.1)


# -- one node writes, the other sees it at once --------------------------------------------------

def test_both_nodes_serve_the_same_service(cluster):
    a, b = cluster.nodes
    assert a.port != b.port
    for node in (a, b):
        r = node.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["checks"] == {"database": "ok", "storage": "ok"}
    # Both ran the migrations at start, at the same time; they were applied once.
    versions = [v for (v,) in cluster.schema.query("SELECT version FROM schema_migrations")]
    assert versions and len(versions) == len(set(versions))


def test_a_file_uploaded_through_one_node_downloads_through_the_other_at_once(cluster, tenant):
    a, b = cluster.nodes
    editor = tenant.user("editor")
    for i in range(10):
        writer, reader = (a, b) if i % 2 == 0 else (b, a)
        data = os.urandom(1000 + i)
        r = upload(writer, editor, f"cross/{i}.bin", data)
        assert r.status_code == 201, r.text
        f = r.json()
        got = download(reader, editor, f["id"])
        assert got.status_code == 200, got.text
        assert got.content == data
        assert call(reader, editor, "GET", f"{API}/files/{f['id']}").json()["version"] == 1
        # An overwrite through the reader is what the writer serves next.
        newer = os.urandom(2000 + i)
        r = upload(reader, editor, f"cross/{i}.bin", newer, overwrite=True)
        assert r.status_code == 201 and r.json()["version"] == 2, r.text
        assert download(writer, editor, f["id"]).content == newer
        # A presigned URL signed by one node is for the object the other node wrote.
        url = call(writer, editor, "POST", f"{API}/files/{f['id']}/download-url")
        assert url.status_code == 200, url.text
        assert requests.get(url.json()["url"], timeout=30).content == newer
    listed = {f["path"] for f in call(b, editor, "GET", f"{API}/files/?limit=1000").json()["items"]}
    assert listed == {f"cross/{i}.bin" for i in range(10)}
    # A delete through one node is a 404 on the other at once.
    victim = call(a, editor, "GET", f"{API}/files/?prefix=cross/").json()["items"][0]
    assert call(a, editor, "DELETE", f"{API}/files/{victim['id']}").status_code == 204
    assert_error(download(b, editor, victim["id"]), 404, "not_found")
    tenant.assert_usage_exact()


def test_a_revoked_grant_is_enforced_by_the_other_node_at_once(cluster, tenant):
    a, b = cluster.nodes
    owner, reader = tenant.user("editor"), tenant.user("viewer")
    r = upload(a, owner, "shared/report.txt", b"quarterly")
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    for round_ in range(5):
        granter, enforcer = (a, b) if round_ % 2 == 0 else (b, a)
        grant = call(granter, owner, "POST", f"{API}/permissions",
                     json={"file_id": fid, "user_id": reader.id, "role": "viewer"})
        assert grant.status_code == 200, grant.text
        assert download(enforcer, reader, fid).content == b"quarterly"
        if round_ % 2 == 0:
            revoke = call(granter, owner, "DELETE", f"{API}/permissions?file_id={fid}&user_id={reader.id}")
        else:
            revoke = call(granter, owner, "POST", f"{API}/permissions",
                          json={"file_id": fid, "user_id": reader.id, "role": "none"})
        assert revoke.status_code == 204, revoke.text
        assert_error(download(enforcer, reader, fid), 404, "not_found")
        assert_error(call(enforcer, reader, "GET", f"{API}/files/{fid}"), 404, "not_found")
        assert call(enforcer, reader, "GET", f"{API}/files/").json()["items"] == []
    # The tenant-wide grant too.
    assert call(a, owner, "POST", f"{API}/permissions",
                json={"file_id": fid, "principal": "tenant", "role": "viewer"}).status_code == 200
    assert download(b, reader, fid).status_code == 200
    assert call(a, owner, "DELETE", f"{API}/permissions?file_id={fid}&principal=tenant").status_code == 204
    assert_error(download(b, reader, fid), 404, "not_found")


def test_a_disabled_user_or_a_changed_role_is_enforced_by_the_other_node_at_once(cluster, tenant):
    a, b = cluster.nodes
    admin, user = tenant.admin, tenant.user("editor")
    for round_ in range(4):
        changer, enforcer = (a, b) if round_ % 2 == 0 else (b, a)
        assert call(enforcer, user, "GET", f"{API}/me").status_code == 200
        r = call(changer, admin, "PATCH", f"{API}/users/{user.id}", json={"disabled": True})
        assert r.status_code == 200 and r.json()["disabled"] is True, r.text
        r = call(enforcer, user, "GET", f"{API}/me")
        assert_error(r, 401, "unauthenticated")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert_error(upload(enforcer, user, f"d/{round_}", b"x"), 401, "unauthenticated")
        r = call(changer, admin, "PATCH", f"{API}/users/{user.id}", json={"disabled": False})
        assert r.status_code == 200, r.text
        assert call(enforcer, user, "GET", f"{API}/me").status_code == 200
    # A role is read from the database on every request, on every node.
    assert upload(b, user, "role/before", b"x").status_code == 201
    assert call(a, admin, "PATCH", f"{API}/users/{user.id}", json={"role": "viewer"}).status_code == 200
    assert_error(upload(b, user, "role/after", b"x"), 403, "forbidden")
    # A deleted user's token is dead everywhere.
    assert call(b, admin, "DELETE", f"{API}/users/{user.id}").status_code == 204
    assert_error(call(a, user, "GET", f"{API}/me"), 401, "unauthenticated")


# -- what must be atomic is atomic across the nodes ----------------------------------------------

def test_concurrent_overwrites_through_both_nodes_all_get_distinct_versions(cluster, tenant):
    editor = tenant.user("editor")
    first = upload(cluster.nodes[0], editor, "race/shared.bin", b"v1")
    assert first.status_code == 201, first.text
    n = 32  # 16 threads on each node
    bodies = [os.urandom(3000 + i) for i in range(n)]
    results = run_parallel(n, lambda i: upload(cluster.nodes[i % 2], editor, "race/shared.bin", bodies[i],
                                               overwrite=True))
    assert [r.status_code for r in results] == [201] * n, [r.text for r in results if r.status_code != 201]
    versions = [r.json()["version"] for r in results]
    assert sorted(versions) == list(range(2, n + 2)), f"lost or repeated versions: {sorted(versions)}"
    assert {r.json()["id"] for r in results} == {first.json()["id"]}
    for r, body in zip(results, bodies):
        assert r.json()["sha256"] == sha256(body)
    last = max(range(n), key=lambda i: versions[i])
    for node in cluster.nodes:
        f = call(node, editor, "GET", f"{API}/files/{first.json()['id']}").json()
        assert f["version"] == n + 1 and f["sha256"] == sha256(bodies[last])
        assert download(node, editor, f["id"]).content == bodies[last]
    assert tenant.assert_usage_exact() == (len(bodies[last]), 1)
    # Every replaced object goes (COFFER_GC_GRACE=0s): only the winner's stays in the bucket.
    wait_for(lambda: tenant_keys(cluster, tenant) == file_keys(cluster, tenant), 20,
             "replaced objects are removed")


def test_concurrent_uploads_through_both_nodes_cannot_together_exceed_the_byte_quota(cluster, env):
    size, fits = 1000, 10
    t = env.tenant(quota_bytes=size * fits)
    editor = t.user("editor")
    n = 40
    results = run_parallel(n, lambda i: upload(cluster.nodes[i % 2], editor, f"q/{i}", os.urandom(size)))
    statuses = Counter(r.status_code for r in results)
    assert statuses == {201: fits, 507: n - fits}, statuses
    for r in results:
        if r.status_code == 507:
            assert_error(r, 507, "quota_exceeded")
    assert t.assert_usage_exact() == (size * fits, fits)
    # Refused uploads leave no object behind, on either node.
    wait_for(lambda: tenant_keys(cluster, t) == file_keys(cluster, t), 20, "refused uploads' objects are removed")
    assert len(file_keys(cluster, t)) == fits


def test_concurrent_uploads_and_overwrites_through_both_nodes_keep_the_file_quota(cluster, env):
    t = env.tenant(quota_files=7)
    editor = t.user("editor")
    assert upload(cluster.nodes[0], editor, "grow", b"g" * 100).status_code == 201
    n = 36

    def work(i):
        node = cluster.nodes[i % 2]
        if i % 3 == 0:  # overwrites of the one existing file: they add no file
            return upload(node, editor, "grow", os.urandom(1_000 + i), overwrite=True)
        return upload(node, editor, f"new/{i}", os.urandom(100))

    results = run_parallel(n, work)
    overwrites = [r.status_code for i, r in enumerate(results) if i % 3 == 0]
    creations = Counter(r.status_code for i, r in enumerate(results) if i % 3)
    assert overwrites == [201] * len(overwrites), [r.text for r in results]
    assert creations == {201: 6, 507: len(results) - len(overwrites) - 6}, creations
    assert t.assert_usage_exact()[1] == 7


def test_concurrent_deletes_through_both_nodes_exactly_one_wins(cluster, tenant):
    editor = tenant.user("editor")
    for round_ in range(3):
        f = upload(cluster.nodes[round_ % 2], editor, f"del/{round_}.bin", os.urandom(5000)).json()
        n = 12
        results = run_parallel(n, lambda i: call(cluster.nodes[i % 2], editor, "DELETE", f"{API}/files/{f['id']}"))
        assert sorted(r.status_code for r in results) == [204] + [404] * (n - 1), [r.text for r in results]
        for node in cluster.nodes:
            assert_error(download(node, editor, f["id"]), 404, "not_found")
    assert tenant.assert_usage_exact() == (0, 0)
    # Each deleted object was queued once and removed (COFFER_GC_GRACE=0s): nothing leaks.
    wait_for(lambda: tenant_keys(cluster, tenant) == set(), 20, "deleted objects are removed")


def test_concurrent_creates_of_one_path_through_both_nodes_make_one_file(cluster, tenant):
    editor = tenant.user("editor")
    n = 12
    bodies = [os.urandom(1000 + i) for i in range(n)]
    results = run_parallel(n, lambda i: upload(cluster.nodes[i % 2], editor, "once/only.bin", bodies[i]))
    statuses = Counter(r.status_code for r in results)
    assert statuses == {201: 1, 409: n - 1}, statuses
    winner = next(i for i, r in enumerate(results) if r.status_code == 201)
    for node in cluster.nodes:
        f = call(node, editor, "GET", f"{API}/files/?prefix=once/").json()["items"]
        assert [(x["path"], x["version"]) for x in f] == [("once/only.bin", 1)]
        assert download(node, editor, f[0]["id"]).content == bodies[winner]
    assert tenant.assert_usage_exact() == (len(bodies[winner]), 1)
    # The losers' objects go with their intents: only the winner's stays.
    wait_for(lambda: tenant_keys(cluster, tenant) == file_keys(cluster, tenant), 20,
             "the refused creates' objects are removed")


def test_the_last_admin_rule_holds_across_nodes(cluster, tenant):
    """Two admins demote, disable or delete each other at once through different nodes: never
    both. The loser's request is 409 (the rule), or 403/401 when the winner's change reached the
    database before the loser's request was authenticated (or 404 when the loser, who would have
    inherited the deleted admin's files, was deleted first); the tenant keeps one enabled admin."""
    a, b = cluster.nodes
    first, second = tenant.admin, tenant.user("admin")
    ok = {"PATCH": 200, "DELETE": 204}
    for method, body, late in [("PATCH", {"role": "editor"}, {403}), ("PATCH", {"disabled": True}, {401}),
                               ("DELETE", None, {401, 404})]:
        def change(i):
            actor, target = (first, second) if i == 0 else (second, first)
            return call((a, b)[i], actor, method, f"{API}/users/{target.id}", json=body)

        for _ in range(3):
            results = run_parallel(2, change)
            statuses = [r.status_code for r in results]
            assert sorted(statuses) in [[ok[method], code] for code in {409} | late], [r.text for r in results]
            survivor, loser = (first, second) if statuses[0] == ok[method] else (second, first)
            for node in (a, b):
                users = call(node, survivor, "GET", f"{API}/users?limit=1000").json()["items"]
                assert [u["id"] for u in users if u["role"] == "admin" and not u["disabled"]] == [survivor.id]
            if method == "DELETE":
                break  # the loser is gone
            r = call(b, survivor, "PATCH", f"{API}/users/{loser.id}", json={"role": "admin", "disabled": False})
            assert r.status_code == 200, r.text
            first, second = survivor, loser


# -- both collectors ------------------------------------------------------------------------------

def test_both_collectors_running_never_delete_a_live_object(cluster, tenant):
    """Uploads, overwrites and deletes through both nodes while both collectors run every 200 ms
    with no grace; then every listed file downloads, on both nodes, with its recorded bytes."""
    editors = [tenant.user("editor") for _ in range(4)]
    stop = threading.Event()
    stats = Counter()
    errors = []
    lock = threading.Lock()

    def client(i):
        rng = random.Random(i)
        node, editor = cluster.nodes[i % 2], editors[i % len(editors)]
        known = {}
        while not stop.is_set():
            path = f"burst/{i % 4}/{rng.randrange(12)}.bin"
            op = rng.choices(["upload", "overwrite", "delete", "download"], [30, 35, 15, 20])[0]
            try:
                if op in ("upload", "overwrite"):
                    data = os.urandom(rng.choice([0, 10, 5000, 70_000, 300_000]))
                    r = upload(node, editor, path, data, overwrite=op == "overwrite")
                    if r.status_code == 201:
                        known[r.json()["id"]] = r.json()
                        if r.json()["sha256"] != sha256(data):
                            errors.append(f"{op} of {path} answered {r.json()}")
                elif op == "delete" and known:
                    fid = rng.choice(list(known))
                    r = call(node, editor, "DELETE", f"{API}/files/{fid}")
                    known.pop(fid, None)
                elif op == "download" and known:
                    fid = rng.choice(list(known))
                    r = download(node, editor, fid)
                    if r.status_code == 404:
                        known.pop(fid, None)
                    elif r.status_code == 200:
                        etag = r.headers["ETag"].strip('"')
                        if not hashlib.sha256(r.content).hexdigest().startswith(etag.split("-")[0]):
                            errors.append(f"download of {fid}: bytes do not match ETag {etag}")
                else:
                    continue
                with lock:
                    stats[f"{op} {r.status_code}"] += 1
            except requests.RequestException as e:
                errors.append(f"{op}: {e!r}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(8)
    stop.set()
    for t in threads:
        t.join(60)
    assert not errors, errors[:10]
    # Writes never fail; a download may lose its race with a delete or overwrite of the same file
    # (COFFER_GC_GRACE=0s removes the old object at once), which is what the grace is for.
    failed = {k: v for k, v in stats.items()
              if not k.startswith("download") and k.split()[1] not in ("201", "204", "404", "409")}
    assert not failed, stats
    assert sum(v for k, v in stats.items() if k.split()[1] in ("201", "204")) > 50, stats

    def check_every_file():
        files = tenant.all_files()
        for f in files:
            for node in cluster.nodes:
                r = download(node, tenant.admin, f["id"])
                assert r.status_code == 200, (f, r.status_code, r.text)
                assert len(r.content) == f["size"] and sha256(r.content) == f["sha256"], f
        return files

    files = check_every_file()
    assert files, stats
    tenant.assert_usage_exact()
    # The collectors go on: after the TTL of any upload intent, the bucket holds exactly the
    # objects of the committed files, and they still all download.
    time.sleep(UPLOAD_TTL_S + 1)
    wait_for(lambda: pending_work(cluster, tenant) == (0, 0), 30, "intents and deletions are collected")
    keys = file_keys(cluster, tenant)
    assert tenant_keys(cluster, tenant) == keys
    assert len(keys) == len(files)
    check_every_file()
    for node in cluster.nodes:
        failures = [line for line in node.read_log().splitlines() if "collector:" in line and "warn" in line]
        assert not failures, failures[:5]


# -- a node dies mid-upload ------------------------------------------------------------------------

def slow_body(total, chunk, started, pause=0.05):
    """A chunked body of `total` bytes; sets `started` once half of it is out."""
    sent = 0
    while sent < total:
        piece = os.urandom(min(chunk, total - sent))
        sent += len(piece)
        if sent >= total // 2:
            started.set()
            time.sleep(pause)
        yield piece


def test_a_node_killed_mid_upload_leaves_no_visible_partial_file():
    with Cluster(2, env=GC) as c:
        a, b = c.nodes
        cenv = Env(a)
        t = cenv.tenant()
        editor = t.user("editor")
        assert upload(a, editor, "keep.bin", b"kept").status_code == 201
        before = t.info()
        # Two uploads die with the node: a chunked one big enough to be a multipart upload in S3
        # (parts of 8 MiB), and a small one with a Content-Length (one PUT).
        big_started = threading.Event()
        outcomes = []

        def send(path, body, headers):
            try:
                r = call(a, editor, "POST", f"{API}/files/?path={q(path)}", data=body,
                         headers={"Content-Type": "application/octet-stream", **headers}, timeout=60)
                outcomes.append((path, r.status_code))
            except requests.RequestException as e:
                outcomes.append((path, type(e).__name__))

        big = threading.Thread(target=send, args=("partial/big.bin", slow_body(40 << 20, 1 << 20, big_started), {}))
        # The small one by hand: half of its announced body, then nothing (requests would send a
        # generator chunked, whatever Content-Length says).
        small_data = os.urandom(2 << 20)
        small = socket.create_connection(("127.0.0.1", a.port), timeout=60)
        small.sendall((f"POST {API}/files/?path=partial/small.bin HTTP/1.1\r\n"
                       f"Host: 127.0.0.1:{a.port}\r\nAuthorization: Bearer {editor.token}\r\n"
                       f"Content-Type: application/octet-stream\r\n"
                       f"Content-Length: {len(small_data)}\r\n\r\n").encode() + small_data[: 1 << 20])
        big.start()
        assert big_started.wait(60)
        # Both are under way in the node before the kill: their intents are recorded, and the
        # multipart upload has begun in the bucket.
        wait_for(lambda: pending_work(c, t)[0] == 2, 30, "both uploads are under way")
        wait_for(lambda: c.unfinished_uploads(t.id + "/"), 30, "a multipart upload is under way")
        assert a.kill() == -signal.SIGKILL
        big.join(60)
        assert all(not isinstance(code, int) or code != 201 for _, code in outcomes), outcomes
        assert recv_all(small) == b"", "the killed node answered the cut-off upload"
        small.close()

        # Nothing of it is visible through the surviving node, and the usage did not move.
        admin = t.admin
        paths = {f["path"] for f in call(b, admin, "GET", f"{API}/files/?limit=1000").json()["items"]}
        assert paths == {"keep.bin"}
        listed = call(b, admin, "GET", f"{API}/files/?prefix=partial/").json()
        assert listed["items"] == [] and listed["folders"] == []
        after = b.request("GET", f"{API}/tenants/{t.id}", token=cenv.operator).json()
        assert (after["used_bytes"], after["used_files"]) == (before["used_bytes"], before["used_files"])
        assert c.bucket_keys(t.id + "/") == file_keys(c, t)
        # The path is free: the dead upload holds nothing.
        r = upload(b, editor, "partial/small.bin", b"whole")
        assert r.status_code == 201 and r.json()["version"] == 1, r.text

        # After the upload TTL, the surviving node's collector removes what the dead one left:
        # no object and no unfinished multipart upload stays under the tenant's prefix.
        time.sleep(UPLOAD_TTL_S)
        wait_for(lambda: pending_work(c, t) == (0, 0), 30, "the dead node's intents are collected")
        wait_for(lambda: not c.unfinished_uploads(t.id + "/"), 30,
                 "the dead node's multipart upload is aborted")
        assert c.bucket_keys(t.id + "/") == file_keys(c, t)
        assert len(file_keys(c, t)) == 2

        # The node comes back on the same database and bucket, and serves.
        a.start()
        assert download(a, editor, r.json()["id"]).content == b"whole"
