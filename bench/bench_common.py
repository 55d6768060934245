"""Shared pieces of the load benchmarks: a coffer server on a throw-away data dir, the server's
resident memory sampled from /proc, curl transfers timed, and results written as JSON."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MiB = 1024 * 1024


def coffer_bin(build):
    path = os.path.join(ROOT, build, "coffer") if not os.path.isabs(build) else os.path.join(build, "coffer")
    if not os.access(path, os.X_OK):
        raise SystemExit(f"no coffer binary at {path}: build first (cmake --build {build})")
    return path


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class RssSampler:
    """Samples VmRSS of `pid` every `interval` seconds on a thread; mark() starts a new phase."""

    def __init__(self, pid, interval=0.1):
        self.pid, self.interval = pid, interval
        self.samples = []  # (monotonic seconds, KiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), vm_rss_kib(self.pid)))
            except (OSError, RuntimeError):
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def now_kib(self):
        return vm_rss_kib(self.pid)

    def peak_kib(self, since=0.0, until=float("inf")):
        values = [kib for t, kib in self.samples if since <= t <= until]
        return max(values) if values else self.now_kib()


class CofferProcess:
    """`coffer serve` on a fresh data dir (embedded default unless `env` says otherwise), with one
    tenant and an editor whose token is in .token."""

    def __init__(self, binary, env=None, workdir=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="coffer-bench-", dir=workdir)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
        self.env.update({"COFFER_DATA_DIR": os.path.join(self.dir, "var"), "COFFER_LISTEN": "127.0.0.1:0",
                         "COFFER_ACCESS_LOG": "false", "COFFER_LOG_LEVEL": "warn"})
        self.env.update(env or {})
        self.proc = None
        self.port = None

    def command(self, *args):
        return subprocess.run([self.binary, *args], env=self.env, cwd=self.dir, capture_output=True, text=True,
                              check=True, timeout=120).stdout.strip()

    def start(self):
        self.command("tenant", "create", "bench", "--admin", "boss")
        self.command("user", "create", "--tenant", "bench", "ed", "--role", "editor")
        self.token = self.command("token", "--tenant", "bench", "--user", "ed", "--ttl", "6h")
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        env = dict(self.env, COFFER_LOG_LEVEL="info")
        self.proc = subprocess.Popen([self.binary, "serve"], env=env, cwd=self.dir, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.log.name, "rb") as f:
                m = re.search(rb"listening on http://[^:]+:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("coffer did not start:\n" + open(self.log.name, errors="replace").read())

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def curl(*args, timeout=3600):
    """Runs curl; returns (seconds, dict of its -w figures). Fails on any HTTP error."""
    fmt = "%{http_code} %{size_upload} %{size_download}"
    t0 = time.monotonic()
    out = subprocess.run(["curl", "-sS", "--fail-with-body", "-w", "\n" + fmt, *args], capture_output=True,
                         timeout=timeout)
    seconds = time.monotonic() - t0
    if out.returncode != 0:
        raise RuntimeError(f"curl {' '.join(args[:3])}... failed: {out.stderr.decode()} {out.stdout[-500:]!r}")
    tail = out.stdout.rsplit(b"\n", 1)
    code, up, down = tail[-1].split()
    return seconds, {"status": int(code), "uploaded": int(float(up)), "downloaded": int(float(down)),
                     "body": tail[0] if len(tail) > 1 else b""}


def write_random_file(path, size):
    block = os.urandom(16 * MiB)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
        f.flush()
        os.fsync(f.fileno())


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


def mib_s(size, seconds):
    return size / MiB / seconds


def write_results(name, results, path=None):
    """Writes `results` as JSON to `path` (a script's --json), by default to
    bench/results/<name>-<time>.json; returns the path."""
    if path is None:
        path = os.path.join(HERE, "results", f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    return path


def print_table(rows, headers):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
