"""Deskewing: slanted strokes come out upright, and a net trained on deskewed digits
deskews every image it is later asked about."""
import json

import numpy as np
import pytest

from cattern.cli import main
from cattern.data.deskew import CHUNK, _deskew_chunk, deskew, deskew_rows, slants
from cattern.data.splits import Preprocessing, load_raw, prepare
from cattern.experiment import ExperimentConfig, train_model
from cattern.model_io import load_model, save_model
from synthetic_data import data_options, raw, write_mnist_dir

SHARED_MNIST = "../shared/datasets/mnist"


def slanted_bar(slope, side=28, length=16):
    """(side, side) float32: a one-pixel-wide stroke whose column drifts ``slope`` pixels per row."""
    image = np.zeros((side, side), dtype=np.float32)
    for r in range(6, 6 + length):
        c = 14 + slope * (r - 13.5)
        c0 = int(np.floor(c))
        image[r, c0] += 1 - (c - c0)  # the stroke's ink, split between two pixels
        image[r, c0 + 1] += c - c0
    return image


def covariance(images):
    """Each image's row-column covariance of its ink, (N,)."""
    centres, alpha = slants(images)
    r = np.arange(images.shape[1])[:, None] - centres[:, 0, None, None]
    c = np.arange(images.shape[2])[None, :] - centres[:, 1, None, None]
    return (images * r * c).sum(axis=(1, 2)) / images.sum(axis=(1, 2))


@pytest.mark.parametrize("slope", [-0.4, -0.1, 0.25, 0.5])
def test_a_slanted_stroke_comes_out_upright_about_its_centre_of_mass(slope):
    bar = slanted_bar(slope)[None]
    (centre,), (alpha,) = slants(bar)
    assert alpha == pytest.approx(slope, abs=1e-6)       # the drift per row is the slant measured
    upright = deskew(bar)
    assert abs(covariance(upright)[0]) < 0.02 * abs(covariance(bar)[0])
    (new_centre,), (new_alpha,) = slants(upright)
    np.testing.assert_allclose(new_centre, centre, atol=0.05)
    assert abs(new_alpha) < 0.01
    assert upright.sum() == pytest.approx(bar.sum(), rel=1e-3)   # no ink lost off the edges
    # every ink row now has its ink on the centre's column
    rows = np.flatnonzero(upright[0].sum(axis=1) > 0.5)
    weighted = (upright[0, rows] * np.arange(28)).sum(axis=1) / upright[0, rows].sum(axis=1)
    np.testing.assert_allclose(weighted, centre[1], atol=0.05)


def test_an_upright_digit_a_flat_one_and_a_blank_one_are_left_exactly_as_they_were():
    upright = slanted_bar(0.0)
    flat = np.zeros((28, 28), dtype=np.float32)
    flat[10, 5:20] = 1.0                                   # ink in one row: no slant to measure
    blank = np.zeros((28, 28), dtype=np.float32)
    images = np.stack([upright, flat, blank])
    np.testing.assert_array_equal(deskew(images), images)


def test_deskewing_is_in_unit_range_and_rows_need_a_square_or_a_shape():
    rng = np.random.default_rng(0)
    images = rng.random((5, 6, 9)).astype(np.float32)
    out = deskew(images)
    assert out.dtype == np.float32 and out.shape == images.shape and 0 <= out.min() and out.max() <= 1
    np.testing.assert_array_equal(deskew_rows(images.reshape(5, 54), (6, 9)), out.reshape(5, 54))
    with pytest.raises(ValueError, match="54 pixels are not a square.*train without --deskew"):
        deskew_rows(images.reshape(5, 54))


def test_deskewing_in_chunks_gives_the_bits_of_one_pass_and_of_each_image_alone():
    rng = np.random.default_rng(3)
    images = (rng.random((2 * CHUNK + 37, 28, 28)) ** 4).astype(np.float32)   # chunks of CHUNK, CHUNK, 37
    out = deskew(images)
    assert out.view(np.uint32).tobytes() == _deskew_chunk(images).view(np.uint32).tobytes()
    for i in (0, CHUNK - 1, CHUNK, len(images) - 1):                             # either side of a seam
        assert np.array_equal(deskew(images[i:i + 1])[0].view(np.uint32), out[i].view(np.uint32))
    assert deskew(images[:0]).shape == (0, 28, 28)
    with pytest.raises(ValueError, match=r"\(N, rows, cols\); got shape \(28, 28\)"):
        deskew(images[0])


@pytest.mark.skipif(not __import__("os").path.isdir(SHARED_MNIST), reason="needs ../shared/datasets/mnist")
def test_mnist_s_slant_is_taken_out_in_chunks_with_the_bits_of_one_pass():
    data = load_raw(SHARED_MNIST, verbose=False)
    images = data.X_val[:1000].reshape(-1, 28, 28).astype(np.float32) / 255
    upright = deskew(images)
    # The presets' README figures were trained on digits deskewed in one pass (before
    # CHUNK); the chunks must not move a bit of them.
    assert np.array_equal(upright.view(np.uint32), _deskew_chunk(images).view(np.uint32))
    before, after = np.abs(covariance(images)), np.abs(covariance(upright))
    assert before.mean() > 5 and after.mean() < 0.01 * before.mean()
    np.testing.assert_allclose(upright.sum(axis=(1, 2)), images.sum(axis=(1, 2)), rtol=0.02)


@pytest.mark.parametrize("pixel_scale", [1.0, 255.0])
def test_the_preprocessing_deskews_uint8_and_unit_floats_alike(pixel_scale):
    rng = np.random.default_rng(1)
    images = (rng.random((20, 8, 8)) ** 4 * 255).astype(np.uint8)
    prep, rows = Preprocessing.fit(images, pixel_scale, deskew=True)
    assert prep.deskew is True
    expected = deskew(images.astype(np.float32) / 255).reshape(20, 64) * np.float32(pixel_scale)
    np.testing.assert_allclose(rows + prep.mean_image, expected, rtol=1e-6, atol=1e-6 * pixel_scale)
    np.testing.assert_array_equal(prep.transform(images), rows)
    np.testing.assert_array_equal(prep.transform(images.reshape(20, 64)), rows)        # rows of a square
    np.testing.assert_allclose(prep.transform(images / 255.0), rows, atol=1e-5 * pixel_scale)
    plain, _ = Preprocessing.fit(images, pixel_scale)
    assert plain.deskew is False and not np.allclose(plain.mean_image, prep.mean_image)


def test_a_saved_net_deskews_what_it_is_asked_about(tmp_path):
    rng = np.random.default_rng(2)
    images = (rng.random((150, 8, 8)) ** 3 * 255).astype(np.uint8)
    y = (images[:, :, :4].sum(axis=(1, 2)) > images[:, :, 4:].sum(axis=(1, 2))).astype(np.int64)
    prep, rows = Preprocessing.fit(images, 1.0, deskew=True)
    cfg = ExperimentConfig(hidden_size=8, std=0.1, learning_rate=0.1, num_iters=40, batch_size=30,
                           pixel_scale=1.0, deskew=True)
    model, history = train_model(cfg, rows, y, rows, y)
    save_model(tmp_path / "m.npz", model, preprocessing=prep, config=cfg, history=history)
    saved = load_model(tmp_path / "m.npz")
    assert saved.preprocessing.deskew is True and saved.config.deskew is True
    np.testing.assert_array_equal(saved.predict(images), model.predict(rows))
    undeskewed = Preprocessing(1.0, prep.mean_image).transform(images)
    assert not np.array_equal(saved.model.scores(undeskewed), model.scores(rows))  # it matters
    with pytest.raises(ValueError, match="the config says deskew=False but the preprocessing has deskew=True"):
        save_model(tmp_path / "bad.npz", model, preprocessing=prep,
                   config=ExperimentConfig(hidden_size=8, std=0.1, pixel_scale=1.0), history=history)
    assert not (tmp_path / "bad.npz").exists()


def test_train_then_evaluate_a_deskewed_net_from_the_command_line(tmp_path):
    data_dir = write_mnist_dir(tmp_path / "mnist")
    out = tmp_path / "run"
    options = ["--num-iters", "60", "--hidden-size", "16", "--std", "0.01", "--learning-rate", "0.05",
               "--batch-size", "50", "--pixel-scale", "1", "--momentum", "0.9", "--no-progress"]
    assert main(["train", *data_options(data_dir), "--out", str(out), "--deskew", "true", *options]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["deskew"] is True and summary["data"]["fingerprint"].endswith(":deskew")
    saved = load_model(out / "model.npz")
    data = raw(data_dir)
    split = prepare(data, 1.0, deskew=True)
    np.testing.assert_array_equal(saved.mean_image, split.preprocessing.mean_image)
    assert np.mean(saved.predict(data.X_val) == data.y_val) == summary["val_accuracy"]
    assert main(["evaluate", str(out / "model.npz"), *data_options(data_dir, split=False)]) == 0
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["accuracy"] == np.mean(saved.predict(data.X_test) == data.y_test)
