"""cattern.data.splits: the one place data is loaded, split and preprocessed."""
import numpy as np
import pytest

from cattern.data.splits import Preprocessing, TestSet, load_raw, prepare, to_rows
from synthetic_data import N_VAL, raw, write_mnist_dir


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return raw(write_mnist_dir(tmp_path_factory.mktemp("data") / "mnist"))


def test_the_first_images_validate_and_the_test_set_is_apart(data):
    assert data.X_train.dtype == np.uint8 and data.X_train.shape == (300, 8, 8, 1)
    assert data.X_val.shape == (N_VAL, 8, 8, 1) and data.X_test.shape == (120, 8, 8, 1)
    assert data.y_train.dtype == np.int64


@pytest.mark.parametrize("pixel_scale", [1.0, 255.0])
def test_prepare_scales_then_subtracts_the_training_mean(data, pixel_scale):
    split = prepare(data, pixel_scale)
    rows = data.X_train.reshape(300, -1).astype(np.float64) / 255 * pixel_scale
    np.testing.assert_allclose(split.preprocessing.mean_image, rows.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(split.X_train, rows - split.preprocessing.mean_image, atol=1e-6 * pixel_scale)
    val = data.X_val.reshape(N_VAL, -1) / 255 * pixel_scale - split.preprocessing.mean_image
    np.testing.assert_allclose(split.X_val, val, atol=1e-6 * pixel_scale)
    assert split.X_train.dtype == np.float32 and split.preprocessing.pixel_scale == pixel_scale
    assert split.fingerprint.endswith(f"pixel_scale={pixel_scale:g}")


def test_the_scale_1_rows_are_bit_for_bit_the_old_loader_s(data):
    # Before pixel_scale, the loader gave uint8 / float32(255) and the mean was
    # taken in float64 and stored as float32; the presets' figures depend on it.
    old = data.X_train.reshape(300, -1).astype(np.float32) / np.float32(255)
    old_mean = old.mean(axis=0, dtype=np.float64).astype(np.float32)
    split = prepare(data, 1.0)
    np.testing.assert_array_equal(split.preprocessing.mean_image, old_mean)
    np.testing.assert_array_equal(split.X_train, old - old_mean)


def test_uint8_and_unit_floats_give_the_same_rows_and_other_scales_are_refused():
    images = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)
    prep = Preprocessing(255.0, np.zeros(64, np.float32))
    np.testing.assert_array_equal(prep.transform(images), images.reshape(4, 64))
    np.testing.assert_allclose(prep.transform(images / 255.0), images.reshape(4, 64), rtol=1e-6)
    with pytest.raises(ValueError, match=r"uint8 0..255 or floats in \[0, 1\]; got float64 values in \[0, 255\]"):
        prep.transform(images.astype(np.float64))
    with pytest.raises(ValueError, match="got float64 values in"):
        prep.transform(np.full((1, 64), np.nan))
    with pytest.raises(ValueError, match="each image has 63 pixels but the model takes 64"):
        prep.transform(np.zeros((2, 63), np.uint8))
    with pytest.raises(ValueError, match="N >= 1 images"):
        to_rows(np.zeros((0, 64), np.uint8), 1.0)


def test_the_fingerprint_follows_the_training_and_validation_data(tmp_path, data):
    other = raw(write_mnist_dir(tmp_path / "other", seed=1))
    assert other.fingerprint != data.fingerprint
    again = raw(write_mnist_dir(tmp_path / "again"))
    assert again.fingerprint == data.fingerprint
    fewer = load_raw(tmp_path / "again", validation_size=N_VAL + 1, verify=False, verbose=False)
    assert fewer.fingerprint != data.fingerprint


@pytest.mark.parametrize("size", [0, 400])
def test_a_validation_size_that_leaves_a_set_empty_is_refused(tmp_path, size):
    folder = write_mnist_dir(tmp_path / "mnist")
    with pytest.raises(ValueError, match=f"validation_size={size} leaves"):
        load_raw(folder, validation_size=size, verify=False, verbose=False)


def test_a_data_folder_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist; give a folder holding MNIST's four files"):
        load_raw(tmp_path / "nowhere")


def test_the_test_set_counts_its_uses_and_refuses_a_second():
    class Constant:
        def predict(self, X):
            assert X.shape == (4, 2)  # preprocessed rows
            return np.zeros(len(X), dtype=int)

    prep = Preprocessing(1.0, np.zeros(2, np.float32))
    test_set = TestSet(np.zeros((4, 2), np.uint8), np.array([0, 0, 1, 0]), prep)
    assert test_set.shape == (4, 2) and test_set.uses == 0
    assert test_set.accuracy(Constant()) == 0.75
    assert test_set.uses == 1
    with pytest.raises(RuntimeError, match="used 1 time"):
        test_set.accuracy(Constant())
