"""Model files: a trained net with its config, its preprocessing and its history.

One ``.npz`` file (NumPy's zip of ``.npy`` arrays), read without unpickling
(NumPy's ``allow_pickle=False``), so that loading a file never runs code from
it. Keys:

============== ===================== ==========================================
key            array                 meaning
============== ===================== ==========================================
format_version int64 scalar          :data:`FORMAT_VERSION`
kind           str scalar            the model kind, a key of MODEL_KINDS
config         str scalar            the ExperimentConfig as JSON
input_size     int64 scalar          D, features per example
num_classes    int64 scalar          C
pixel_scale    float64 scalar        a white pixel's value in the net's inputs
                                     (1: pixels in [0, 1]; 255: 0..255); absent in
                                     version 1 files, which were all trained on 1
mean_image     (D,) float32          subtracted from every scaled input
history        str scalar            the training history as JSON ("null": none)
param.<name>   the model's dtype     one per ``model.params`` key (W1, b1, ...)
buffer.<name>  the model's dtype     one per ``model.buffers`` key, if the model
                                     has any (batch norm's running_mean1, ...)
============== ===================== ==========================================

The preprocessing (pixel scale and mean image) is the
:class:`cattern.data.splits.Preprocessing` the net was trained with, and
:meth:`SavedModel.predict` applies it to raw images itself: they are given
as uint8 0..255 or floats in [0, 1], whatever scale the net was trained on.

Model kinds come from :data:`cattern.experiment.MODEL_KINDS` (kind -> class
and how to build it from a config): loading rebuilds an empty model of the
saved kind from the saved config, checks every saved parameter against the
rebuilt model's shape and dtype, and copies it in. Anything else (a missing
or extra key, a wrong shape or dtype, a newer format, an unknown kind, bad
JSON, an object array, a file that is not an .npz) raises
:class:`ModelFileError` naming the file and what is wrong.
"""
import json
import zipfile
from pathlib import Path

import numpy as np

from cattern.atomic import atomic_write
from cattern.data.splits import Preprocessing
from cattern.experiment import MODEL_KINDS, ExperimentConfig, build_model

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
_PARAM_PREFIX = "param."
_BUFFER_PREFIX = "buffer."
_META_KEYS = ("format_version", "kind", "config", "input_size", "num_classes", "mean_image", "history")
_OPTIONAL_KEYS = ("pixel_scale",)  # new in version 2


class ModelFileError(ValueError):
    """A model file is missing, corrupt, foreign or of an unsupported version."""


def _kind_of(model):
    for kind, entry in MODEL_KINDS.items():
        if type(model) is entry.cls:
            return kind
    raise ValueError(f"cannot save a {type(model).__name__}: model kinds are "
                     f"{ {k: e.cls.__name__ for k, e in MODEL_KINDS.items()} }")


def save_model(path, model, *, preprocessing, config, history=None):
    """Write ``model`` to ``path`` (an .npz) atomically.

    Inputs:
    - model: a model of a kind in MODEL_KINDS, with ``params`` (dict of arrays)
    - preprocessing: the :class:`~cattern.data.splits.Preprocessing` its
      training images went through (pixel scale, mean image (D,))
    - config: the :class:`~cattern.experiment.ExperimentConfig` (or its dict)
      the model was built and trained with; its pixel_scale must be the
      preprocessing's
    - history: the training history dict (lists of finite floats), or None

    An existing file at ``path`` is replaced only once the new one is complete.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"model files end in .npz; got {path}")
    config = ExperimentConfig.from_dict(config) if isinstance(config, dict) else config
    if not isinstance(config, ExperimentConfig):
        raise ValueError(f"config must be an ExperimentConfig or its dict; got {type(config).__name__}")
    if config.pixel_scale != preprocessing.pixel_scale:
        raise ValueError(f"the config says pixel_scale={config.pixel_scale:g} but the preprocessing scales "
                         f"pixels to {preprocessing.pixel_scale:g}; save the preprocessing the net trained with")
    kind = _kind_of(model)
    input_size = model.params["W1"].shape[0]
    num_classes = model.params[_last_weight(model)].shape[-1]
    mean_image = np.asarray(preprocessing.mean_image, dtype=np.float32).reshape(-1)
    if mean_image.shape != (input_size,):
        raise ValueError(f"mean_image has {mean_image.size} values but the model takes "
                         f"{input_size} inputs; pass the mean of the training images")
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "kind": np.array(kind),
        "config": np.array(json.dumps(config.to_dict())),
        "input_size": np.array(input_size, dtype=np.int64),
        "num_classes": np.array(num_classes, dtype=np.int64),
        "pixel_scale": np.array(preprocessing.pixel_scale, dtype=np.float64),
        "mean_image": mean_image,
        "history": np.array(json.dumps(history, allow_nan=False)),
    }
    for name, value in model.params.items():
        arrays[_PARAM_PREFIX + name] = np.asarray(value)
    for name, value in getattr(model, "buffers", {}).items():
        arrays[_BUFFER_PREFIX + name] = np.asarray(value)
    with atomic_write(path, "wb") as file:
        np.savez(file, **arrays)


def _last_weight(model):
    """The name of the weight matrix that produces the scores: the last 'W' key."""
    weights = [name for name in model.params if name.startswith("W")]
    return max(weights, key=lambda name: int(name[1:]) if name[1:].isdigit() else -1)


class SavedModel:
    """A loaded model with its preprocessing, config and history.

    Attributes: ``model``, ``preprocessing``
    (:class:`~cattern.data.splits.Preprocessing`: ``pixel_scale`` and
    ``mean_image`` (D,) float32), ``num_classes`` (C), ``config``
    (:class:`~cattern.experiment.ExperimentConfig`), ``history`` (dict or
    None), ``path``.
    """

    def __init__(self, model, preprocessing, config, history, num_classes, path=None):
        self.model = model
        self.preprocessing = preprocessing
        self.num_classes = num_classes
        self.config = config
        self.history = history
        self.path = path

    @property
    def mean_image(self):
        return self.preprocessing.mean_image

    @property
    def input_size(self):
        return self.mean_image.shape[0]

    def predict_proba(self, images):
        """Class probabilities (N, C) for raw images (N, D) or (N, rows, cols[, 1]).

        Images are uint8 0..255 or floats in [0, 1]; the model's own
        preprocessing (its pixel scale, its mean image) is applied here.
        """
        scores = self.model.scores(self.preprocessing.transform(images)).astype(np.float64)
        scores -= scores.max(axis=1, keepdims=True)  # softmax is shift-invariant; this keeps exp finite
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def predict(self, images):
        """Predicted labels (N,) for raw images, as :meth:`predict_proba` takes them."""
        return self.model.predict(self.preprocessing.transform(images))


def load_model(path):
    """Read a model file written by :func:`save_model`; returns a :class:`SavedModel`.

    Raises :class:`ModelFileError` if the file is missing or is not a
    complete, current cattern model file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no model file at {path}; train one with `cattern train --out DIR` "
                             "(it writes DIR/model.npz)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise ModelFileError(f"{path} is not a readable cattern model file (.npz): {err}") from err
    return _from_arrays(path, arrays)


def _fail(path, message):
    raise ModelFileError(f"{path}: {message}")


def _scalar(path, arrays, key, kind):
    """The 0-d array ``key`` as a Python int, str or float (finite, > 0), checked."""
    value = arrays[key]
    if kind is float:
        ok = value.dtype.kind == "f" and value.shape == () and np.isfinite(value) and value > 0
    else:
        ok = value.shape == () and (np.issubdtype(value.dtype, np.integer) if kind is int
                                    else value.dtype.kind == "U")
    if not ok:
        what = "number > 0" if kind is float else kind.__name__
        _fail(path, f"'{key}' should be a single {what}; found dtype {value.dtype}, shape {value.shape}"
                    + (f", value {value!r}" if value.size == 1 else ""))
    return kind(value.item())


def _json(path, arrays, key):
    try:
        return json.loads(_scalar(path, arrays, key, str))
    except json.JSONDecodeError as err:
        _fail(path, f"'{key}' is not valid JSON ({err})")


def _from_arrays(path, arrays):
    missing = [key for key in _META_KEYS if key not in arrays]
    if missing:
        _fail(path, f"missing {missing}; this is not a cattern model file (its keys are {sorted(arrays)})")
    version = _scalar(path, arrays, "format_version", int)
    if version not in READABLE_VERSIONS:
        _fail(path, f"format version {version}, but this cattern reads versions {list(READABLE_VERSIONS)}; "
                    "use the cattern that wrote it, or train the model again")
    if version >= 2 and "pixel_scale" not in arrays:
        _fail(path, "missing 'pixel_scale'; a version 2 model file records the pixel scale it was trained on")
    kind = _scalar(path, arrays, "kind", str)
    if kind not in MODEL_KINDS:
        _fail(path, f"unknown model kind {kind!r}; known kinds are {sorted(MODEL_KINDS)}")
    pixel_scale = 1.0 if version == 1 else _scalar(path, arrays, "pixel_scale", float)
    config_values = _json(path, arrays, "config")
    if version == 1 and isinstance(config_values, dict):
        config_values = {**config_values, "pixel_scale": 1.0}
    try:
        config = ExperimentConfig.from_dict(config_values)
    except (TypeError, ValueError) as err:
        _fail(path, f"bad config: {err}")
    if config.pixel_scale != pixel_scale:
        _fail(path, f"'pixel_scale' is {pixel_scale:g} but the config says {config.pixel_scale:g}")
    if config.model != kind:
        _fail(path, f"the file's kind is {kind!r} but its config says model={config.model!r}")
    history = _json(path, arrays, "history")
    if history is not None and not isinstance(history, dict):
        _fail(path, f"'history' should be a dict of lists or null; found {type(history).__name__}")
    input_size = _scalar(path, arrays, "input_size", int)
    num_classes = _scalar(path, arrays, "num_classes", int)
    if input_size < 1 or num_classes < 2:
        _fail(path, f"input_size={input_size}, num_classes={num_classes}; need >= 1 and >= 2")

    mean_image = arrays["mean_image"]
    if mean_image.shape != (input_size,) or mean_image.dtype != np.float32:
        _fail(path, f"'mean_image' should be ({input_size},) float32; found {mean_image.shape} "
                    f"{mean_image.dtype}")
    _check_finite(path, "mean_image", mean_image)

    model = build_model(config, input_size, num_classes)
    buffers = getattr(model, "buffers", {})
    expected = {_PARAM_PREFIX + name for name in model.params} | {_BUFFER_PREFIX + name for name in buffers}
    found = {key for key in arrays if key.startswith((_PARAM_PREFIX, _BUFFER_PREFIX))}
    extra = sorted(set(arrays) - set(_META_KEYS) - set(_OPTIONAL_KEYS) - expected)
    if found != expected or extra:
        _fail(path, f"parameters {sorted(found)} do not match a {kind} net built from its config "
                    f"(expected {sorted(expected)}; unexpected keys {extra})")
    for name, template in model.params.items():
        value = arrays[_PARAM_PREFIX + name]
        if value.shape != template.shape or value.dtype != template.dtype:
            _fail(path, f"parameter {name} is {value.shape} {value.dtype}, but the config "
                        f"describes {template.shape} {template.dtype}")
        _check_finite(path, name, value)
        model.params[name] = value.copy()  # own, writable memory
    for name, template in buffers.items():
        value = arrays[_BUFFER_PREFIX + name]
        if value.shape != template.shape or value.dtype != template.dtype:
            _fail(path, f"buffer {name} is {value.shape} {value.dtype}, but the config "
                        f"describes {template.shape} {template.dtype}")
        _check_finite(path, name, value)
        template[...] = value  # in place: the model's layers hold these very arrays
    return SavedModel(model, Preprocessing(pixel_scale, mean_image), config, history, num_classes, path=path)


def _check_finite(path, name, value):
    if not np.isfinite(value).all():
        _fail(path, f"'{name}' holds NaN or infinite values; the file is corrupt or the run diverged")
