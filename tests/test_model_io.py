"""Model files: the round trip, and clear errors for corrupt or foreign files."""
import json
import os
import zipfile

import numpy as np
import pytest

from cattern.data.splits import Preprocessing
from cattern.experiment import ExperimentConfig, train_model
from cattern.model_io import FORMAT_VERSION, ModelFileError, load_model, save_model

D = 16  # a 4 x 4 "image"


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.random((120, D)).astype(np.float32)  # raw pixels in [0, 1]
    y = (X[:, :4].sum(axis=1) > 2).astype(np.int64) + 2 * (X[:, 4] > 0.5)
    prep, rows = Preprocessing.fit(X, 1.0)
    cfg = ExperimentConfig(hidden_size=8, std=0.1, learning_rate=0.1, num_iters=60, batch_size=30,
                           pixel_scale=1.0)
    model, history = train_model(cfg, rows, y, rows, y)
    return X, y, prep, cfg, model, history


def test_round_trip_predicts_exactly_as_before(tmp_path, trained):
    X, y, prep, cfg, model, history = trained
    path = tmp_path / "model.npz"
    save_model(path, model, preprocessing=prep, config=cfg, history=history)
    saved = load_model(path)
    assert saved.config == cfg and saved.preprocessing.pixel_scale == 1.0
    assert saved.history == history
    for name, value in model.params.items():
        np.testing.assert_array_equal(saved.model.params[name], value)
        assert saved.model.params[name].dtype == value.dtype
    np.testing.assert_array_equal(saved.model.scores(prep.transform(X)), model.scores(prep.transform(X)))
    # predict takes raw pixels, flat or as images, and preprocesses them itself
    expected = model.predict(prep.transform(X))
    np.testing.assert_array_equal(saved.predict(X), expected)
    np.testing.assert_array_equal(saved.predict(X.reshape(-1, 4, 4, 1)), expected)
    probs = saved.predict_proba(X)
    assert probs.shape == (len(X), 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_array_equal(probs.argmax(axis=1), expected)


def test_float32_and_no_history(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.random((40, D)), rng.integers(0, 3, 40)
    cfg = ExperimentConfig(hidden_size=5, dtype="float32", num_iters=3, pixel_scale=1.0)
    model, _ = train_model(cfg, X, y, X, y)
    save_model(tmp_path / "m.npz", model, preprocessing=Preprocessing(1.0, np.zeros(D, np.float32)),
               config=cfg.to_dict())
    saved = load_model(tmp_path / "m.npz")
    assert saved.history is None and saved.model.params["W1"].dtype == np.float32
    np.testing.assert_array_equal(saved.predict(X), model.predict(X))


def test_a_wrong_input_width_is_explained(tmp_path, trained):
    X, y, prep, cfg, model, history = trained
    save_model(tmp_path / "m.npz", model, preprocessing=prep, config=cfg)
    with pytest.raises(ValueError, match="each image has 9 pixels but the model takes 16"):
        load_model(tmp_path / "m.npz").predict(np.zeros((2, 3, 3)))


def rewrite(src, dst, change):
    """Copy the model file src to dst with ``change(arrays)`` applied to its dict of arrays."""
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(dst, **arrays)


def _set(key, value):
    return lambda arrays: arrays.__setitem__(key, value)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("mean_image"), r"missing \['mean_image'\]"),
    (_set("format_version", np.array(FORMAT_VERSION + 1)), r"format version 4, but this cattern reads versions \[1, 2, 3\]"),
    (lambda a: a.pop("pixel_scale"), "missing 'pixel_scale'; a version 2 model file records"),
    (_set("pixel_scale", np.array(255.0)), "'pixel_scale' is 255 but the config says 1"),
    (_set("pixel_scale", np.array(-1.0)), "'pixel_scale' should be a single number > 0"),
    (_set("kind", np.array("transformer")), "unknown model kind 'transformer'"),
    (_set("config", np.array("{not json")), "'config' is not valid JSON"),
    (_set("config", np.array(json.dumps({"hidden_size": 8, "colour": 1}))), r"bad config: unknown config field"),
    (_set("param.W1", np.zeros((D, 9))), r"parameter W1 is \(16, 9\) float64, but the config describes \(16, 8\)"),
    (_set("param.b2", np.zeros(4, dtype=np.float32)), "parameter b2 is .* float32"),
    (_set("param.W9", np.zeros(3)), r"unexpected keys \['param.W9'\]"),
    (_set("mean_image", np.zeros(D)), r"'mean_image' should be \(16,\) float32"),
    (_set("mean_image", np.full(D, np.nan, dtype=np.float32)), "NaN or infinite"),
    (_set("history", np.array([1, 2])), "'history' should be a single str"),
])
def test_corrupt_files_give_clear_errors(tmp_path, trained, change, message):
    X, y, prep, cfg, model, history = trained
    good = tmp_path / "good.npz"
    save_model(good, model, preprocessing=prep, config=cfg, history=history)
    bad = tmp_path / "bad.npz"
    rewrite(good, bad, change)
    with pytest.raises(ModelFileError, match=message):
        load_model(bad)


def test_foreign_and_broken_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ModelFileError, match="not a readable cattern model file"):
        load_model(junk)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(ModelFileError, match="this is not a cattern model file"):
        load_model(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, format_version=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="not a readable|not a cattern"):
        load_model(pickled)
    truncated = tmp_path / "truncated.npz"
    np.savez(truncated, a=np.ones(1000))
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(ModelFileError):
        load_model(truncated)
    with pytest.raises(ModelFileError, match="no model file at .*train one with `cattern train"):
        load_model(tmp_path / "absent.npz")
    # One array saved as .npy (np.load gives an ndarray, not an archive), and a
    # file of text: before, a TypeError and numpy's advice to allow pickles.
    npy = tmp_path / "one-array.npz"
    with open(npy, "wb") as f:
        np.save(f, np.ones(3))
    text = tmp_path / "text.npz"
    text.write_text("0 1 2\n")
    for path in (npy, text):
        with pytest.raises(ModelFileError, match="not a whole .npz archive .* cut short, or another kind of file"):
            load_model(path)


def test_a_folder_is_not_a_model_file(tmp_path, trained):
    with pytest.raises(ModelFileError, match="is a folder, not a model file: give the model file inside it"):
        load_model(tmp_path)
    X, y, prep, cfg, model, history = trained
    save_model(tmp_path / "model.npz", model, preprocessing=prep, config=cfg)
    with pytest.raises(ModelFileError, match="is a folder, not a model file: did you mean .*model.npz"):
        load_model(tmp_path)


def test_a_failed_save_leaves_the_old_file_untouched(tmp_path, trained, monkeypatch):
    X, y, prep, cfg, model, history = trained
    path = tmp_path / "model.npz"
    save_model(path, model, preprocessing=prep, config=cfg, history=history)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, model, preprocessing=prep, config=cfg)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    with pytest.raises(ValueError, match="mean_image has 3 values but the model takes 16"):
        save_model(path, model, preprocessing=Preprocessing(1.0, np.zeros(3)), config=cfg)
    with pytest.raises(ValueError, match="the config says pixel_scale=1 but the preprocessing scales pixels to 255"):
        save_model(path, model, preprocessing=Preprocessing(255.0, prep.mean_image), config=cfg)
    assert path.read_bytes() == before
    assert path.read_bytes() == before
    assert zipfile.is_zipfile(path)


def test_the_pixel_scale_is_recorded_and_applied_on_load(tmp_path):
    """A net trained on 0..255 pixels predicts from the same images given as uint8 or
    as floats in [0, 1]; floats on its own 0..255 scale are refused, not misread."""
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(90, 4, 4), dtype=np.uint8)
    y = (images[:, 0, :2].sum(axis=1) > 255).astype(np.int64)
    prep, rows = Preprocessing.fit(images, 255.0)
    np.testing.assert_allclose(rows + prep.mean_image, images.reshape(90, -1))  # the 0..255 scale itself
    cfg = ExperimentConfig(hidden_size=6, std=1e-3, learning_rate=1e-4, num_iters=40, batch_size=30,
                           pixel_scale=255.0, dtype="float32")
    model, _ = train_model(cfg, rows, y, rows, y)
    save_model(tmp_path / "m.npz", model, preprocessing=prep, config=cfg)
    saved = load_model(tmp_path / "m.npz")
    assert saved.preprocessing.pixel_scale == 255.0 and saved.config.pixel_scale == 255.0
    expected = model.predict(rows)
    np.testing.assert_array_equal(saved.predict(images), expected)
    np.testing.assert_array_equal(saved.predict(images / 255.0), expected)
    with pytest.raises(ValueError, match=r"floats in \[0, 1\]; got float64 values in \[0, 255\]"):
        saved.predict(images.astype(np.float64))


def test_a_version_1_file_loads_as_trained_on_pixels_in_0_1(tmp_path, trained):
    X, y, prep, cfg, model, history = trained
    save_model(tmp_path / "v2.npz", model, preprocessing=prep, config=cfg)

    def as_version_1(arrays):
        arrays["format_version"] = np.array(1)
        del arrays["pixel_scale"]
        config = json.loads(str(arrays["config"]))
        del config["pixel_scale"]
        arrays["config"] = np.array(json.dumps(config))

    rewrite(tmp_path / "v2.npz", tmp_path / "v1.npz", as_version_1)
    saved = load_model(tmp_path / "v1.npz")
    assert saved.preprocessing.pixel_scale == 1.0 and saved.config == cfg
    np.testing.assert_array_equal(saved.predict(X), model.predict(prep.transform(X)))


# ----------------------------------------------------------------------
# Ensembles (format version 3)
# ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def ensemble(trained):
    X, y, prep, _, _, _ = trained
    cfg = ExperimentConfig(model="fc", hidden_dims="8,6", normalization="batchnorm", dtype="float32",
                           pixel_scale=1.0, sampling="epochs", learning_rate=0.1, momentum=0.9, num_iters=40,
                           batch_size=30, ensemble=3)
    rows = prep.transform(X)
    model, history = train_model(cfg, rows, y, rows, y)
    return X, prep, cfg, model, history


def test_an_ensemble_round_trips_and_predicts_exactly_as_before(tmp_path, ensemble):
    X, prep, cfg, model, history = ensemble
    save_model(tmp_path / "e.npz", model, preprocessing=prep, config=cfg, history=history)
    with np.load(tmp_path / "e.npz") as npz:
        assert str(npz["kind"]) == "ensemble" and int(npz["format_version"]) == 3
        assert {"net0.param.W1", "net2.param.gamma1", "net1.buffer.running_var2"} <= set(npz.files)
    saved = load_model(tmp_path / "e.npz")
    assert saved.config == cfg and len(saved.nets) == 3 and saved.histories == history["members"]
    np.testing.assert_array_equal(saved.predict_proba(X).argmax(axis=1), model.predict(prep.transform(X)))
    np.testing.assert_array_equal(saved.model.scores(prep.transform(X)), model.scores(prep.transform(X)))
    for net, again in zip(model.members, saved.nets):
        for name, value in {**net.params, **net.buffers}.items():
            np.testing.assert_array_equal({**again.params, **again.buffers}[name], value)


def _config_with(**changes):
    def change(arrays):
        arrays["config"] = np.array(json.dumps({**json.loads(str(arrays["config"])), **changes}))
    return change


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("net1.param.W2"), r"missing keys \['net1.param.W2'\]"),
    (lambda a: a.pop("net2.buffer.running_mean1"), r"missing keys \['net2.buffer.running_mean1'\]"),
    (_set("net3.param.W1", np.zeros((D, 8), np.float32)), r"unexpected keys \['net3.param.W1'\]"),
    (_set("net1.param.W1", np.zeros((D, 9), np.float32)), r"net 1's parameter W1 is \(16, 9\) float32, but the config"),
    (_set("net2.buffer.running_var1", np.full(8, np.inf, np.float32)), "'net 2's buffer running_var1' holds NaN"),
    (_config_with(ensemble=1), "the file's kind is 'ensemble' but its config says model='fc', ensemble=1"),
    (_config_with(ensemble=4), r"an ensemble's 'history' should be \{\"members\": \[4 dicts\]\} or null"),
    (lambda a: (_config_with(ensemble=4)(a), a.__setitem__("history", np.array("null"))),
     r"missing keys \['net3.buffer.running_mean1'"),
    (_set("kind", np.array("fc")), "the file's kind is 'fc' but its config says model='fc', ensemble=3"),
    (_set("format_version", np.array(2)), "unknown model kind 'ensemble'; .* and 'ensemble' from version 3"),
    (_set("history", np.array(json.dumps({"members": [{}]}))), r"an ensemble's 'history' should be"),
    (_set("history", np.array(json.dumps({"loss_history": [1.0]}))), r"an ensemble's 'history' should be"),
])
def test_corrupt_ensemble_files_give_clear_errors(tmp_path, ensemble, change, message):
    X, prep, cfg, model, history = ensemble
    save_model(tmp_path / "good.npz", model, preprocessing=prep, config=cfg, history=history)
    rewrite(tmp_path / "good.npz", tmp_path / "bad.npz", change)
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "bad.npz")


def test_an_ensemble_is_saved_only_with_the_config_that_describes_it(tmp_path, ensemble):
    import dataclasses

    X, prep, cfg, model, history = ensemble
    with pytest.raises(ValueError, match="the config describes 2 fc net"):
        save_model(tmp_path / "e.npz", model, preprocessing=prep, config=dataclasses.replace(cfg, ensemble=2))
    with pytest.raises(ValueError, match=r"the config describes 3 fc net\(s\), but the model is 1 fc"):
        save_model(tmp_path / "e.npz", model.members[0], preprocessing=prep, config=cfg)
    assert not (tmp_path / "e.npz").exists()


def test_a_version_2_file_still_loads(tmp_path, trained):
    X, y, prep, cfg, model, history = trained
    save_model(tmp_path / "v3.npz", model, preprocessing=prep, config=cfg)

    def as_version_2(arrays):  # written before label smoothing and ensembles
        arrays["format_version"] = np.array(2)
        config = json.loads(str(arrays["config"]))
        del config["label_smoothing"], config["ensemble"]
        arrays["config"] = np.array(json.dumps(config))

    rewrite(tmp_path / "v3.npz", tmp_path / "v2.npz", as_version_2)
    saved = load_model(tmp_path / "v2.npz")
    assert saved.config == cfg and saved.nets == [saved.model] and saved.histories == [None]
    np.testing.assert_array_equal(saved.predict(X), model.predict(prep.transform(X)))
