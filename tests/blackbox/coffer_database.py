"""The database under the black-box tests' servers, and a look inside it.

COFFER_TEST_DATABASE_URL picks it:
- unset (the default): each server keeps the embedded default, a SQLite file in its data
  directory;
- a postgresql:// URL (ctest gives the pg_server fixture's test database): each server gets a
  fresh schema of it, reached with `?options=-c search_path=<schema>`, so the server's migrations
  create their tables there and servers never see each other's rows. The schema is dropped when
  the server is closed.

Tests that read or change rows directly use `server.database.query/execute`, which work on both
(plain SQL that SQLite and PostgreSQL read alike, no parameters)."""
import os
import sqlite3
import subprocess
import urllib.parse
import uuid

DATABASE_URL = os.environ.get("COFFER_TEST_DATABASE_URL", "")
KIND = "pg" if DATABASE_URL else "sqlite"
PG_SERVER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts/pg-test-server.sh")


def pg_base_url():
    """The database fresh schemas are made in: COFFER_TEST_DATABASE_URL, or the pg_server
    fixture's (COFFER_TEST_PG_URL) for tests that always need PostgreSQL."""
    url = DATABASE_URL or os.environ.get("COFFER_TEST_PG_URL", "")
    if not url:
        raise RuntimeError("neither COFFER_TEST_DATABASE_URL nor COFFER_TEST_PG_URL is set: run the "
                           "PostgreSQL tests with ctest (label pg), whose pg_server fixture starts "
                           "the server and sets them")
    return url


def with_search_path(base_url, schema):
    """`base_url` with its sessions' search_path set to `schema` (libpq's `options`)."""
    sep = "&" if "?" in base_url else "?"
    return base_url + sep + "options=" + urllib.parse.quote(f"-c search_path={schema}", safe="")


def _pg_connect(url):
    import psycopg2  # python3-psycopg2; only the pg runs need it
    conn = psycopg2.connect(url, connect_timeout=10)
    conn.autocommit = True
    return conn


class SqliteDatabase:
    """The embedded default: `coffer.db` in the server's data directory."""
    kind = "sqlite"
    url = None  # the server finds it by itself

    def __init__(self, data_dir):
        self.path = os.path.join(data_dir, "coffer.db")

    def query(self, sql):
        db = sqlite3.connect(self.path)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def execute(self, sql):
        """Runs one statement in its own transaction; returns the number of rows it changed."""
        db = sqlite3.connect(self.path)
        try:
            with db:
                return db.execute(sql).rowcount
        finally:
            db.close()

    def make_unusable(self):
        """The database file is gone and cannot be made again (a directory stands in its way)."""
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)
        os.mkdir(self.path)

    def close(self):
        pass


class PgSchema:
    """A fresh schema of a PostgreSQL database; `url` points a server, or psycopg2, into it."""
    kind = "pg"

    def __init__(self, base_url=None):
        self.base_url = base_url or pg_base_url()
        self.name = "bb_" + uuid.uuid4().hex[:24]  # a plain identifier: no quoting needed
        conn = _pg_connect(self.base_url)
        try:
            conn.cursor().execute(f"CREATE SCHEMA {self.name}")
        finally:
            conn.close()
        self.url = with_search_path(self.base_url, self.name)

    def query(self, sql):
        conn = _pg_connect(self.url)
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return [tuple(row) for row in cur.fetchall()]
        finally:
            conn.close()

    def execute(self, sql):
        conn = _pg_connect(self.url)
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return cur.rowcount
        finally:
            conn.close()

    def drop(self):
        try:
            conn = _pg_connect(self.base_url)
        except Exception:  # noqa: BLE001 - the server may be gone; the fixture removes it all
            return
        try:
            conn.cursor().execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        except Exception:  # noqa: BLE001 - a server still connected may hold locks; harmless
            pass
        finally:
            conn.close()

    def make_unusable(self):
        """The server's tables are gone (the schema is dropped under it)."""
        self.drop()

    def close(self):
        self.drop()


class ExternalDatabase:
    """The test set COFFER_DATABASE_URL itself (several servers on one database): hands off."""
    kind = "external"
    url = None

    def close(self):
        pass


def server_database(data_dir, extra_env):
    """The database of one CofferServer, per COFFER_TEST_DATABASE, unless the test chose one."""
    if "COFFER_DATABASE_URL" in extra_env:
        return ExternalDatabase()
    if KIND == "pg":
        return PgSchema()
    return SqliteDatabase(data_dir)


class OwnPostgres:
    """A PostgreSQL of a test's own on a free port (scripts/pg-test-server.sh), for tests that stop
    or break the database under a server. Use as a context manager; `url` is its database."""

    def __init__(self):
        self.url = None
        self.port = None

    def _script(self, command, check=True):
        env = dict(os.environ, PG_PORT=str(self.port or 0))
        return subprocess.run([PG_SERVER_SCRIPT, command], env=env, capture_output=True, text=True,
                              check=check, timeout=120)

    def start(self):
        self.url = self._script("start").stdout.strip()
        self.port = urllib.parse.urlsplit(self.url).port
        return self

    def halt(self):
        """Stops the server (fast shutdown); the data stays for resume()."""
        self._script("halt")

    def resume(self):
        self._script("resume")

    def stop(self):
        if self.port:
            self._script("stop", check=False)
            self.port = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
