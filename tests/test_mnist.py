"""read_data_sets: where the files come from, what is printed, the split, shapes, memory.

Synthetic files in MNIST's names (with verify=False) test the logic fast;
tests marked ``mnist`` read the real files in ../shared/datasets/mnist, and
serve them from a local HTTP server to test the download path end to end.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cattern.data import ChecksumError, IdxError, MNIST_FILES, MNISTNotFoundError, read_data_sets, write_idx
from cattern.data.mnist import scale_pixels
from http_server import Route, file_server, offline_env  # noqa: F401 (offline_env: a fixture)
from mnist_data import load_mnist

# offline_env: the default cache and mirror list point at nothing, in case a default slips through.
pytestmark = pytest.mark.usefixtures("offline_env")
REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO.parent / "shared/datasets/mnist"
NAMES = list(MNIST_FILES)  # train images, train labels, test images, test labels
OFFLINE = dict(mirrors=(), npm=False)

have_mnist = pytest.mark.skipif(not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists(),
                                reason=f"no MNIST in {MNIST_DIR}")


@pytest.fixture
def fake_mnist(tmp_path):
    """A directory with MNIST's four names holding tiny arrays: 10 training and 4 test 4x4 images.

    Training images are gzip files, test files plain, to exercise both forms.
    """
    rng = np.random.default_rng(1)
    arrays = [rng.integers(0, 256, (10, 4, 4), dtype=np.uint8), np.arange(10, dtype=np.uint8),
              rng.integers(0, 256, (4, 4, 4), dtype=np.uint8), np.array([7, 2, 1, 0], dtype=np.uint8)]
    directory = tmp_path / "fake"
    directory.mkdir()
    for name, array, suffix in zip(NAMES, arrays, [".gz", ".gz", "", ""]):
        write_idx(directory / f"{name}{suffix}", array)
    return directory, arrays


def test_split_scaling_shapes_and_the_seeds_printout(fake_mnist, capsys):
    directory, (train_x, train_y, test_x, test_y) = fake_mnist
    X_train, y_train, X_val, y_val, X_test, y_test = load_mnist.read_data_sets(
        str(directory), validation_size=3, verify=False, **OFFLINE)
    assert capsys.readouterr().out.splitlines() == [
        f"Extracting {os.path.join(str(directory), name)}.gz" for name in NAMES]
    assert X_train.shape == (7, 4, 4, 1) and X_val.shape == (3, 4, 4, 1) and X_test.shape == (4, 4, 4, 1)
    assert X_train.dtype == X_val.dtype == X_test.dtype == np.float32
    assert y_train.dtype == y_val.dtype == y_test.dtype == np.int64
    # Validation is the FIRST images; the seed's front gives the pixels 0..255 as they are.
    assert_same_bits(X_val[..., 0], train_x[:3].astype(np.float32))
    assert_same_bits(X_train[..., 0], train_x[3:].astype(np.float32))
    # cattern's own loader says its scale; 1 is x / 255 in float32, bit for bit.
    X_unit = read_data_sets(str(directory), validation_size=3, verify=False, verbose=False, pixel_scale=1.0,
                            **OFFLINE)[0]
    assert_same_bits(X_unit[..., 0], train_x[3:].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y_val, [0, 1, 2])
    np.testing.assert_array_equal(y_train, np.arange(3, 10))
    np.testing.assert_array_equal(y_test, test_y)


def assert_same_bits(a, b):
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_scale_pixels_1_is_the_seeds_division_bit_for_bit_and_255_gives_the_integers():
    every = np.arange(256, dtype=np.uint8).reshape(16, 16)  # every value a pixel can take
    # The formula before pixel_scale existed, which the seed's numbers were made with.
    assert_same_bits(scale_pixels(every, 1.0), every.astype(np.float32) / np.float32(255))
    assert_same_bits(scale_pixels(every, 1), every.astype(np.float32) / np.float32(255))
    assert_same_bits(scale_pixels(every, 255.0), every.astype(np.float32))
    assert_same_bits(scale_pixels(every, 2.0), every.astype(np.float32) * np.float32(2) / np.float32(255))
    assert every.dtype == np.uint8  # the input is left alone


def test_pixel_scale_255_loads_the_raw_values_as_float32(fake_mnist):
    directory, (train_x, _, test_x, _) = fake_mnist
    X_train, _, X_val, _, X_test, _ = read_data_sets(directory, validation_size=2, verbose=False,
                                                     verify=False, pixel_scale=255.0, **OFFLINE)
    assert_same_bits(X_val[..., 0], train_x[:2].astype(np.float32))
    assert_same_bits(X_train[..., 0], train_x[2:].astype(np.float32))
    assert_same_bits(X_test[..., 0], test_x.astype(np.float32))


@pytest.mark.parametrize("scale", [0, -1.0, float("nan"), float("inf"), "255", True, None])
def test_a_bad_pixel_scale_is_refused_before_any_work(scale, tmp_path):
    # An empty train_dir and no sources: a pixel_scale checked late would fail on the missing files instead.
    with pytest.raises(ValueError, match="pixel_scale must be a finite number > 0.*got"):
        read_data_sets(tmp_path, verbose=False, pixel_scale=scale, **OFFLINE)


@pytest.mark.parametrize("scale", [1e-300, 1e-37, 1e37, 1e300])
def test_a_pixel_scale_that_makes_pixels_0_or_infinite_in_float32_is_refused(scale, tmp_path):
    # Before, 1e-300 trained a net on all-zero inputs and 1e37 failed on "infinite values" in the data.
    with pytest.raises(ValueError, match=r"pixel_scale must be between 3e-36 and 1.3e\+36.*got"):
        read_data_sets(tmp_path, verbose=False, pixel_scale=scale, **OFFLINE)


def test_the_pixel_scales_at_the_range_edges_give_normal_float32_pixels():
    from cattern.data.mnist import PIXEL_SCALE_RANGE

    every = np.arange(256, dtype=np.uint8)
    for scale in PIXEL_SCALE_RANGE:
        pixels = scale_pixels(every, scale)
        assert np.isfinite(pixels).all() and (pixels[1:] >= np.finfo(np.float32).tiny).all(), scale


def test_raw_with_a_pixel_scale_is_refused_and_scale_pixels_wants_uint8(fake_mnist):
    with pytest.raises(ValueError, match="raw=True.*pixel_scale=255.0"):
        read_data_sets(fake_mnist[0], raw=True, pixel_scale=255.0, verbose=False, verify=False, **OFFLINE)
    with pytest.raises(TypeError, match="uint8.*float64"):
        scale_pixels(np.zeros(3), 1.0)


def test_raw_images_are_uint8_and_quiet_means_silent(fake_mnist, capsys):
    directory, (train_x, _, test_x, _) = fake_mnist
    X_train, _, X_val, _, X_test, _ = read_data_sets(directory, validation_size=0, raw=True,
                                                     verbose=False, verify=False, **OFFLINE)
    assert capsys.readouterr().out == ""
    assert X_train.dtype == np.uint8 and X_val.shape == (0, 4, 4, 1)
    np.testing.assert_array_equal(X_train[..., 0], train_x)
    np.testing.assert_array_equal(X_test[..., 0], test_x)


@pytest.mark.parametrize("size", [-1, 11, 2.5])
def test_a_bad_validation_size_is_refused(size, fake_mnist):
    with pytest.raises(ValueError, match="--validation-size on the command line, validation_size= in Python"):
        read_data_sets(fake_mnist[0], validation_size=size, verbose=False, verify=False, **OFFLINE)


def test_a_users_file_with_the_wrong_hash_is_named_and_left_alone(fake_mnist, tmp_path):
    directory, _ = fake_mnist
    before = (directory / f"{NAMES[0]}.gz").read_bytes()
    with pytest.raises(ChecksumError, match=f"{NAMES[0]}.gz") as info:
        read_data_sets(directory, verbose=False, **OFFLINE)
    # Both spellings of each fix: the command line's option and the Python argument.
    assert "(--data-dir on the command line, train_dir= in Python)" in str(info.value)
    assert "(--no-verify; verify=False in Python)" in str(info.value)
    assert (directory / f"{NAMES[0]}.gz").read_bytes() == before


def test_image_and_label_counts_must_agree(fake_mnist):
    directory, _ = fake_mnist
    write_idx(directory / NAMES[3], np.zeros(5, np.uint8))  # 5 labels for 4 test images
    with pytest.raises(IdxError, match=f"{NAMES[2]} holds 4 images but .*{NAMES[3]} holds 5"):
        read_data_sets(directory, verbose=False, verify=False, **OFFLINE)


def test_nothing_anywhere_raises_not_found_and_creates_no_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MNISTNotFoundError) as info:
        read_data_sets("mnist_data", verbose=False, **OFFLINE)
    assert not (tmp_path / "mnist_data").exists()
    assert str(tmp_path / "default-data" / "mnist" / f"{NAMES[0]}.gz") in str(info.value)
    assert "(--data-dir on the command line, train_dir= in Python)" in str(info.value)


@pytest.mark.mnist
@have_mnist
def test_real_mnist_shapes_values_and_fingerprint():
    X_train, y_train, X_val, y_val, X_test, y_test = read_data_sets(MNIST_DIR, verbose=False, **OFFLINE)
    assert X_train.shape == (55000, 28, 28, 1) and X_val.shape == (5000, 28, 28, 1)
    assert X_test.shape == (10000, 28, 28, 1)
    assert y_train.shape == (55000,) and y_val.shape == (5000,) and y_test.shape == (10000,)
    for X in (X_train, X_val, X_test):
        assert X.dtype == np.float32 and X.min() == 0.0 and X.max() == 1.0
    # The README's fingerprint; validation is the first 5000 training images.
    np.testing.assert_array_equal(y_val[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(y_test[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    all_train = np.concatenate([y_val, y_train])
    np.testing.assert_array_equal(np.bincount(all_train),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    # Sums in float64, a few thousand images at a time, to keep this test's own memory small.
    n = total = squares = 0
    for X in (X_val, X_train):
        for rows in np.array_split(X.reshape(len(X), -1), 20):
            rows = rows.astype(np.float64)
            n, total, squares = n + rows.size, total + rows.sum(), squares + np.vdot(rows, rows)
    mean = total / n
    assert mean == pytest.approx(0.1307, abs=1e-4)
    assert np.sqrt(squares / n - mean**2) == pytest.approx(0.3081, abs=1e-4)


@pytest.mark.mnist
@have_mnist
def test_seed_call_downloads_into_the_cache_not_the_working_dir(tmp_path, monkeypatch, capsys):
    routes = {f"/{name}.gz": Route((MNIST_DIR / f"{name}.gz").read_bytes()) for name in NAMES}
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "default-data" / "mnist"
    with file_server(routes) as server:
        monkeypatch.setenv("CATTERN_MNIST_MIRRORS", server.url)
        # The seed's own call, with the mirror list from the environment.
        X_train, y_train, *_ = load_mnist.read_data_sets("mnist_data", npm=False)
        printed = capsys.readouterr().out.splitlines()
        assert printed == [f"Extracting mnist_data/{name}.gz" for name in NAMES]
        assert not (tmp_path / "mnist_data").exists()
        assert sorted(p.name for p in cache.glob("*.gz")) == sorted(f"{name}.gz" for name in NAMES)
        # A damaged cached file is noticed on the next load and fetched again, alone.
        labels = cache / f"{NAMES[1]}.gz"
        labels.write_bytes(labels.read_bytes()[:1000])
        _, y_again, *_ = load_mnist.read_data_sets("mnist_data", verbose=False, npm=False)
    np.testing.assert_array_equal(y_again, y_train)
    assert server.hits[f"/{NAMES[1]}.gz"] == 2 and server.hits[f"/{NAMES[0]}.gz"] == 1


@pytest.mark.mnist
@have_mnist
def test_loading_the_full_split_stays_under_400_mb():
    # The peak is read from /proc's VmHWM where there is one: Linux carries
    # ru_maxrss across exec, so a child of a big pytest process would report
    # its parent's peak.
    code = textwrap.dedent(f"""
        import resource
        from pathlib import Path
        from mnist_data import load_mnist
        load_mnist.read_data_sets({str(MNIST_DIR)!r}, verbose=False, mirrors=(), npm=False)
        status = Path("/proc/self/status")
        hwm = [line.split()[1] for line in status.read_text().splitlines()
               if line.startswith("VmHWM")] if status.exists() else []
        print(hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1]) / 1024  # VmHWM and ru_maxrss are in KiB on Linux
    assert peak_mb < 400, f"peak resident memory {peak_mb:.0f} MB"
