"""Foundation: the server's limits, errors, timeouts, shutdown and service routes."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

import coffer_database
from coffer_server import COFFER_BIN, CofferServer, recv_all, split_response


def assert_error(resp_or_tuple, status, code):
    if isinstance(resp_or_tuple, tuple):
        got_status, headers, body = resp_or_tuple
        body = json.loads(body)
    else:
        got_status, headers, body = resp_or_tuple.status_code, resp_or_tuple.headers, resp_or_tuple.json()
    assert got_status == status, body
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["request_id"]
    rid = headers.get("x-request-id") or headers.get("X-Request-Id")
    assert rid == body["error"]["request_id"]


def test_healthz_and_readyz(server):
    r = server.get("/healthz")
    assert r.status_code == 200
    assert r.headers["X-Request-Id"]
    r = server.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "storage": "ok"}


def test_readyz_names_the_object_store_when_it_fails(server):
    shutil.rmtree(os.path.join(server.data_dir, "objects"))
    r = server.get("/readyz")
    assert r.status_code == 503
    assert r.json()["failed"] == "storage"
    assert r.json()["checks"]["database"] == "ok"
    assert r.headers["Retry-After"]


def test_readyz_names_the_database_when_it_fails(server):
    server.database.make_unusable()  # SQLite: the file is gone for good; PostgreSQL: the schema
    r = server.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json()["failed"] == "database"
    assert r.json()["checks"]["storage"] == "ok"
    assert r.headers["Retry-After"]


def test_unknown_route_is_404_json(server):
    assert_error(server.get("/nope"), 404, "not_found")
    assert_error(server.get("/api/v1/nothing/here"), 404, "not_found")


def test_wrong_method_is_405_with_allow(server):
    r = server.request("DELETE", "/healthz")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET"
    r = server.request("PUT", "/api/v1/files/")
    assert_error(r, 405, "method_not_allowed")
    assert set(r.headers["Allow"].split(", ")) == {"GET", "POST"}


def test_trailing_slash_is_optional_on_collections(server):
    a = server.request("PUT", "/api/v1/users")
    b = server.request("PUT", "/api/v1/users/")
    assert a.status_code == b.status_code == 405


def test_malformed_request_line_is_400_json(server):
    assert_error(split_response(server.raw(b"GARBAGE\r\n\r\n")), 400, "bad_request")
    assert_error(split_response(server.raw(b"GET /healthz HTTP/9.9\r\n\r\n")), 400, "bad_request")
    assert_error(split_response(server.raw(b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n")), 400,
                 "bad_request")


def test_target_must_be_a_path(server):
    assert_error(split_response(server.raw(b"GET * HTTP/1.1\r\nHost: x\r\n\r\n")), 400, "bad_request")


def test_oversized_header_is_431_json(server):
    big = b"X-Big: " + b"a" * 20000 + b"\r\n"
    resp = split_response(server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n"))
    assert_error(resp, 431, "payload_too_large")


def test_oversized_json_body_is_413_before_reading_it(server):
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    r = server.post("/api/v1/auth/token", data=body, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_oversized_chunked_json_body_is_413(server):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536
    r = server.post("/api/v1/auth/token", data=chunks(), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_json_limit_is_configurable(make_server):
    s = make_server(env={"COFFER_MAX_JSON_BYTES": "1KiB"}).start()
    r = s.post("/api/v1/auth/token", data=b"{" + b" " * 2000 + b"}",
               headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_slow_headers_get_408_json(make_server):
    s = make_server(env={"COFFER_HEADER_TIMEOUT": "1s"}).start()
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        time.sleep(0.3)
        c.sendall(b"X-Slow: 1\r\n")  # trickle, but never finish the header
        raw = recv_all(c)
        elapsed = time.time() - t0
    assert 0.5 < elapsed < 5
    assert_error(split_response(raw), 408, "bad_request")


def test_idle_keepalive_connection_is_closed(make_server):
    s = make_server(env={"COFFER_IDLE_TIMEOUT": "1s"}).start()
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = c.recv(65536)
        assert b"200 OK" in first
        t0 = time.time()
        rest = recv_all(c)  # returns when the server closes
        assert rest == b""
        assert 0.5 < time.time() - t0 < 5


def test_keepalive_serves_many_requests_on_one_connection(server):
    with requests.Session() as session:
        ids = set()
        for _ in range(20):
            r = session.get(server.url + "/healthz")
            assert r.status_code == 200
            ids.add(r.headers["X-Request-Id"])
        assert len(ids) == 20


def test_request_id_is_echoed_only_when_valid(server):
    assert server.get("/healthz", headers={"X-Request-Id": "abc-123_X.y"}).headers["X-Request-Id"] == "abc-123_X.y"
    for bad in ["has space", "x" * 129, "semi;colon", ""]:
        rid = server.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert rid != bad and re.fullmatch(r"[A-Za-z0-9._-]{1,128}", rid)


def test_connection_cap_refuses_extra_connections(make_server):
    s = make_server(env={"COFFER_MAX_CONNECTIONS": "2"}).start()
    held = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(2)]
    for c in held:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in c.recv(65536)
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as extra:
        try:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = recv_all(extra)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        assert data == b""
    for c in held:
        c.close()
    time.sleep(0.2)
    assert s.get("/healthz").status_code == 200


def test_metrics_count_requests_by_route_template_and_status(server):
    server.get("/healthz")
    server.get("/nope")
    text = server.get("/metrics").text
    assert re.search(r'coffer_http_requests_total\{route="GET /healthz",status="200"\} [1-9]', text)
    assert re.search(r'coffer_http_requests_total\{route="unmatched",status="404"\} [1-9]', text)
    assert 'coffer_http_request_duration_seconds_bucket{route="GET /healthz",le="+Inf"}' in text
    for name in ["coffer_http_requests_in_flight", "coffer_http_bytes_in_total", "coffer_http_bytes_out_total"]:
        assert re.search(rf"^{name} \d+$", text, re.M), name


def test_metrics_on_a_separate_listener(make_server):
    from coffer_server import free_port
    port = free_port()
    s = make_server(env={"COFFER_METRICS_LISTEN": f"127.0.0.1:{port}"}).start()
    assert s.get("/metrics").status_code == 404
    assert requests.get(f"http://127.0.0.1:{port}/metrics").status_code == 200


def test_openapi_document_is_served(server):
    r = server.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")


def test_access_log_as_json(make_server):
    s = make_server(env={"COFFER_LOG_FORMAT": "json"}).start()
    s.get("/healthz", headers={"X-Request-Id": "trace-me"})
    access = []
    deadline = time.time() + 5  # access lines are written in batches, within 100 ms
    while not access and time.time() < deadline:
        time.sleep(0.1)
        lines = [json.loads(l) for l in s.read_log().splitlines() if l.startswith("{")]
        access = [l for l in lines if l.get("type") == "access" and l.get("request_id") == "trace-me"]
    assert access and access[0]["status"] == 200 and access[0]["route"] == "GET /healthz"


def test_access_lines_are_all_written_by_a_graceful_stop(make_server):
    s = make_server().start()
    for i in range(50):
        s.get("/healthz", headers={"X-Request-Id": f"last-{i}"})
    s.stop()
    text = s.read_log()
    assert all(f"last-{i}" in text for i in range(50))


def test_sigterm_lets_a_slow_request_finish(server):
    # A request whose body trickles in: SIGTERM arrives in the middle, the answer still comes.
    body = b'{"tenant": "t", "username": "u", "password": "p"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as c:
        c.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        # New connections are refused while the old one finishes.
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        c.sendall(body[10:])
        status, headers, _ = split_response(recv_all(c))
        assert status != 0 and headers["x-request-id"]
    assert server.proc.wait(10) == 0


def test_sigterm_with_idle_keepalive_connections_exits_promptly(server):
    idle = socket.create_connection(("127.0.0.1", server.port))
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    idle.recv(65536)
    t0 = time.time()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0
    assert time.time() - t0 < 3
    idle.close()


@pytest.mark.parametrize("env,needle", [
    ({"COFFER_LISTN": "127.0.0.1:1"}, "COFFER_LISTN"),
    ({"COFFER_MAX_UPLOAD_BYTES": "lots"}, "COFFER_MAX_UPLOAD_BYTES"),
    ({"COFFER_LOG_FORMAT": "xml"}, "COFFER_LOG_FORMAT"),
    ({"COFFER_STORAGE_URL": "s3://bucket"}, "AWS_ACCESS_KEY_ID"),
])
def test_bad_configuration_stops_startup_with_one_clear_line(env, needle):
    s = CofferServer(env=env)
    try:
        with pytest.raises(RuntimeError):
            s.start(timeout=10)
        out = s.read_log().strip().splitlines()
        assert len(out) == 1, out
        assert needle in out[0] and "configuration" in out[0]
        assert s.proc.returncode == 2
    finally:
        s.close()


def test_bad_configuration_file_key_is_named():
    s = CofferServer(config_text='[http]\nlisten = "127.0.0.1:0"\nmax_json = 5\n')
    try:
        with pytest.raises(RuntimeError):
            s.start(timeout=10)
        assert "http.max_json" in s.read_log()
    finally:
        s.close()


def test_secrets_are_never_printed(make_server):
    secret = "s3cr3t-value-that-must-not-leak-0123456789"
    s = make_server(env={"COFFER_JWT_SECRET": secret, "COFFER_LOG_LEVEL": "debug"}).start()
    s.get("/healthz")
    s.stop()
    assert secret not in s.read_log()
    bad = CofferServer(env={"COFFER_JWT_SECRET": "short"})
    try:
        with pytest.raises(RuntimeError):
            bad.start(timeout=10)
        assert "short" not in bad.read_log().replace("shorter", "")
    finally:
        bad.close()


def test_config_file_and_environment_precedence(make_server):
    s = make_server(config_text='[http]\nlisten = "127.0.0.1:1"\n', env={"COFFER_LISTEN": "127.0.0.1:0"}).start()
    assert s.get("/healthz").status_code == 200


def test_migrate_creates_the_schema_and_is_idempotent(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    env["COFFER_DATA_DIR"] = str(tmp_path / "var")
    database = coffer_database.server_database(env["COFFER_DATA_DIR"], {})
    if database.url:
        env["COFFER_DATABASE_URL"] = database.url
    try:
        for _ in range(2):
            r = subprocess.run([COFFER_BIN, "migrate"], env=env, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
        if database.kind == "sqlite":
            assert (tmp_path / "var" / "coffer.db").exists()
        versions = [v for (v,) in database.query("SELECT version FROM schema_migrations")]
        assert versions and len(set(versions)) == len(versions)
        assert database.query("SELECT count(*) FROM files") == [(0,)]
    finally:
        database.close()


def test_embedded_default_serves_on_8080_under_var(tmp_path):
    # Nothing configured at all: 127.0.0.1:8080, state under ./var/.
    deadline = time.time() + 60
    while time.time() < deadline:  # wait for the port if another test run holds it
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 8080)) != 0:
                break
        time.sleep(0.5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_") and not k.startswith("AWS_")}
    proc = subprocess.Popen([COFFER_BIN, "serve"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Ready when it says so on 8080 (another server probing 8080 must not be mistaken for it).
        for line in proc.stdout:
            if "listening on http://127.0.0.1:8080" in line:
                break
        assert proc.poll() is None
        assert requests.get("http://127.0.0.1:8080/readyz").status_code == 200
        assert (tmp_path / "var" / "coffer.db").exists()
        assert (tmp_path / "var" / "objects").is_dir()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
