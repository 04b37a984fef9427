"""Model files: a trained net (or an ensemble of nets) with its config, its preprocessing
and its history.

One ``.npz`` file (NumPy's zip of ``.npy`` arrays), read without unpickling
(NumPy's ``allow_pickle=False``), so that loading a file never runs code from
it. Keys:

============== ===================== ==========================================
key            array                 meaning
============== ===================== ==========================================
format_version int64 scalar          :data:`FORMAT_VERSION`
kind           str scalar            the model kind, a key of MODEL_KINDS, or
                                     "ensemble" (new in version 3)
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

An ensemble of K nets (:class:`~cattern.models.ensemble.Ensemble`, a config
with ``ensemble`` = K >= 2, new in version 3) has kind "ensemble"; its
config's ``model`` is its nets' kind, and each net k = 0..K-1 has its own
``net<k>.param.<name>`` and ``net<k>.buffer.<name>`` arrays, laid out as
those of a single net. The nets share the preprocessing; the history is
``{"members": [net 0's history, ...]}``. Each net is rebuilt from
:meth:`~cattern.experiment.ExperimentConfig.member_configs` and checked as a
single net is, and an error names the net (``net 2's parameter W1 ...``).

The preprocessing (pixel scale, mean image, and the config's ``deskew``:
whether each image is deskewed first) is the
:class:`cattern.data.splits.Preprocessing` the net was trained with, and
:meth:`SavedModel.predict` applies it to raw images itself: they are given
as uint8 0..255 or floats in [0, 1], whatever scale the net was trained on.

Model kinds come from :data:`cattern.experiment.MODEL_KINDS` (kind -> class
and how to build it from a config): loading rebuilds an empty model of the
saved kind from the saved config, checks every saved parameter against the
rebuilt model's shape and dtype, and copies it in. Anything else (a missing
or extra key, a wrong shape or dtype, a newer format, an unknown kind, a
kind its config contradicts, bad JSON, an object array, a file that is not
an .npz) raises
:class:`ModelFileError` naming the file and what is wrong.
"""
import json
import zipfile
from pathlib import Path

import numpy as np

from cattern.atomic import atomic_write
from cattern.data.splits import Preprocessing
from cattern.experiment import MODEL_KINDS, ExperimentConfig, build_model, net_histories
from cattern.models.ensemble import Ensemble

FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
ENSEMBLE_KIND = "ensemble"
_PARAM_PREFIX = "param."
_BUFFER_PREFIX = "buffer."
_META_KEYS = ("format_version", "kind", "config", "input_size", "num_classes", "mean_image", "history")
_OPTIONAL_KEYS = ("pixel_scale",)  # new in version 2


class ModelFileError(ValueError):
    """A model file is missing, corrupt, foreign or of an unsupported version."""


def _kind_of(model):
    if isinstance(model, Ensemble):
        return ENSEMBLE_KIND
    for kind, entry in MODEL_KINDS.items():
        if type(model) is entry.cls:
            return kind
    raise ValueError(f"cannot save a {type(model).__name__}: model kinds are "
                     f"{ {k: e.cls.__name__ for k, e in MODEL_KINDS.items()} }, or an Ensemble of them")


def _nets(model):
    """``(prefix, label, net)`` for each net of ``model``: ``("", "", model)`` for a single one;
    ``("net<k>.", "net <k>'s ", member)`` for the nets of an ensemble."""
    if isinstance(model, Ensemble):
        return [(f"net{k}.", f"net {k}'s ", net) for k, net in enumerate(model.members)]
    return [("", "", model)]


def save_model(path, model, *, preprocessing, config, history=None):
    """Write ``model`` to ``path`` (an .npz) atomically.

    Inputs:
    - model: a model of a kind in MODEL_KINDS, with ``params`` (dict of arrays),
      or an :class:`~cattern.models.ensemble.Ensemble` of them
    - preprocessing: the :class:`~cattern.data.splits.Preprocessing` its
      training images went through (pixel scale, mean image (D,), deskew)
    - config: the :class:`~cattern.experiment.ExperimentConfig` (or its dict)
      the model was built and trained with; its pixel_scale and deskew must
      be the preprocessing's, and its ``ensemble`` the number of nets in the model
      (:func:`~cattern.experiment.trained_config`)
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
    if config.deskew != preprocessing.deskew:
        raise ValueError(f"the config says deskew={config.deskew} but the preprocessing has "
                         f"deskew={preprocessing.deskew}; save the preprocessing the net trained with")
    kind = _kind_of(model)
    nets = _nets(model)
    if len(nets) != config.ensemble or any(_kind_of(net) != config.model for _, _, net in nets):
        raise ValueError(f"the config describes {config.ensemble} {config.model} net(s), but the model is "
                         f"{len(nets)} {_kind_of(nets[0][2])} net(s); save it with the config it was trained "
                         f"with (cattern.experiment.trained_config)")
    input_size, num_classes = model.input_size, model.num_classes
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
    for prefix, _, net in nets:
        for name, value in net.params.items():
            arrays[prefix + _PARAM_PREFIX + name] = np.asarray(value)
        for name, value in getattr(net, "buffers", {}).items():
            arrays[prefix + _BUFFER_PREFIX + name] = np.asarray(value)
    with atomic_write(path, "wb") as file:
        np.savez(file, **arrays)


class SavedModel:
    """A loaded model with its preprocessing, config and history.

    Attributes: ``model`` (a net, or an
    :class:`~cattern.models.ensemble.Ensemble`), ``preprocessing``
    (:class:`~cattern.data.splits.Preprocessing`: ``pixel_scale``,
    ``mean_image`` (D,) float32 and ``deskew``), ``num_classes`` (C), ``config``
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

    @property
    def nets(self):
        """The model's nets: ``[model]``, or an ensemble's members."""
        return [net for _, _, net in _nets(self.model)]

    @property
    def histories(self):
        """One training history per net (each None when the file has no history)."""
        if self.history is None:
            return [None] * len(self.nets)
        return net_histories(self.history)

    def predict_proba(self, images):
        """Class probabilities (N, C) for raw images (N, D) or (N, rows, cols[, 1]).

        Images are uint8 0..255 or floats in [0, 1]; the model's own
        preprocessing (deskewing if it was trained so, its pixel scale, its
        mean image) is applied here.
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
    if path.is_dir():
        hint = (f"did you mean {path / 'model.npz'}?" if (path / "model.npz").is_file()
                else "give the model file inside it (cattern train --out DIR writes DIR/model.npz)")
        raise ModelFileError(f"{path} is a folder, not a model file: {hint}")
    if not path.is_file():
        raise ModelFileError(f"no model file at {path}; train one with `cattern train --out DIR` "
                             "(it writes DIR/model.npz)")
    # np.load reads a .npy file as one array, and calls anything else pickled data:
    # neither says what is wrong with a file that is not a zip of arrays.
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a readable cattern model file: it is not a whole .npz archive "
                             "(a zip of arrays, as cattern train writes); is it cut short, or another kind of file?")
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
    if kind not in MODEL_KINDS and not (kind == ENSEMBLE_KIND and version >= 3):
        _fail(path, f"unknown model kind {kind!r}; known kinds are {sorted(MODEL_KINDS)}, and "
                    f"{ENSEMBLE_KIND!r} from version 3")
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
    if (kind == ENSEMBLE_KIND) != (config.ensemble > 1) or kind not in (config.model, ENSEMBLE_KIND):
        _fail(path, f"the file's kind is {kind!r} but its config says model={config.model!r}, "
                    f"ensemble={config.ensemble}")
    history = _json(path, arrays, "history")
    if history is not None and not isinstance(history, dict):
        _fail(path, f"'history' should be a dict of lists or null; found {type(history).__name__}")
    if kind == ENSEMBLE_KIND and history is not None and not (
            isinstance(history.get("members"), list) and len(history["members"]) == config.ensemble
            and all(isinstance(h, dict) for h in history["members"])):
        _fail(path, f"an ensemble's 'history' should be {{\"members\": [{config.ensemble} dicts]}} or null")
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
    nets = _nets(model)
    expected = {prefix + group + name for prefix, _, net in nets
                for group, names in ((_PARAM_PREFIX, net.params), (_BUFFER_PREFIX, getattr(net, "buffers", {})))
                for name in names}
    found = {key for key in arrays if key not in _META_KEYS and key not in _OPTIONAL_KEYS}
    if found != expected:
        what = f"an ensemble of {config.ensemble} {config.model} nets" if kind == ENSEMBLE_KIND else f"a {kind} net"
        _fail(path, f"parameters {sorted(found)} do not match {what} built from its config "
                    f"(expected {sorted(expected)}; missing keys {sorted(expected - found)}; "
                    f"unexpected keys {sorted(found - expected)})")
    for prefix, label, net in nets:
        for name, template in net.params.items():
            value = arrays[prefix + _PARAM_PREFIX + name]
            _check_array(path, f"{label}parameter {name}", value, template)
            net.params[name] = value.copy()  # own, writable memory
        for name, template in getattr(net, "buffers", {}).items():
            value = arrays[prefix + _BUFFER_PREFIX + name]
            _check_array(path, f"{label}buffer {name}", value, template)
            template[...] = value  # in place: the model's layers hold these very arrays
    return SavedModel(model, Preprocessing(pixel_scale, mean_image, config.deskew), config, history, num_classes,
                      path=path)


def _check_array(path, what, value, template):
    """A saved array has the shape and dtype the config describes, and finite values."""
    if value.shape != template.shape or value.dtype != template.dtype:
        _fail(path, f"{what} is {value.shape} {value.dtype}, but the config describes "
                    f"{template.shape} {template.dtype}")
    _check_finite(path, what, value)


def _check_finite(path, name, value):
    if not np.isfinite(value).all():
        _fail(path, f"'{name}' holds NaN or infinite values; the file is corrupt or the run diverged")
