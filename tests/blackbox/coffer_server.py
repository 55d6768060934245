"""Starts and stops the real coffer binary for black-box tests."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import requests

from coffer_database import server_database

COFFER_BIN = os.environ.get("COFFER_BIN", os.path.join(os.path.dirname(__file__), "../../build/coffer"))
# "s3": servers store their objects on the ctest fixture's Ceph RGW (COFFER_TEST_S3_ENDPOINT,
# COFFER_TEST_S3_BUCKET and the AWS_* credentials), each under a fresh key prefix; else "fs".
STORAGE = os.environ.get("COFFER_TEST_STORAGE", "fs")
# COFFER_TEST_DATABASE_URL (a postgresql:// URL) puts each server's metadata in a fresh schema
# of that database, dropped at close(); else each has its own SQLite file (coffer_database.py).


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CofferServer:
    """One coffer process with its own data directory and port."""

    def __init__(self, env=None, config_text=None, data_dir=None, args=("serve",)):
        self.tmp = tempfile.TemporaryDirectory(prefix="coffer-test-")
        self.data_dir = data_dir or os.path.join(self.tmp.name, "var")
        self.extra_env = dict(env or {})
        self.config_text = config_text
        self.args = list(args)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.tmp.name, "server.log")
        # SQLite in the data dir, or a fresh schema of COFFER_TEST_DATABASE_URL (coffer_database.py).
        self.database = server_database(self.data_dir, self.extra_env)
        self.storage = "fs"
        if STORAGE == "s3" and "COFFER_STORAGE_URL" not in self.extra_env:
            self.storage = "s3"
            self.s3_endpoint = os.environ["COFFER_TEST_S3_ENDPOINT"]
            self.s3_bucket = os.environ["COFFER_TEST_S3_BUCKET"]
            self.s3_prefix = f"coffer-blackbox/{uuid.uuid4().hex}/"

    # -- process control -------------------------------------------------------------------
    def command(self, *args, env=None, check=True, input=None):
        """Runs `coffer <args>` against this server's configuration; returns CompletedProcess."""
        full_env = self._env()
        full_env.update(env or {})
        return subprocess.run([COFFER_BIN, *self._config_args(), *args], env=full_env, cwd=self.tmp.name,
                              capture_output=True, text=True, check=check, input=input, timeout=120)

    def _config_args(self):
        if self.config_text is None:
            return []
        path = os.path.join(self.tmp.name, "coffer.toml")
        with open(path, "w") as f:
            f.write(self.config_text)
        return ["--config", path]

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
        env["COFFER_DATA_DIR"] = self.data_dir
        if self.database.url:
            env["COFFER_DATABASE_URL"] = self.database.url
        env.setdefault("COFFER_LISTEN", "127.0.0.1:0")
        if self.storage == "s3":
            env["COFFER_STORAGE_URL"] = f"s3://{self.s3_bucket}/{self.s3_prefix}"
            env["AWS_ENDPOINT_URL_S3"] = self.s3_endpoint
            env["COFFER_S3_PATH_STYLE"] = "true"
        env.update(self.extra_env)
        return env

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        logged_before = self.log.tell()  # a restart appends: only what this start logs counts
        env = self._env()
        if "COFFER_LISTEN" not in self.extra_env and self.port:
            env["COFFER_LISTEN"] = f"127.0.0.1:{self.port}"  # a restart keeps its port
        self.proc = subprocess.Popen([COFFER_BIN, *self._config_args(), *self.args], env=env,
                                     cwd=self.tmp.name, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"coffer exited with {self.proc.returncode}:\n{self.read_log()}")
            m = re.search(r"listening on http://[^:]+:(\d+)", self.read_log(since=logged_before))
            if m:
                self.port = int(m.group(1))
                return self
            time.sleep(0.02)
        raise RuntimeError("coffer did not start:\n" + self.read_log())

    def read_log(self, since=0):
        """The server's log from byte offset `since` on."""
        with open(self.log_path, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode if self.proc else None
        self.proc = None
        return code

    def kill(self):
        return self.stop(signal.SIGKILL)

    def close(self):
        self.stop()
        self.database.close()
        self.tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- HTTP ------------------------------------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {}) or {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 60)
        return requests.request(method, self.url + path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def raw(self, data, timeout=10):
        """Sends raw bytes on a fresh connection; returns everything the server answers."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            return recv_all(s)


def recv_all(sock):
    chunks = []
    while True:
        try:
            b = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def split_response(raw):
    """(status, headers dict lower-cased, body bytes) of one raw HTTP/1.1 response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body
