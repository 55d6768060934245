"""nginx in front of Coffer nodes with the configuration of docs/deployment.md, read from the guide
itself (its one ```nginx block), so that what the guide prints is what the tests try.

The configuration needs no privilege: everything nginx writes (pid, logs, temporary directories)
is under its own prefix directory in /tmp, and it listens on a free port of 127.0.0.1. Run as root,
nginx's workers run as its default unprivileged user, which may enter the prefix (mode 0755)."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from coffer_server import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GUIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "deployment.md")

# What the guide leaves to the machine (pid, logs, temporary directories), kept under the prefix.
MAIN = """\
worker_processes 2;
pid {prefix}/nginx.pid;
lock_file {prefix}/nginx.lock;
error_log {prefix}/error.log warn;

events {{
  worker_connections 1024;
}}

http {{
  access_log {prefix}/access.log;
  client_body_temp_path {prefix}/client_body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;

{site}
}}
"""


def guide_site():
    """The `upstream` and `server` blocks of docs/deployment.md, exactly as the guide prints them."""
    with open(GUIDE) as f:
        blocks = re.findall(r"^```nginx\n(.*?)^```", f.read(), re.S | re.M)
    assert len(blocks) == 1, f"{GUIDE}: expected one nginx block, found {len(blocks)}"
    return blocks[0]


def site_for(upstreams, port, access_log):
    """The guide's site with its upstream servers replaced by `upstreams` ("host:port", each with
    the parameters the guide gives its servers), listening on 127.0.0.1:`port` in plain HTTP
    instead of 443 with TLS (the certificate is the one thing not tried), and logging to
    `access_log` in the guide's format."""
    site = guide_site()
    servers = re.findall(r"^(\s*)server \S+:\d+( [^;]*)?;.*$", site, re.M)
    assert servers, "the guide's upstream names no server"
    indent, params = servers[0]
    lines = "\n".join(f"{indent}server {u}{params};" for u in upstreams)
    site = re.sub(r"^\s*server \S+:\d+( [^;]*)?;.*\n", "", site, flags=re.M)
    site = re.sub(r"^(upstream coffer \{\n)", lambda m: m.group(1) + lines + "\n", site, count=1, flags=re.M)
    site, listens = re.subn(r"^(\s*)listen 443 ssl[^;]*;", rf"\g<1>listen 127.0.0.1:{port};", site, flags=re.M)
    assert listens == 1, "the guide's server block should listen on 443 with TLS"
    site, logs = re.subn(r"^(\s*)access_log \S+ coffer;", rf"\g<1>access_log {access_log} coffer;", site, flags=re.M)
    assert logs == 1, "the guide's server block should log in the coffer format"
    return site


class Nginx:
    """An nginx reverse proxy over `upstreams` ("host:port" of Coffer nodes)."""

    def __init__(self, upstreams, port=None):
        self.prefix = tempfile.mkdtemp(prefix="coffer-nginx-", dir="/tmp")
        os.chmod(self.prefix, 0o755)
        self.port = port or free_port()
        self.config_path = os.path.join(self.prefix, "nginx.conf")
        with open(self.config_path, "w") as f:
            f.write(MAIN.format(prefix=self.prefix,
                                site=site_for(upstreams, self.port, os.path.join(self.prefix, "coffer.log"))))
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _nginx(self, *args):
        return [NGINX, "-p", self.prefix, "-c", self.config_path, "-e", os.path.join(self.prefix, "error.log"),
                *args]

    def start(self, timeout=20):
        check = subprocess.run(self._nginx("-t"), capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(self._nginx("-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.error_log()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("nginx did not start:\n" + self.error_log())

    def _read(self, name):
        try:
            with open(os.path.join(self.prefix, name)) as f:
                return f.read()
        except OSError:
            return ""

    def access_log(self):
        """nginx's lines in the guide's `coffer` format."""
        return self._read("coffer.log")

    def error_log(self):
        return self._read("error.log")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # fast shutdown of the master and its workers
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
