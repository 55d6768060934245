"""Files, part 2 (API.md "Files", issue 4): listing (visibility, order, prefix, folders, limits,
keyset pagination) and rename/move."""
import base64
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from coffer_server import CofferServer
from files_support import API, Env, assert_error, assert_file_object, run_parallel, sha256


@pytest.fixture(scope="module")
def env():
    s = CofferServer(env={"COFFER_GC_GRACE": "0s", "COFFER_GC_INTERVAL": "1h"})
    s.start()
    yield Env(s)
    s.close()


@pytest.fixture
def tenant(env):
    return env.tenant()


def upload_many(user, paths, data=lambda p: p.encode()):
    with ThreadPoolExecutor(8) as pool:
        files = list(pool.map(lambda p: user.put(p, data(p)), paths))
    return files


def bytewise(paths):
    return sorted(paths, key=lambda p: p.encode("utf-8"))


# -- who sees what ------------------------------------------------------------------------------

def test_listing_shows_only_readable_files(tenant):
    alice, bob = tenant.user("editor"), tenant.user("editor")
    viewer = tenant.user("viewer")
    private = alice.put("alice/private", b"p")
    to_bob = alice.put("alice/for-bob", b"b")
    to_all = alice.put("alice/for-all", b"a")
    to_viewer = alice.put("alice/for-viewer-as-editor", b"v")
    own = bob.put("bob/own", b"o")
    assert alice.grant(to_bob["id"], "viewer", bob).status_code == 200
    assert alice.grant(to_all["id"], "viewer").status_code == 200
    assert alice.grant(to_viewer["id"], "editor", viewer).status_code == 200

    def roles(user):
        return {f["path"]: f["role"] for f in user.list_all()[0]}

    assert roles(alice) == {"alice/private": "admin", "alice/for-bob": "admin", "alice/for-all": "admin",
                            "alice/for-viewer-as-editor": "admin"}
    assert roles(bob) == {"alice/for-bob": "viewer", "alice/for-all": "viewer", "bob/own": "admin"}
    # A viewer's tenant role caps every grant at viewer.
    assert roles(viewer) == {"alice/for-all": "viewer", "alice/for-viewer-as-editor": "viewer"}
    everything = roles(tenant.admin)
    assert set(everything) == {private["path"], to_bob["path"], to_all["path"], to_viewer["path"], own["path"]}
    assert set(everything.values()) == {"admin"}
    for f in alice.list_all()[0]:
        assert_file_object(f)
    # Listed objects are the same objects GET returns.
    listed = {f["id"]: f for f in bob.list_all()[0]}
    for fid, f in listed.items():
        assert bob.get_file(fid).json() == f
    # Revoking takes the file out of the listing at once.
    assert alice.grant(to_bob["id"], "none", bob).status_code == 204
    assert set(roles(bob)) == {"alice/for-all", "bob/own"}


def test_listing_is_ordered_bytewise_by_utf8(tenant):
    paths = ["b", "B", "a", "Z", "a b", "a-b", "a/b", "a0", "a.b", "é", "e", "z", "日本", "😀", "ﬀ", "Ω",
             "a/B", "a/é", "a/~", "~", "a_b", "aA", "Ä"]
    upload_many(tenant.admin, paths)
    assert tenant.admin.paths() == bytewise(paths)
    assert tenant.admin.paths(limit=3) == bytewise(paths)


def test_prefix(tenant):
    paths = ["a", "a/x", "a/y/z", "ab", "a-b", "b/a", "é/1", "é/2", "éa"]
    upload_many(tenant.admin, paths)
    assert tenant.admin.paths(prefix="a") == bytewise(["a", "a/x", "a/y/z", "ab", "a-b"])
    assert tenant.admin.paths(prefix="a/") == ["a/x", "a/y/z"]
    assert tenant.admin.paths(prefix="a/y/z") == ["a/y/z"]
    assert tenant.admin.paths(prefix="é/") == ["é/1", "é/2"]
    assert tenant.admin.paths(prefix="é") == ["é/1", "é/2", "éa"]
    assert tenant.admin.paths(prefix="nothing") == []
    assert tenant.admin.paths(prefix="") == bytewise(paths)
    assert tenant.admin.paths(prefix="a/", limit=1) == ["a/x", "a/y/z"]


def test_bad_prefix_is_refused(tenant):
    for bad in ["a\x00", "a\\b", "\x7f"]:
        assert_error(tenant.admin.list(prefix=bad), 400, "invalid_path")
    r = tenant.admin.request("GET", f"{API}/files/?prefix=%FF")
    assert_error(r, 400, "invalid_path")


def test_delimiter_gives_folders_with_readable_files(tenant):
    owner, reader = tenant.user("editor"), tenant.user("editor")
    layout = ["top.txt", "a/1", "a/2", "a/b/3", "a/c/4", "b/x", "hidden/h1", "hidden/deep/h2",
              "mixed/secret", "mixed/shared", "z.txt"]
    files = {f["path"]: f for f in upload_many(owner, layout)}
    for p in ["top.txt", "a/1", "a/b/3", "b/x", "mixed/shared"]:
        assert owner.grant(files[p]["id"], "viewer", reader).status_code == 200

    def view(user, **kw):
        items, folders = user.list_all(delimiter="/", **kw)
        return [f["path"] for f in items], folders

    assert view(owner) == (["top.txt", "z.txt"], ["a/", "b/", "hidden/", "mixed/"])
    # "hidden/" holds files, but none the reader can read: it does not appear.
    assert view(reader) == (["top.txt"], ["a/", "b/", "mixed/"])
    assert view(reader, prefix="a/") == (["a/1"], ["a/b/"])
    assert view(owner, prefix="a/") == (["a/1", "a/2"], ["a/b/", "a/c/"])
    assert view(owner, prefix="a") == ([], ["a/"])
    assert view(owner, prefix="hidden/") == (["hidden/h1"], ["hidden/deep/"])
    assert view(reader, prefix="hidden/") == ([], [])
    assert view(reader, prefix="mixed/") == (["mixed/shared"], [])
    # Admins see everything.
    assert view(tenant.admin) == view(owner)
    for limit in (1, 2, 3):
        assert view(owner, limit=limit) == view(owner)
        assert view(reader, limit=limit) == view(reader)
    r = owner.list(delimiter="/", limit=2)
    assert r.json()["folders"] == ["a/", "b/"] and r.json()["items"] == []


def test_folders_without_delimiter_are_not_reported(tenant):
    upload_many(tenant.admin, ["a/1", "a/2", "b"])
    body = tenant.admin.list().json()
    assert body["folders"] == [] and [f["path"] for f in body["items"]] == ["a/1", "a/2", "b"]
    assert body["next_cursor"] is None


@pytest.mark.parametrize("bad", ["0", "1001", "x", "-1", "", "1.5", " 5", "5 ", "0x10", "99999999999999"])
def test_bad_limit_is_400(tenant, bad):
    assert_error(tenant.admin.list(limit=bad), 400, "bad_request")


def test_limit_bounds_and_default(tenant):
    paths = [f"f/{i:03d}" for i in range(105)]
    upload_many(tenant.admin, paths, data=lambda p: b"")
    default = tenant.admin.list().json()
    assert len(default["items"]) == 100 and default["next_cursor"]
    assert len(tenant.admin.list(limit=1).json()["items"]) == 1
    big = tenant.admin.list(limit=1000).json()
    assert [f["path"] for f in big["items"]] == paths and big["next_cursor"] is None
    exact = tenant.admin.list(limit=105).json()
    assert len(exact["items"]) == 105 and exact["next_cursor"] is None


@pytest.mark.parametrize("bad", ["garbage!", "AAAA", base64.urlsafe_b64encode(b"users:alice").decode(),
                                 base64.urlsafe_b64encode(b"files:xsomething").decode(), "%00", "====", "a"])
def test_bad_cursor_is_400(tenant, bad):
    tenant.admin.put("one", b"1")
    assert_error(tenant.admin.list(cursor=bad), 400, "bad_request")


def unpadded(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("raw", [b"files:d", b"files:f", b"files:x/", b"files:dabc", b"tenants:fa"])
def test_forged_cursor_is_400(tenant, raw):
    tenant.admin.put("b/one", b"1")
    assert_error(tenant.admin.list(cursor=unpadded(raw)), 400, "bad_request")
    assert_error(tenant.admin.list(cursor=unpadded(raw), delimiter="/"), 400, "bad_request")


def test_forged_cursors_that_parse_never_break_the_server(tenant):
    paths = ["a", "b/c", "b/d/e", "d", "é"]
    upload_many(tenant.admin, paths)
    for raw in [b"files:d/", b"files:db/", b"files:f\xff\xff", b"files:fb/", b"files:d\xc3\xa9/",
                b"files:f\x00", b"files:f" + b"z" * 2000, b"files:d" + b"/" * 50]:
        for extra in [{}, {"delimiter": "/"}, {"prefix": "b/"}, {"prefix": "b/", "delimiter": "/"}]:
            r = tenant.admin.list(cursor=unpadded(raw), **extra)
            assert r.status_code in (200, 400), (raw, extra, r.text)
            if r.status_code == 200:
                got = [f["path"] for f in r.json()["items"]]
                assert len(got) == len(set(got)) and set(got) <= set(paths)
    assert tenant.env.server.get("/healthz").status_code == 200
    assert tenant.admin.paths() == bytewise(paths)


@pytest.mark.parametrize("bad", [",", "|", "//", "a", "", "%2F%2F"])
def test_delimiter_other_than_slash_is_400(tenant, bad):
    assert_error(tenant.admin.list(delimiter=bad), 400, "bad_request")


def test_delimiter_slash_percent_encoded_is_slash(tenant):
    tenant.admin.put("a/1", b"1")
    r = tenant.admin.request("GET", f"{API}/files/?delimiter=%2F")
    assert r.status_code == 200 and r.json()["folders"] == ["a/"]


@pytest.fixture(scope="module")
def big_tenant(env):
    """A tenant with 300 files in folders of different depths, an owner who sees all of them and
    a reader who sees every third one (by user grant or tenant grant)."""
    t = env.tenant()
    owner = t.user("editor")
    reader = t.user("editor")
    paths = []
    for i in range(300):
        if i % 10 == 0:
            paths.append(f"top-{i:03d}.txt")
        elif i % 10 < 4:
            paths.append(f"dir{i % 7}/file-{i:03d}")
        elif i % 10 < 7:
            paths.append(f"dir{i % 7}/sub{i % 3}/file-{i:03d}")
        else:
            paths.append(f"deep/{i % 5}/{i % 4}/{i:03d}-é😀")
    files = upload_many(owner, paths, data=lambda p: sha256(p.encode()).encode())
    readable = set()
    for i, f in enumerate(files):
        if i % 3 == 0:
            assert owner.grant(f["id"], "viewer", reader if i % 2 else None).status_code == 200
            readable.add(f["path"])
    return t, owner, reader, bytewise(paths), bytewise(readable)


def expected_delimited(paths, prefix=""):
    items, folders = [], []
    for p in paths:
        if not p.startswith(prefix):
            continue
        rest = p[len(prefix):]
        if "/" in rest:
            folder = prefix + rest.split("/", 1)[0] + "/"
            if folder not in folders:
                folders.append(folder)
        else:
            items.append(p)
    return items, folders


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_pagination_without_delimiter(big_tenant, limit):
    t, owner, reader, all_paths, readable = big_tenant
    assert len(all_paths) == 300
    for user, expected in [(owner, all_paths), (t.admin, all_paths), (reader, readable)]:
        items, folders = user.list_all(limit=limit)
        got = [f["path"] for f in items]
        assert len(got) == len(set(got)), "duplicates"
        assert got == expected
        assert folders == []
        assert len({f["id"] for f in items}) == len(expected)


@pytest.mark.parametrize("limit", [1, 7])
def test_pagination_with_delimiter(big_tenant, limit):
    t, owner, reader, all_paths, readable = big_tenant
    for user, paths in [(owner, all_paths), (reader, readable)]:
        for prefix in ["", "deep/", "deep/1/", "dir3/", "dir3/sub", "top-"]:
            items, folders = user.list_all(limit=limit, delimiter="/", prefix=prefix)
            want_items, want_folders = expected_delimited(paths, prefix)
            assert [f["path"] for f in items] == want_items, (prefix, limit)
            assert folders == want_folders, (prefix, limit)


def test_pagination_with_prefix_and_limit_7(big_tenant):
    t, owner, reader, all_paths, readable = big_tenant
    for prefix in ["dir1/", "deep/2/", "top-", "dir"]:
        assert owner.paths(prefix=prefix, limit=7) == [p for p in all_paths if p.startswith(prefix)]
        assert reader.paths(prefix=prefix, limit=7) == [p for p in readable if p.startswith(prefix)]


def test_cursor_survives_changes_between_pages(tenant):
    paths = [f"p/{i:03d}" for i in range(30)]
    upload_many(tenant.admin, paths)
    first = tenant.admin.list(limit=10).json()
    # The entry the cursor points at goes away, and new files appear before and after it.
    last = first["items"][-1]
    assert tenant.admin.delete(last["id"]).status_code == 204
    tenant.admin.put("p/000a", b"before the cursor")
    tenant.admin.put("p/015a", b"after the cursor")
    rest = [f["path"] for f in tenant.admin.list_all(limit=10, cursor=first["next_cursor"])[0]]
    assert rest == bytewise(paths[10:] + ["p/015a"])


def test_last_page_has_no_cursor_even_when_unreadable_files_follow(tenant):
    owner, reader = tenant.user("editor"), tenant.user("editor")
    files = upload_many(owner, [f"r/{i:02d}" for i in range(20)])
    for f in files[:3]:
        owner.grant(f["id"], "viewer", reader)
    body = reader.list(limit=3).json()
    assert [f["path"] for f in body["items"]] == ["r/00", "r/01", "r/02"]
    assert body["next_cursor"] is None


# -- rename / move ------------------------------------------------------------------------------

def test_rename_moves_metadata_only(tenant):
    editor = tenant.user("editor")
    data = os.urandom(4096)
    f = editor.put("old/place.bin", data, content_type="image/webp")
    r = editor.rename(f["id"], "new/folder/place 2.bin")
    assert r.status_code == 200, r.text
    moved = r.json()
    assert_file_object(moved, path="new/folder/place 2.bin", data=data, content_type="image/webp",
                       owner=editor, role="admin")
    assert moved["id"] == f["id"] and moved["created_at"] == f["created_at"]
    assert moved["sha256"] == f["sha256"] and moved["size"] == f["size"]
    assert editor.get_file(f["id"]).json() == moved
    assert editor.download(f["id"]).content == data
    assert editor.paths() == ["new/folder/place 2.bin"]
    assert editor.list_all(delimiter="/")[1] == ["new/"]
    # The old path is free again.
    again = editor.put("old/place.bin", b"new file")
    assert again["id"] != f["id"] and again["version"] == 1
    assert tenant.assert_usage_exact() == (4096 + 8, 2)
    # Renaming to its own path is a no-op that succeeds.
    assert editor.rename(f["id"], "new/folder/place 2.bin").json()["path"] == "new/folder/place 2.bin"


def test_rename_permissions(tenant):
    owner = tenant.user("editor")
    f = owner.put("perm/doc", b"doc")
    nobody, viewer, editor = tenant.user("editor"), tenant.user("editor"), tenant.user("editor")
    capped = tenant.user("viewer")
    owner.grant(f["id"], "viewer", viewer)
    owner.grant(f["id"], "editor", editor)
    owner.grant(f["id"], "editor", capped)
    assert_error(nobody.rename(f["id"], "perm/by-nobody"), 404, "not_found")
    assert_error(viewer.rename(f["id"], "perm/by-viewer"), 403, "forbidden")
    assert_error(capped.rename(f["id"], "perm/by-capped"), 403, "forbidden")
    r = editor.rename(f["id"], "perm/by-editor")
    assert r.status_code == 200 and r.json()["role"] == "editor" and r.json()["owner_id"] == owner.id
    assert tenant.admin.rename(f["id"], "perm/by-admin").status_code == 200
    assert owner.get_file(f["id"]).json()["path"] == "perm/by-admin"
    assert_error(nobody.rename("no-such-id", "x"), 404, "not_found")


def test_rename_to_an_existing_path_is_409(tenant):
    editor = tenant.user("editor")
    a = editor.put("c/a", b"a")
    b = editor.put("c/b", b"b")
    assert_error(editor.rename(a["id"], "c/b"), 409, "conflict")
    # Also when the existing file is one the caller cannot see.
    hidden = tenant.user("editor").put("c/hidden", b"h")
    assert_error(editor.rename(a["id"], hidden["path"]), 409, "conflict")
    assert editor.get_file(a["id"]).json()["path"] == "c/a"
    assert editor.download(b["id"]).content == b"b"


def test_rename_body_must_be_strict(tenant):
    editor = tenant.user("editor")
    f = editor.put("s/doc", b"x")
    for body in [{"path": 5}, {"path": None}, {}, {"path": "ok", "extra": 1}, [], "s/new"]:
        r = editor.request("PATCH", f"{API}/files/{f['id']}", json=body)
        assert_error(r, 400, "bad_request")
    assert editor.get_file(f["id"]).json()["path"] == "s/doc"


def test_rename_then_listing_order_and_folders(tenant):
    editor = tenant.user("editor")
    files = upload_many(editor, ["m/1", "m/2", "n/1"])
    editor.rename(files[0]["id"], "z/1")
    editor.rename(files[1]["id"], "a/2")
    assert editor.paths() == ["a/2", "n/1", "z/1"]
    assert editor.list_all(delimiter="/")[1] == ["a/", "n/", "z/"]


def test_concurrent_renames_to_one_path(tenant):
    editor = tenant.user("editor")
    files = upload_many(editor, [f"from/{i}" for i in range(8)])
    results = run_parallel(8, lambda i: editor.rename(files[i]["id"], "to/the-one"))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 7, codes
    winner = next(i for i, r in enumerate(results) if r.status_code == 200)
    assert editor.paths(prefix="to/") == ["to/the-one"]
    assert editor.download(files[winner]["id"]).content == f"from/{winner}".encode()
    assert len(editor.paths()) == 8


def test_rename_racing_an_upload_to_the_same_path(tenant):
    editor = tenant.user("editor")
    f = editor.put("race/src", b"renamed")

    def work(i):
        if i == 0:
            return editor.rename(f["id"], "race/dst")
        return editor.upload("race/dst", b"uploaded")

    results = run_parallel(2, work)
    codes = sorted(r.status_code for r in results)
    assert codes in ([200, 409], [201, 409]), codes
    assert editor.paths(prefix="race/dst") == ["race/dst"]
    tenant.assert_usage_exact()
