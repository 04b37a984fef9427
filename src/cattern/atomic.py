"""Atomic writes: a reader sees the old file (or run) or the new one, never half of one.

The bytes go to a temporary file in the destination's directory (so the final
rename stays on one file system), which then replaces the destination in one
``os.replace``. If anything fails on the way, the temporary file is removed
and the destination is left as it was.
"""
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file for writing; on a clean exit it replaces ``path``.

    ``mode`` is "wb" or "w" (text, UTF-8). Yields the open file object.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w'; got {mode!r}")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the directory {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)  # mkstemp made it private; results and models are not secrets
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path, obj):
    """Write ``obj`` as indented JSON to ``path``, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    with atomic_write(path, "w") as file:
        file.write(text)


def check_out_folder(out, option="--out"):
    """Refuse, before any work, an output folder that :func:`run_folder` could
    not fill, so a long run is not lost at its end: ``out`` must be a folder,
    or a path where one can be made (its nearest existing parent a folder this
    user can write in). Raises ValueError naming ``option``.
    """
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} {out} is a file, not a folder: give a folder (it is made if missing)")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {out}: {parent} is a file, so no folder can be made there")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {out}: this user cannot write in {parent}; give a folder you can write in")
    # Permission bits do not tell all (a read-only mount, /proc, and root, whom
    # os.access always lets in), so make and remove the kind of folder run_folder makes.
    try:
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=".cattern-check-"))
    except OSError as err:
        raise ValueError(f"{option} {out}: no folder can be made in {parent} ({err.strerror}); "
                         "give a folder you can write in") from None


@contextlib.contextmanager
def run_folder(out, owned, record):
    """Write a run's files into a fresh folder, then move them into ``out`` together.

    Yields the temporary folder (beside ``out``, so the moves stay on one
    file system) to write into; ``out`` itself is made only when the run is
    done. On a clean exit, ``record`` (the file that
    says a run is complete, its summary) is removed from ``out`` first, then
    every other name in ``owned`` that this run did not write (it would
    describe an earlier run), then the new files are moved in, ``record``
    last. So ``out`` never holds a record beside another run's files: at
    worst, after a crash mid-move, it holds no record. On an error, ``out``
    keeps what it had and the temporary folder is removed.

    - out: the output folder (created at the end if missing)
    - owned: every file name a run of this kind writes into ``out``
    - record: the name of the summary file among them
    """
    out = Path(out)
    out.absolute().parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.absolute().parent, prefix=f".{out.absolute().name}-"))
    try:
        yield tmp
        out.mkdir(exist_ok=True)
        written = {path.name for path in tmp.iterdir()}
        for name in [record] + sorted(set(owned) - written - {record}):
            with contextlib.suppress(FileNotFoundError):
                (out / name).unlink()
        for name in sorted(written - {record}) + sorted(written & {record}):
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
