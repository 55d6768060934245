"""Starts and stops the real coffer binary for black-box tests, on either object store backend.

The backend comes from the environment: COFFER_TEST_STORAGE=s3 (with COFFER_TEST_S3_ENDPOINT,
COFFER_TEST_S3_BUCKET and the AWS_* credentials, as the ctest fixture of tests/CMakeLists.txt
sets them) runs every CofferServer on that bucket under a fresh random key prefix; anything else
runs it on the local directory in its data dir. Tests look at the store only through
CofferServer.store (a StoreView), so that they hold on both backends unchanged."""
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
STORAGE = os.environ.get("COFFER_TEST_STORAGE", "fs")
# COFFER_TEST_DATABASE_URL (a postgresql:// URL) puts each server's metadata in a fresh schema
# of that database, dropped at close(); else each has its own SQLite file (coffer_database.py).


def s3_settings():
    """(endpoint, bucket) of the test RGW; fails clearly when the fixture's variables are missing."""
    try:
        return os.environ["COFFER_TEST_S3_ENDPOINT"], os.environ["COFFER_TEST_S3_BUCKET"]
    except KeyError as e:
        raise RuntimeError(f"COFFER_TEST_STORAGE=s3 needs {e.args[0]} (see tests/CMakeLists.txt)") from None


def s3_client(endpoint=None):
    """A boto3 S3 client for the test RGW (path style, the fixture's credentials)."""
    import boto3  # Debian's python3-boto3; only the s3 runs need it
    from botocore.config import Config
    endpoint = endpoint or s3_settings()[0]
    return boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"),
                        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                                      connect_timeout=5, read_timeout=60))


class StoreView:
    """What a test may see of a server's object store, the same on every backend.

    Keys are Coffer's object keys ("<tenant_id>/<id>"), without any bucket key prefix."""

    kind = "?"

    def keys(self, prefix=""):
        """Every object key under `prefix` (a tenant id names its folder), as a set."""
        raise NotImplementedError

    def read(self, key):
        """The bytes of one object."""
        raise NotImplementedError

    def incomplete(self):
        """Leftovers of puts that never completed, which are not objects: temporary files (fs),
        unfinished multipart uploads (s3). A list of names."""
        raise NotImplementedError

    def presigned_base(self, server):
        """What every presigned URL of this store starts with."""
        raise NotImplementedError

    def cleanup(self):
        pass


class FsStoreView(StoreView):
    kind = "fs"

    def __init__(self, root):
        self.root = root  # the FsObjectStore root: objects/ and tmp/ below it

    @property
    def objects_root(self):
        return os.path.join(self.root, "objects")

    def keys(self, prefix=""):
        base = os.path.join(self.objects_root, prefix)
        found = set()
        for dirpath, _, filenames in os.walk(base):
            for name in filenames:
                found.add(os.path.relpath(os.path.join(dirpath, name), self.objects_root))
        return found

    def read(self, key):
        with open(os.path.join(self.objects_root, key), "rb") as f:
            return f.read()

    def incomplete(self):
        tmp = os.path.join(self.root, "tmp")
        return sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []

    def presigned_base(self, server):
        return server.url + "/blob/"


class S3StoreView(StoreView):
    kind = "s3"

    def __init__(self, endpoint, bucket, key_prefix, owned=False):
        """owned: the prefix is this view's own (fresh and random), so cleanup() may empty it.
        endpoint None: the test RGW's, looked up only when the view is used (a server given an
        s3:// URL may be one that must refuse to start)."""
        self._endpoint, self.bucket, self.key_prefix, self.owned = endpoint, bucket, key_prefix, owned
        self._client = None

    @property
    def endpoint(self):
        return self._endpoint or s3_settings()[0]

    @property
    def client(self):
        if self._client is None:
            self._client = s3_client(self.endpoint)
        return self._client

    def full_keys(self, prefix=""):
        """Every S3 key under <key prefix><prefix>, as S3 names it."""
        found = set()
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.key_prefix + prefix):
            found.update(o["Key"] for o in page.get("Contents", []))
        return found

    def keys(self, prefix=""):
        return {k[len(self.key_prefix):] for k in self.full_keys(prefix)}

    def read(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=self.key_prefix + key)["Body"].read()

    def multipart_uploads(self):
        """(key, upload id) of every unfinished multipart upload under the key prefix."""
        uploads, kw = [], {}
        while True:
            page = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.key_prefix, **kw)
            uploads += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
            if not page.get("IsTruncated"):
                return uploads
            kw = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}

    def incomplete(self):
        return sorted(f"{key} {upload_id}" for key, upload_id in self.multipart_uploads())

    def presigned_base(self, server):
        return f"{self.endpoint}/{self.bucket}/{self.key_prefix}"

    def cleanup(self):
        """Removes everything under an owned key prefix (RGW's memstore keeps objects in RAM)."""
        if not self.owned:
            return
        try:
            for key, upload_id in self.multipart_uploads():
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            keys = sorted(self.full_keys())
            for i in range(0, len(keys), 1000):
                self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
        except Exception:  # noqa: BLE001 - RGW may be gone already (fault tests); never mask a result
            pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CofferServer:
    """One coffer process with its own data directory and port."""

    def __init__(self, env=None, config_text=None, data_dir=None, args=("serve",), storage=None):
        """storage: "fs" or "s3"; default COFFER_TEST_STORAGE. An env with its own
        COFFER_STORAGE_URL keeps it (and the store view follows a file: URL)."""
        self.tmp = tempfile.TemporaryDirectory(prefix="coffer-test-")
        self.data_dir = data_dir or os.path.join(self.tmp.name, "var")
        self.extra_env = dict(env or {})
        self.storage = storage or STORAGE
        self.store = self._open_store_view()
        self.config_text = config_text
        self.args = list(args)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.tmp.name, "server.log")
        self.storage = self.store.kind  # what the server really runs on
        # SQLite in the data dir, or a fresh schema of COFFER_TEST_DATABASE_URL (coffer_database.py).
        self.database = server_database(self.data_dir, self.extra_env)

    # The S3 location of a server on S3, for tests that talk to the bucket themselves.
    @property
    def s3_endpoint(self):
        return self.store.endpoint

    @property
    def s3_bucket(self):
        return self.store.bucket

    @property
    def s3_prefix(self):
        return self.store.key_prefix

    def _open_store_view(self):
        url = self.extra_env.get("COFFER_STORAGE_URL")
        if url is None and self.storage == "s3":
            endpoint, bucket = s3_settings()
            prefix = f"coffer-test-{uuid.uuid4().hex[:16]}/"
            # An env's own endpoint (a proxy in front of RGW) is kept; the view talks to RGW.
            self.extra_env.update({"COFFER_STORAGE_URL": f"s3://{bucket}/{prefix}", "COFFER_S3_PATH_STYLE": "true"})
            self.extra_env.setdefault("AWS_ENDPOINT_URL_S3", endpoint)
            return S3StoreView(endpoint, bucket, prefix, owned=True)
        if url is None:
            return FsStoreView(os.path.join(self.data_dir, "objects"))
        if url.startswith("file:"):
            path = url[5:]
            return FsStoreView(path[2:] if path.startswith("//") else path)
        if url.startswith("s3://"):
            bucket, _, prefix = url[5:].partition("/")
            prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
            return S3StoreView(None, bucket, prefix)
        raise ValueError(f"unknown COFFER_STORAGE_URL {url}")

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
        self.store.cleanup()
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
