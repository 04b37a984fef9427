"""The per-user data cache: where it is, who may write it, and what in it can be trusted.

Where: ``$CATTERN_DATA_DIR/mnist`` when that variable is set, else
``platformdirs.user_cache_dir("cattern")/mnist``.

What it stores: each file as its source served it, ``name.gz`` from a
mirror, plain ``name`` from the npm package. Either form is verified by the
SHA-256 of its DECOMPRESSED content every time it is read, so one hash
serves every mirror and package whatever gzip settings they used.

How it stays whole: a download goes to a temporary ``.<name>.<random>.part``
file in the cache and is renamed into place only once verified
(:func:`install`), so the cache never holds a partial or unverified file
under a real name. A file lock (:func:`locked`) keeps two processes from
fetching into one cache at once; under it, :func:`check` deletes what a
dead process left half-written and any cached copy that fails its hash.
"""
import contextlib
import gzip
import hashlib
import os
import tempfile
import time
import zlib
from pathlib import Path

import platformdirs
from filelock import FileLock, Timeout

LOCK_NAME = ".lock"


class ChecksumError(ValueError):
    """A file's decompressed content does not have the expected SHA-256."""


class CacheLockedError(TimeoutError):
    """Another process held the cache's lock for longer than we were willing to wait."""


def default_cache_dir():
    """The MNIST cache: ``$CATTERN_DATA_DIR/mnist``, else the per-user cache dir + ``/mnist``."""
    root = os.environ.get("CATTERN_DATA_DIR") or platformdirs.user_cache_dir("cattern")
    return Path(root) / "mnist"


def candidates(directory, name):
    """Paths where ``directory`` could hold file ``name``: compressed first, then plain."""
    directory = Path(directory)
    return [path for path in (directory / f"{name}.gz", directory / name) if path.is_file()]


def read_verified(path, sha256):
    """Read ``path`` (plain or gzip), check the SHA-256 of its decompressed bytes, return them.

    Raises ChecksumError naming the file, the expected and the seen hash, if
    the content differs or a gzip stream is cut off or corrupt.
    """
    path = Path(path)
    with open(path, "rb") as file:
        data = file.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise ChecksumError(f"{path}: cannot decompress ({err}); the file is truncated or corrupt") from err
    seen = hashlib.sha256(data).hexdigest()
    if seen != sha256:
        raise ChecksumError(f"{path}: SHA-256 of the decompressed content is {seen}, expected {sha256}; "
                            "the file is truncated, corrupt, or a different data set")
    return data


@contextlib.contextmanager
def temp_file(cache, name):
    """Yield the path of a fresh temporary file in ``cache`` for ``name``; delete it on the way out.

    Once :func:`install` has renamed it into place there is nothing left to delete.
    """
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    try:
        yield tmp
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def install(tmp, dest, sha256):
    """Verify the temporary file ``tmp``, then move it to ``dest`` in one step; return ``dest``.

    Raises ChecksumError, leaving ``dest`` untouched, if ``tmp`` fails its hash.
    """
    read_verified(tmp, sha256)
    os.chmod(tmp, 0o644)  # mkstemp made it private; a cached data file is not a secret
    os.replace(tmp, dest)
    return Path(dest)


def check(cache, files, log):
    """Split ``files`` {name: sha256} into verified cached paths {name: Path} and the missing rest.

    Call it holding the lock: it deletes every ``.part`` file (under the
    lock, any left is from a process that died mid-download) and every
    cached copy that fails its hash, logging why.
    """
    for stale in Path(cache).glob(".*.part"):
        stale.unlink()
    paths, missing = {}, {}
    for name, sha256 in files.items():
        for path in candidates(cache, name):
            try:
                read_verified(path, sha256)
            except ChecksumError as err:
                log(f"removing a bad cached file: {err}")
                path.unlink()
                continue
            paths[name] = path
            break
        else:
            missing[name] = sha256
    return paths, missing


@contextlib.contextmanager
def locked(cache, timeout, log):
    """Hold the lock of ``cache`` (created if missing) for the ``with`` block.

    Logs a line if another process holds it, then waits; raises
    CacheLockedError if that process keeps it more than ``timeout`` seconds.
    """
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    lock = FileLock(cache / LOCK_NAME)
    start = time.monotonic()
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log(f"waiting up to {timeout:g} s for another process fetching into {cache}")
            lock.acquire(timeout=timeout)
    except Timeout as err:
        raise CacheLockedError(
            f"the data cache {cache} is locked: another process fetching into it has held "
            f"{lock.lock_file} for the {time.monotonic() - start:.1f} s this one waited "
            f"(lock_timeout={timeout:g}). Wait for that process to finish, then try again; "
            f"if no process is fetching (one was killed), delete {lock.lock_file} and try again."
        ) from err
    try:
        yield
    finally:
        lock.release()
