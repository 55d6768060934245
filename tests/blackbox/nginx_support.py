"""nginx in front of Coffer nodes, as docs/deployment.md configures it: one upstream with keep-alive
connections, request and response bodies streamed (no buffering), no body size limit.

The configuration needs no privilege: everything nginx writes (pid, logs, temporary directories)
is under its own prefix directory in /tmp, and it listens on a free port of 127.0.0.1. Run as root,
nginx's workers run as its default unprivileged user, which may enter the prefix (mode 0755)."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from coffer_server import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """\
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

  upstream coffer {{
{servers}
    keepalive 32;
  }}

  server {{
    listen 127.0.0.1:{port};

    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_connect_timeout 5s;
    proxy_send_timeout 300s;
    proxy_read_timeout 300s;
    proxy_next_upstream error timeout http_502 http_503;
    proxy_next_upstream_tries 2;

    location / {{
      proxy_pass http://coffer;
    }}
    location = /metrics {{
      return 404;
    }}
  }}
}}
"""


class Nginx:
    """An nginx reverse proxy over `upstreams` ("host:port" of Coffer nodes)."""

    def __init__(self, upstreams, port=None):
        self.prefix = tempfile.mkdtemp(prefix="coffer-nginx-", dir="/tmp")
        os.chmod(self.prefix, 0o755)
        self.port = port or free_port()
        servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=2s;" for u in upstreams)
        self.config_path = os.path.join(self.prefix, "nginx.conf")
        with open(self.config_path, "w") as f:
            f.write(CONFIG.format(prefix=self.prefix, servers=servers, port=self.port))
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

    def error_log(self):
        try:
            with open(os.path.join(self.prefix, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

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
