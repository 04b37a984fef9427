"""The idx reader and writer: exact bytes, every type, and hostile headers.

The property tests feed random and mutated files to the reader: it must
parse them or raise IdxError, never an IndexError, a reshape error, or a
MemoryError from trusting a header's sizes.
"""
import gzip
import io
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cattern.data.idx import IDX_DTYPES, IdxError, read_idx, write_idx

NATIVE_DTYPES = [dtype.newbyteorder("=") for dtype in IDX_DTYPES.values()]


def header(code, sizes):
    return bytes([0, 0, code, len(sizes)]) + b"".join(s.to_bytes(4, "big") for s in sizes)


def test_reads_a_hand_made_file():
    # int16, shape (2, 3), big-endian: 0x0102 = 258 and 0xFFFF = -1.
    data = header(0x0B, [2, 3]) + bytes([0, 1, 1, 2, 0, 3, 255, 255, 0, 5, 0, 6])
    array = read_idx(data)
    assert array.dtype == np.int16 and array.dtype.isnative
    np.testing.assert_array_equal(array, [[1, 258, 3], [-1, 5, 6]])


@pytest.mark.parametrize("dtype", NATIVE_DTYPES, ids=str)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_then_read_round_trips_from_path_bytes_and_file(dtype, suffix, tmp_path):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    data = path.read_bytes()
    plain = gzip.decompress(data) if suffix else data
    for source in (path, str(path), data, bytearray(data), memoryview(data), io.BytesIO(plain)):
        result = read_idx(source)
        assert result.dtype == dtype and result.flags.writeable
        np.testing.assert_array_equal(result, array)
    assert list(tmp_path.iterdir()) == [path]  # the writer's temporary is gone


def test_result_does_not_alias_the_callers_buffer():
    data = bytearray(header(0x08, [3]) + bytes([1, 2, 3]))
    array = read_idx(data)
    array[0] = 99
    assert data[-3] == 1


def test_write_replaces_an_existing_file(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.zeros(5, np.uint8))
    write_idx(path, np.ones(2, np.float64))
    np.testing.assert_array_equal(read_idx(path), [1.0, 1.0])


@pytest.mark.parametrize("data, problem", [
    (b"", "too short"),
    (b"\x00\x00\x08", "too short"),
    (b"\x01\x00\x08\x01" + bytes(4), "magic"),
    (b"\x00\x00\x07\x01" + bytes(4), "unknown element type code 0x07"),
    (b"\x00\x00\x08\x00", "ndim=0"),
    (b"\x00\x00\x08\xff" + bytes(64), "ndim=255"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated"),
    (header(0x08, [2, 2]) + bytes(3), "imply a body of 4 bytes, but the file holds 3"),
    (header(0x08, [2, 2]) + bytes(5), "imply a body of 4 bytes, but the file holds 5"),
    (header(0x0C, [3]) + bytes(11), "12 bytes"),
    (gzip.compress(header(0x08, [4]) + bytes(4))[:-6], "gzip"),
])
def test_malformed_files_raise_idx_error_naming_the_problem(data, problem, tmp_path):
    with pytest.raises(IdxError, match=problem):
        read_idx(data, name="broken.idx")
    path = tmp_path / "broken-idx"
    path.write_bytes(data)
    with pytest.raises(IdxError, match=f"broken-idx: .*{problem}"):
        read_idx(path)


@pytest.mark.parametrize("sizes", [[2**31, 2**31], [2**32 - 1] * 4, [0] + [2**32 - 1] * 3])
def test_an_absurd_header_fails_fast_without_allocating(sizes, tmp_path):
    # 2**62 bytes claimed by a 16-byte file: the check is arithmetic, not an allocation.
    data = header(0x08, sizes) + bytes(16)
    path = tmp_path / "huge-idx"
    path.write_bytes(data)
    stream = gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data)))
    start = time.monotonic()
    for source in (data, path, stream, gzip.compress(data)):
        with pytest.raises(IdxError):
            read_idx(source)
    assert time.monotonic() - start < 1


def test_writer_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "x", np.uint8(3))
    assert list(tmp_path.iterdir()) == []


def test_read_idx_rejects_other_argument_types():
    with pytest.raises(TypeError, match="int"):
        read_idx(3)


fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(st.binary(max_size=64))
def test_random_bytes_parse_or_raise_idx_error(data):
    try:
        read_idx(data)
    except IdxError:
        pass


@fast
@given(code=st.sampled_from(sorted(IDX_DTYPES) + [0x00, 0x0A, 0xFF]),
       sizes=st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=6),
       body=st.binary(max_size=64))
def test_random_headers_with_any_sizes_parse_or_raise_idx_error(code, sizes, body):
    data = header(code, sizes) + body
    try:
        array = read_idx(data)
    except IdxError:
        return
    assert array.shape == tuple(sizes)
    assert array.nbytes == len(body)


@st.composite
def idx_files(draw):
    """A valid idx file's bytes, from a random array of a supported type."""
    dtype = draw(st.sampled_from(NATIVE_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    array = draw(hnp.arrays(dtype, shape))
    return header(next(c for c, d in IDX_DTYPES.items() if d.newbyteorder("=") == dtype), list(shape)) + \
        array.astype(dtype.newbyteorder(">")).tobytes(), array


@fast
@given(idx_files())
def test_valid_files_round_trip(file_and_array):
    data, array = file_and_array
    np.testing.assert_array_equal(read_idx(data), array)


@fast
@given(idx_files(), st.data())
def test_mutated_files_parse_or_raise_idx_error(file_and_array, draw):
    data = bytearray(file_and_array[0])
    mutation = draw.draw(st.sampled_from(["flip", "cut", "extend", "gzip-cut"]))
    if mutation == "flip":
        position = draw.draw(st.integers(0, len(data) - 1))
        data[position] ^= draw.draw(st.integers(1, 255))
    elif mutation == "cut":
        data = data[:draw.draw(st.integers(0, len(data) - 1))]
    elif mutation == "extend":
        data += draw.draw(st.binary(min_size=1, max_size=16))
    else:
        compressed = gzip.compress(bytes(data))
        data = compressed[:draw.draw(st.integers(0, len(compressed) - 1))]
    try:
        read_idx(bytes(data))
    except IdxError:
        pass
