"""Read and write idx files, the format MNIST ships in.

An idx file is a header and a body:

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64 (all multi-byte types big-endian)
    byte  3     ndim, the number of dimensions
    then        ndim sizes, each a big-endian uint32
    then        the elements, C order, prod(sizes) * itemsize bytes

The reader trusts nothing in the header: it checks the magic, the type and
ndim, then compares the body length the sizes imply (computed with Python
ints, which cannot overflow) with the bytes actually there, before it makes
any array. A header claiming 2**31 x 2**31 elements fails at once instead of
asking NumPy for exabytes. Gzip-compressed files (``.gz``, recognised by
their first bytes) are decompressed on the fly, reading no more than the
header promises.
"""
import gzip
import io
import math
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

# Type code -> dtype, big-endian as the format stores it.
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# NumPy's own limit is 32 (64 since 2.0); more than that is a corrupt header.
MAX_NDIM = 32
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


class IdxError(ValueError):
    """An idx file is malformed: wrong magic, unknown type, or sizes that disagree."""


def _fail(name, problem):
    raise IdxError(f"{name}: {problem}")


def _read_header(stream, name):
    """Read and check the header; return (dtype, shape, body_bytes) without reading the body."""
    head = stream.read(4)
    if len(head) < 4:
        _fail(name, f"file has {len(head)} bytes, too short for an idx header (needs at least 4)")
    if head[0] != 0 or head[1] != 0:
        _fail(name, f"magic number starts with bytes {head[0]:#04x} {head[1]:#04x}, expected 0x00 0x00; "
                    "this is not an idx file")
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        valid = ", ".join(f"{c:#04x}" for c in IDX_DTYPES)
        _fail(name, f"unknown element type code {code:#04x}; valid codes are {valid}")
    if not 1 <= ndim <= MAX_NDIM:
        _fail(name, f"header says ndim={ndim}; an idx file needs 1 to {MAX_NDIM} dimensions")
    raw_sizes = stream.read(4 * ndim)
    if len(raw_sizes) < 4 * ndim:
        _fail(name, f"header is truncated: ndim={ndim} needs {4 * ndim} bytes of sizes, "
                    f"found {len(raw_sizes)}")
    shape = tuple(int.from_bytes(raw_sizes[4 * i:4 * i + 4], "big") for i in range(ndim))
    dtype = IDX_DTYPES[code]
    # Python ints: exact however large the header's claim.
    body_bytes = dtype.itemsize * math.prod(shape)
    # NumPy refuses a shape whose nonzero sizes multiply past its index range,
    # even when another size is 0 and the array would be empty.
    if dtype.itemsize * math.prod(s for s in shape if s) > np.iinfo(np.intp).max:
        _fail(name, f"header sizes {shape} describe more elements than NumPy can index")
    return dtype, shape, body_bytes


def _length_error(name, shape, body_bytes, found):
    _fail(name, f"header sizes {shape} imply a body of {body_bytes} bytes, but the file holds "
                f"{found}; the file is truncated or corrupt")


def _to_array(body, dtype, shape, offset=0):
    """View ``body`` (past ``offset``) as the array; big-endian types become native copies."""
    array = np.frombuffer(body, dtype=dtype, count=math.prod(shape), offset=offset).reshape(shape)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
    return array


def _parse_stream(stream, name):
    """Parse an idx stream of unknown length, reading at most one byte past the promised body."""
    dtype, shape, body_bytes = _read_header(stream, name)
    # Grow in chunks rather than allocating the header's claim up front: the
    # claim is only trusted once the stream has really delivered that much.
    body = bytearray()
    while len(body) <= body_bytes:
        chunk = stream.read(min(_CHUNK, body_bytes + 1 - len(body)))
        if not chunk:
            break
        body += chunk
    if len(body) != body_bytes:
        found = f"at least {len(body)}" if len(body) > body_bytes else str(len(body))
        _length_error(name, shape, body_bytes, found)
    # frombuffer on our own bytearray: no copy, and the result is writable.
    return _to_array(body, dtype, shape)


def _parse_file(file, name):
    """Parse a plain idx file, checking its size on disk before reading the body."""
    dtype, shape, body_bytes = _read_header(file, name)
    found = os.fstat(file.fileno()).st_size - file.tell()
    if found != body_bytes:
        _length_error(name, shape, body_bytes, found)
    body = bytearray(body_bytes)
    if file.readinto(body) != body_bytes:
        _fail(name, "file shrank while being read")
    return _to_array(body, dtype, shape)


def _parse_bytes(view, name):
    """Parse plain idx bytes; the result is a copy, never a view of the caller's buffer."""
    dtype, shape, body_bytes = _read_header(io.BytesIO(view[:4 + 4 * MAX_NDIM]), name)
    header_bytes = 4 + 4 * len(shape)
    if len(view) - header_bytes != body_bytes:
        _length_error(name, shape, body_bytes, len(view) - header_bytes)
    array = _to_array(view, dtype, shape, offset=header_bytes)
    return array if array.base is None else array.copy()


def _parse_gzip(fileobj, name):
    try:
        with gzip.GzipFile(fileobj=fileobj, mode="rb") as stream:
            return _parse_stream(stream, name)
    except (OSError, EOFError, zlib.error) as err:
        # BadGzipFile is an OSError; a cut-off stream is an EOFError.
        raise IdxError(f"{name}: cannot decompress gzip data ({err}); the file is corrupt or truncated") from err


def read_idx(source, name=None):
    """Read an idx file into a NumPy array.

    Parameters
    ----------
    source : str, os.PathLike, bytes-like, or binary file object
        The idx data, plain or gzip-compressed (a file object must hold plain
        idx data; wrap a compressed one in ``gzip.open``).
    name : str, optional
        What to call the data in error messages; defaults to the path, or
        ``"<idx data>"``.

    Returns
    -------
    array : np.ndarray, shape given by the header, e.g. (N, 28, 28) for
        MNIST images and (N,) for labels; dtype from the type code, in
        native byte order. The array owns its memory and is writable.

    Raises
    ------
    IdxError
        If the header is malformed or disagrees with the body length.
    """
    if isinstance(source, (str, os.PathLike)):
        name = name or os.fspath(source)
        with open(source, "rb") as file:
            is_gzip = file.read(2) == GZIP_MAGIC
            file.seek(0)
            return _parse_gzip(file, name) if is_gzip else _parse_file(file, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = name or "<idx data>"
        view = memoryview(source).cast("B")
        if view[:2] == GZIP_MAGIC:
            return _parse_gzip(io.BytesIO(view), name)
        return _parse_bytes(view, name)
    if hasattr(source, "read"):
        name = name or getattr(source, "name", None) or "<idx stream>"
        return _parse_stream(source, str(name))
    raise TypeError(f"read_idx takes a path, bytes or a binary file object, got {type(source).__name__}")


def _idx_code(dtype):
    for code, idx_dtype in IDX_DTYPES.items():
        if dtype.newbyteorder("=") == idx_dtype.newbyteorder("="):
            return code, idx_dtype
    valid = ", ".join(str(d.newbyteorder("=")) for d in IDX_DTYPES.values())
    raise ValueError(f"idx cannot store dtype {dtype}; cast to one of {valid} first")


def write_idx(path, array):
    """Write ``array`` as an idx file at ``path``, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; a name ending in ``.gz`` is written gzip-compressed
        (with a zero timestamp, so equal arrays give equal bytes).
    array : array_like, 1 to 32 dimensions, each below 2**32, dtype one of
        uint8, int8, int16, int32, float32, float64.

    The bytes go to a temporary file in the same directory, which then
    replaces ``path`` in one step: a reader never sees half a file.
    """
    array = np.asarray(array)
    code, idx_dtype = _idx_code(array.dtype)
    if not 1 <= array.ndim <= MAX_NDIM:
        raise ValueError(f"idx needs 1 to {MAX_NDIM} dimensions, array has shape {array.shape}")
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"idx sizes are uint32, array has shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(s.to_bytes(4, "big") for s in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=idx_dtype).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(payload)
        os.chmod(tmp, 0o644)  # mkstemp made it private; a data file is not a secret
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
