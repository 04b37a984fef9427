"""One training run, described by one frozen config: build the model, train it.

:class:`ExperimentConfig` holds every option of a run (the model's shape, the
optimizer, the data's pixel scale, the seed), and checks them all, whatever
the model kind, before anything is built. Each field carries its help text
and, for names, its choices: the command line makes one option per field
from them (:mod:`cattern.cli.options`), so a field added here becomes an
option of ``cattern train``, ``tune`` and ``lab`` with no other change.
Presets and searches make variants with :func:`dataclasses.replace`; every
saved model and summary file carries the config as a dict
(:meth:`ExperimentConfig.to_dict`).

:data:`MODEL_KINDS` says how each kind of model is built from a config;
:func:`build_trainer` and :func:`train_model` put a model and its
:class:`~cattern.trainer.Trainer` together. A config with ``ensemble`` = K
describes K nets of its kind, trained with seeds of their own, one after
another or (``ensemble_jobs``) several at once, that answer together
(:class:`~cattern.models.ensemble.Ensemble`).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
import signal
import threading
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from cattern import optim, schedules
from cattern.augment import Augmenter
from cattern.checks import check_nonnegative, check_positive_int
from cattern.data.mnist import check_pixel_scale
from cattern.errors import NetTooLargeError
from cattern.models.ensemble import Ensemble
from cattern.models.fc_net import FullyConnectedNet
from cattern.models.two_layer import TwoLayerNet
from cattern.trainer import SAMPLINGS, Callback, TrainConfig, Trainer

DTYPES = ("float32", "float64")
NORMALIZATIONS = ("none", "batchnorm", "layernorm")
# TwoLayerNet's initial weights when std is not given: the seed's 1e-4.
TWO_LAYER_STD = 1e-4


def field_type(annotation):
    """The type a field holds: ``float`` for ``float | None``, else the annotation itself."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def _option(default, help, choices=None):
    """A dataclass field whose ``help`` (and ``choices``) become the command-line option's."""
    return field(default=default, metadata={"help": help, "choices": choices})


# Each augmentation field of the config, and the Augmenter's field it sets.
_AUGMENTER_FIELDS = {"augment_shift": "max_shift", "augment_rotation": "max_rotation", "augment_scale": "max_scale",
                     "augment_scale_each_axis": "scale_each_axis", "elastic_alpha": "elastic_alpha",
                     "elastic_sigma": "elastic_sigma", "augment_thickness": "max_thickness"}


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides a training run, besides the data.

    The defaults are the seed's ``TwoLayerNet(input_size, 50, 10)`` trained by
    ``net.train(...)`` with its default arguments, as the seed's printed
    numbers show it ran: plain SGD (momentum 0) on pixels 0..255, batches
    drawn with replacement, the rate decayed after each epoch's first step
    (the evidence is in the README, "The seed as it ran"). The seed's own runs,
    and the runs that go beyond it (on pixels in [0, 1], with momentum), are
    in :data:`cattern.presets.PRESETS`.
    """

    model: str = _option("two_layer", "model kind", ("two_layer", "fc"))
    hidden_size: int = _option(50, "hidden units H")
    std: float | None = _option(None, "scale of the initial weights (std * randn); default: the seed's "
                                      "1e-4 for two_layer, He initialization for fc")
    dtype: str = _option("float64", "float64 (exact) or float32 (about twice as fast)", DTYPES)
    pixel_scale: float = _option(255.0, "the value of a white pixel in the net's inputs: 255 gives the "
                                        "raw 0..255 the seed's notebook trained on, 1 pixels in [0, 1]")
    deskew: bool = _option(False, "shear each digit upright before the net sees it, in training and "
                                  "whenever the saved net is used (cattern.data.deskew)")
    learning_rate: float = _option(1e-3, "starting learning rate")
    learning_rate_decay: float = _option(0.95, "factor applied to the rate after each epoch (1 keeps it fixed)")
    momentum: float = _option(0.0, "momentum of the momentum update rules (0: plain SGD, as the seed's "
                                   "runs trained)")
    reg: float = _option(5e-6, "L2 regularization strength")
    num_iters: int = _option(2000, "number of parameter updates")
    batch_size: int = _option(200, "examples per update")
    sampling: str = _option("with_replacement", "how batches are drawn: with_replacement, as the seed's "
                                                "train (B indices at random each step), or epochs (a "
                                                "permutation per epoch, each example once)", SAMPLINGS)
    update_rule: str = _option("sgd_momentum", "update rule", tuple(optim.RULES))
    seed: int = _option(0, "seeds the initial weights and the batch order")
    ensemble: int = _option(1, "number of nets trained one after another, each with its own seed (the "
                               "first with seed itself), whose log-probabilities are averaged")
    ensemble_jobs: int = _option(1, "number of an ensemble's nets trained at once, in threads of this "
                                    "process, each net with one BLAS thread (1: one net at a time, BLAS "
                                    "on every core); the numbers are the same for any value >= 2")
    # The "fc" model (FullyConnectedNet) only; refused for two_layer.
    hidden_dims: str = _option("", "fc: hidden widths, comma-separated, e.g. 1024,1024, which then "
                                   "replace hidden_size (empty: one layer of hidden_size)")
    dropout: float = _option(0.0, "fc: probability of dropping each hidden unit in training")
    input_dropout: float = _option(0.0, "fc: probability of dropping each input pixel in training")
    normalization: str = _option("none", "fc: normalization before each ReLU", NORMALIZATIONS)
    max_norm: float = _option(0.0, "fc: largest norm of each unit's incoming weights (0: no limit)")
    label_smoothing: float = _option(0.0, "fc: train against targets (1 - e) * onehot + e / C instead "
                                          "of onehot (0: none)")
    # The schedule, the update rules' extra hyperparameters, early stopping (see TrainConfig).
    lr_schedule: str = _option("seed", "learning-rate schedule (seed: the seed's decay by learning_rate_decay "
                                       "after each epoch's first step)", tuple(schedules.SCHEDULES))
    warmup_epochs: float = _option(0.0, "linear learning-rate warmup, in epochs")
    step_epochs: float = _option(10.0, "step schedule: epochs between decays")
    step_gamma: float = _option(0.1, "step schedule: factor at each decay")
    min_learning_rate: float = _option(0.0, "cosine schedule: the final rate")
    beta1: float = _option(0.9, "adam/adamw: first-moment decay")
    beta2: float = _option(0.999, "adam/adamw: second-moment decay")
    eps: float = _option(1e-8, "adam/adamw: denominator floor")
    weight_decay: float = _option(0.0, "adamw: decoupled weight decay of the weight matrices")
    patience: int = _option(0, "early stopping: epochs without a better validation "
                               "accuracy before stopping (0: never stop early)")
    restore_best: bool = _option(False, "end with the weights of the best validation epoch")
    ema_decay: float = _option(0.0, "measure and keep a moving average of the weights, each update moving it "
                                    "by 1 - ema_decay towards them, e.g. 0.999 (0: off)")
    catch_interrupt: bool = _option(False, "Ctrl-C ends training cleanly, keeping the run")
    # Augmentation of each training batch (cattern.augment.Augmenter); all 0: none.
    augment_shift: int = _option(0, "augmentation: largest random translation, in whole pixels")
    augment_rotation: float = _option(0.0, "augmentation: largest random rotation, in degrees")
    augment_scale: float = _option(0.0, "augmentation: largest relative random scaling")
    augment_scale_each_axis: bool = _option(False, "augmentation: draw the horizontal and vertical scale "
                                                   "factors apart, so a digit's width varies apart from "
                                                   "its height (false: one factor for both)")
    elastic_alpha: float = _option(0.0, "augmentation: strength of elastic distortion, in pixels (0: off)")
    elastic_sigma: float = _option(4.0, "augmentation: smoothness of elastic distortion, in pixels")
    augment_thickness: float = _option(0.0, "augmentation: largest fraction of a one-pixel dilation (thicker "
                                            "strokes) or erosion (thinner) of each digit, in [0, 1] (0: off)")
    clean_epochs: float = _option(0.0, "augmentation: train the last this many epochs on the images "
                                       "not augmented (0: augment to the end)")
    final_test: bool = _option(False, "cattern train: after training, use the test set once on the "
                                      "final model and record its accuracy in summary.json")
    train_on_validation: bool = _option(False, "cattern train: train on the validation images too, the last "
                                               "step of a recipe chosen on them; no validation accuracy is "
                                               "then measured, so restore_best and patience must be off")

    def __post_init__(self):
        self._check_types()
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("ensemble", self.ensemble)
        check_positive_int("ensemble_jobs", self.ensemble_jobs)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0; got {self.seed!r}")
        if self.std is not None and not (check_nonnegative("std", self.std) > 0 or self.model == "two_layer"):
            raise ValueError("std must be > 0 for an fc net (or left out for He initialization); got 0")
        check_pixel_scale(self.pixel_scale)
        if self.train_on_validation and (self.restore_best or self.patience):
            # Both choose an epoch by validation accuracy, which a net trained on those images cannot have.
            raise ValueError("train_on_validation=True trains on the validation images, leaving none to choose "
                             "an epoch by: set restore_best=False and patience=0, or train_on_validation=False")
        if self.augment_scale_each_axis and not self.augment_scale > 0:
            raise ValueError("augment_scale_each_axis=True draws the two axes' scalings apart, but "
                             f"augment_scale={self.augment_scale} (no scaling): give augment_scale= a value above 0 "
                             "too, or augment_scale_each_axis=False")
        self._check_model_options()
        self.train_config()  # the trainer's own checks: rates, sizes, the rule and schedule names
        self._augmenter(None)  # the augmenter's own checks, on every augment_* field, on or off
        if self.clean_epochs and self.augmenter(None) is None:
            raise ValueError(f"clean_epochs={self.clean_epochs} stops augmenting for the last epochs, but this "
                             "config does not augment: give one of augment_shift=, augment_rotation=, "
                             "augment_scale=, elastic_alpha= or augment_thickness= a value above 0 too, "
                             "or clean_epochs=0")

    def _check_types(self):
        """Each field holds a value of its type (floats finite), and a name one of its choices;
        numbers are stored as exactly their field's type."""
        hints = typing.get_type_hints(ExperimentConfig)
        for f in dataclasses.fields(self):
            value, kind = getattr(self, f.name), field_type(hints[f.name])
            if value is None and f.default is None:
                continue
            if kind is float:
                ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            elif kind is int:
                ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
            else:
                ok = isinstance(value, kind)
            if not ok:
                expected = {float: "a finite number", int: "an integer", bool: "true or false",
                            str: "a string"}[kind]
                raise ValueError(f"{f.name} must be {expected}; got {value!r}")
            choices = f.metadata["choices"]
            if choices is not None and value not in choices:
                raise ValueError(f"{f.name} must be one of {list(choices)}; got {value!r}")
            if kind in (float, int) and type(value) is not kind:
                # 1 for 1.0, or a NumPy scalar: the same config, so the same dict and key.
                object.__setattr__(self, f.name, kind(value))

    def _check_model_options(self):
        """The fc options: in range for fc, left at their defaults for two_layer."""
        fc_only = {name: getattr(self, name) for name in ("hidden_dims", "dropout", "input_dropout",
                                                           "normalization", "max_norm", "label_smoothing")}
        if self.model == "two_layer":
            given = [f"{name}={value!r}" for name, value in fc_only.items()
                     if value != ExperimentConfig.__dataclass_fields__[name].default]
            if given:
                raise ValueError(f"{', '.join(given)}: these options belong to the fc model, and the "
                                 f"two_layer model has none of them; use --model fc, or drop them")
            return
        for name in ("dropout", "input_dropout"):
            if not 0 <= check_nonnegative(name, fc_only[name]) < 1:
                raise ValueError(f"{name} must be in [0, 1) (the probability of dropping a unit); "
                                 f"got {fc_only[name]!r}")
        if not 0 <= check_nonnegative("label_smoothing", self.label_smoothing) < 1:
            raise ValueError(f"label_smoothing must be in [0, 1) (the share of each target spread over "
                             f"all classes); got {self.label_smoothing!r}")
        check_nonnegative("max_norm", self.max_norm)
        self.hidden_widths()  # raises on a malformed list

    def initial_std(self):
        """The scale of the initial weights: ``std``, or the model's own default when it is
        None (the seed's 1e-4 for two_layer; None for fc, which then uses He initialization).

        Left unresolved in the config itself, so that a preset's config turned
        into another model kind by :func:`dataclasses.replace` takes that
        kind's default.
        """
        if self.std is not None:
            return self.std
        return TWO_LAYER_STD if self.model == "two_layer" else None

    def member_configs(self):
        """The config of each net of the run: ``[self]`` for one net; for an ensemble of K,
        K configs with ``ensemble=1`` that differ only in their seed.

        Net 0 takes ``seed`` itself, so it is the very net a single run with
        this seed trains; net k >= 1 takes a seed drawn from
        ``np.random.SeedSequence((seed, k))``, the same whatever K, so the
        first k nets of a larger ensemble are those of a smaller one, and
        the ensembles of seeds 0, 1, 2 share no net.
        """
        if self.ensemble == 1:
            return [self]
        return [dataclasses.replace(self, ensemble=1, seed=self.seed if k == 0 else
                                    int(np.random.SeedSequence((self.seed, k)).generate_state(1)[0]))
                for k in range(self.ensemble)]

    def train_config(self):
        """The :class:`~cattern.trainer.TrainConfig` of this run.

        Every field the two dataclasses share is passed on, so an option added
        to both (a schedule, say) reaches the trainer without a change here;
        ``tests/test_experiment.py`` checks that the shared fields agree.
        """
        shared = {f.name for f in dataclasses.fields(TrainConfig)} & {f.name for f in dataclasses.fields(self)}
        return TrainConfig(**{name: getattr(self, name) for name in shared})

    def hidden_widths(self):
        """The hidden widths as a list of ints: ``hidden_dims`` parsed, or [hidden_size]."""
        if not self.hidden_dims.strip():
            return [self.hidden_size]
        try:
            return [check_positive_int("hidden width", int(part)) for part in self.hidden_dims.split(",")]
        except ValueError:
            raise ValueError(f"hidden_dims must be positive integers separated by commas, "
                             f"e.g. '1024,1024'; got {self.hidden_dims!r}") from None

    def augmenter(self, mean_image):
        """The :class:`~cattern.augment.Augmenter` of this run, or None without augmentation.

        ``mean_image`` (D,) is what was subtracted from the data, added back
        before the images are moved (see :mod:`cattern.augment`); the images
        are taken as square, sqrt(D) pixels a side (28 for MNIST).
        """
        if not (self.augment_shift or self.augment_rotation or self.augment_scale or self.elastic_alpha
                or self.augment_thickness):
            return None
        side = 28 if mean_image is None else math.isqrt(np.size(mean_image))
        if mean_image is not None and side * side != np.size(mean_image):
            raise ValueError(f"augmentation needs square images, but rows have {np.size(mean_image)} "
                             f"pixels; turn the augment_* options off for this data")
        return self._augmenter(mean_image, (side, side))

    def _augmenter(self, mean_image, shape=(28, 28)):
        """The Augmenter of these fields, its errors naming the fields (``augment_scale``,
        not the Augmenter's ``max_scale``), so a command-line user reads the option."""
        try:
            return Augmenter(**{theirs: getattr(self, ours) for ours, theirs in _AUGMENTER_FIELDS.items()},
                             image_shape=shape, offset=mean_image)
        except ValueError as err:
            ours = {theirs: ours for ours, theirs in _AUGMENTER_FIELDS.items()}
            raise ValueError(re.sub(r"\b(\w+)(?= must)", lambda m: ours.get(m.group(1), m.group(1)),
                                    str(err))) from None

    def to_dict(self):
        """The config as a plain dict of JSON-safe values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Rebuild a config from :meth:`to_dict`'s output; unknown keys are an error.

        Keys missing from ``values`` take the current defaults, so a file
        written before a field was added still loads.
        """
        if not isinstance(values, dict):
            raise ValueError(f"a config must be a dict of field names to values; got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; known fields are {sorted(known)}")
        return cls(**values)


# ----------------------------------------------------------------------
# Model kinds: how to build each one from a config
# ----------------------------------------------------------------------

class ModelKind(NamedTuple):
    """A model class and how to build a fresh one from a config.

    ``build(cfg, input_size, num_classes) -> model``. :mod:`cattern.model_io`
    uses ``cls`` to name a model's kind when saving, and ``build`` to rebuild
    it (then fills in the saved parameters) when loading.
    """

    cls: type
    build: Callable[[ExperimentConfig, int, int], Any]


def _build_two_layer(cfg, input_size, num_classes):
    return TwoLayerNet(input_size, cfg.hidden_size, num_classes, std=cfg.initial_std(),
                       seed=cfg.seed, dtype=np.dtype(cfg.dtype))


def _build_fc(cfg, input_size, num_classes):
    return FullyConnectedNet(
        input_size, cfg.hidden_widths(), num_classes, dropout=cfg.dropout, input_dropout=cfg.input_dropout,
        normalization=None if cfg.normalization == "none" else cfg.normalization,
        weight_scale="he" if cfg.std is None else cfg.std,
        max_norm=cfg.max_norm or None, label_smoothing=cfg.label_smoothing, dtype=np.dtype(cfg.dtype),
        seed=cfg.seed)


MODEL_KINDS = {
    "two_layer": ModelKind(TwoLayerNet, _build_two_layer),
    "fc": ModelKind(FullyConnectedNet, _build_fc),
}


def memory_estimate(cfg, input_size, num_classes):
    """Bytes a run of ``cfg`` needs at least, for D = input_size inputs and C classes.

    The parameters are held about five times over (the weights, their
    gradients, the update rule's state, its scratch array, the best epoch's
    copy) and every layer's activations and their gradients about four times
    per example of a batch: a floor, not a forecast. An ensemble's nets are
    all kept: once more each; those trained at once (``ensemble_jobs``) each
    hold their own activations.
    """
    widths = [input_size, *cfg.hidden_widths(), num_classes]
    itemsize = np.dtype(cfg.dtype).itemsize
    num_params = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    at_once = min(cfg.ensemble, cfg.ensemble_jobs)
    return itemsize * ((4 * at_once + cfg.ensemble) * num_params + 4 * cfg.batch_size * sum(widths[1:]) * at_once)


def machine_memory():
    """This machine's physical memory, in bytes."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits_in_memory(cfg, input_size, num_classes, available=None):
    """Refuse, before allocating, a net that needs more than half of this machine's memory."""
    if available is None:
        available = machine_memory()
    need = memory_estimate(cfg, input_size, num_classes)
    if need > available / 2:
        widths = ",".join(map(str, cfg.hidden_widths()))
        raise NetTooLargeError(f"a {cfg.model} net with hidden widths {widths} on {input_size} inputs needs "
                          f"about {need / 2**30:.1f} GiB ({cfg.dtype}), more than half of this machine's "
                          f"{available / 2**30:.1f} GiB; choose fewer hidden units")


def build_model(cfg, input_size, num_classes):
    """A freshly initialized model of kind ``cfg.model`` for D = input_size inputs and C classes;
    with ``cfg.ensemble`` = K >= 2, an :class:`~cattern.models.ensemble.Ensemble` of K of them
    (:meth:`ExperimentConfig.member_configs`).

    Raises MemoryError, before allocating anything, for a net too large for
    this machine (:func:`check_fits_in_memory`).
    """
    check_fits_in_memory(cfg, input_size, num_classes)
    nets = [MODEL_KINDS[cfg.model].build(member, input_size, num_classes) for member in cfg.member_configs()]
    return nets[0] if cfg.ensemble == 1 else Ensemble(nets)


def trained_config(cfg, model):
    """``cfg`` with ``ensemble`` set to the number of nets ``model`` holds.

    An ensemble whose training was interrupted (Ctrl-C with
    ``catch_interrupt``) holds only the nets trained so far; since the nets'
    seeds do not depend on K (:meth:`ExperimentConfig.member_configs`), this
    config describes them exactly, and it is the one to save with the model.
    """
    return dataclasses.replace(cfg, ensemble=len(model.members) if isinstance(model, Ensemble) else 1)


def build_trainer(cfg, X, y, y_val, callbacks=(), mean_image=None):
    """The :class:`~cattern.trainer.Trainer` that :func:`train_model` fits: a new model and its config.

    X (N, D), y (N,) and y_val (or None) size the model: D from X, C = max(y, y_val) + 1
    (at least 2). See :func:`train_model` for the other arguments.
    """
    if cfg.ensemble != 1:
        raise ValueError(f"ensemble={cfg.ensemble} trains {cfg.ensemble} nets, and a trainer trains one: "
                         f"train them all with train_model, or build each net's trainer from "
                         f"cfg.member_configs()")
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be (N, D) rows; got shape {X.shape}. Reshape images with X.reshape(len(X), -1)")
    num_classes = max(2, int(np.max(y)) + 1, 0 if y_val is None else int(np.max(y_val)) + 1)
    model = build_model(cfg, X.shape[1], num_classes)
    train_config = cfg.train_config()
    if cfg.augmenter(None) is not None:
        if mean_image is None:
            raise ValueError("this config augments the training images, which needs the mean image "
                             "subtracted from X: pass mean_image=... (zeros if X is raw pixels)")
        train_config = dataclasses.replace(train_config, augment=cfg.augmenter(np.asarray(mean_image)))
    return Trainer(model, train_config, callbacks=callbacks)


def net_histories(history):
    """One training history per net: an ensemble's ``history["members"]``, or ``[history]``."""
    if isinstance(history, dict) and "members" in history:
        return list(history["members"])
    return [history]


def train_model(cfg, X, y, X_val, y_val, callbacks=(), mean_image=None):
    """Build a model as ``cfg`` says and train it; with ``cfg.ensemble`` = K >= 2, train
    K nets (:meth:`ExperimentConfig.member_configs`) into an
    :class:`~cattern.models.ensemble.Ensemble`, one after another, or
    ``cfg.ensemble_jobs`` at a time (:func:`fit_at_once`).

    Inputs:
    - cfg: an :class:`ExperimentConfig`
    - X: (N, D) training inputs (already preprocessed); y: (N,) labels in [0, C)
    - X_val: (N_val, D) validation inputs; y_val: (N_val,) labels; both None
      when there are none (``cfg.train_on_validation``: they are in X)
    - callbacks: :class:`~cattern.trainer.Callback` objects (progress bars...),
      or a function ``callbacks(k)`` giving net k's: an ensemble's nets then
      each get their own (a :class:`~cattern.diagnosis.TrainingDoctor`
      records one run). Nets trained at once need the function.
    - mean_image: (D,) the image subtracted from X, needed only when ``cfg``
      augments (the images are moved in raw pixels); pass zeros for raw X

    Returns (model, history): the model holds its FINAL parameters (the best
    epoch's with ``cfg.restore_best``), and history is the trainer's dict
    (``loss_history``, ``train_acc_history``, ``val_acc_history``); for an
    ensemble, ``{"members": [each net's history]}``. Ctrl-C with
    ``cfg.catch_interrupt`` ends the nets in training as it ends a single run
    and starts no further nets: the model holds the nets trained so far (one
    of them: that net itself), and :func:`trained_config` gives the config
    that describes it. Raises :class:`~cattern.errors.DivergedError` if the
    loss becomes NaN or infinite.
    """
    members = cfg.member_configs()
    jobs = min(cfg.ensemble_jobs, len(members))
    if jobs > 1 and not callable(callbacks) and callbacks:
        raise ValueError("nets trained at once (ensemble_jobs >= 2) need callbacks of their own: pass a "
                         "function callbacks(k) that gives net k's")

    def trainer(k, extra=()):
        own = callbacks(k) if callable(callbacks) else callbacks
        return build_trainer(members[k], X, y, y_val, [*own, *extra], mean_image)

    if jobs > 1:
        fitted = fit_at_once(trainer, len(members), jobs, X, y, X_val, y_val)
        nets, histories = [t.model for t, _ in fitted], [history for _, history in fitted]
    else:
        nets, histories = [], []
        for k in range(len(members)):
            t = trainer(k)
            histories.append(t.fit(X, y, X_val, y_val))
            nets.append(t.model)
            if histories[-1].get("interrupted"):
                break
    if len(nets) == 1:
        return nets[0], histories[0]
    history = {"members": histories}
    if any(h.get("interrupted") for h in histories):
        history["interrupted"] = True
    return Ensemble(nets), history


class _StopWhenSet(Callback):
    """Raise KeyboardInterrupt in a net's own thread once ``event`` is set: the way
    Ctrl-C, which only the main thread receives, reaches a net trained in another."""

    def __init__(self, event):
        self.event = event

    def on_iteration_end(self, trainer, iteration, loss):
        if self.event.is_set():
            raise KeyboardInterrupt


def fit_at_once(make_trainer, count, jobs, X, y, X_val, y_val):
    """Fit ``count`` trainers, ``jobs`` at a time, in threads of this process.

    Why threads: NumPy lets go of Python's lock inside its loops and BLAS
    calls, so the nets really train side by side, and each net's callbacks
    (progress bar, doctor) and Ctrl-C work as for one net. Each BLAS call
    uses one thread: on 2 cores, two nets side by side train about 1.35
    times as many epochs an hour as one net on both cores, since much of a
    step (the update rule, batch norm, dropout, the distortions) runs on one
    core anyway (``python benchmarks/ensemble_jobs.py``). One BLAS thread
    also fixes the numbers, which depend on BLAS's thread count: the same
    for any ``jobs`` >= 2.

    Inputs:
    - make_trainer: ``make_trainer(k, extra_callbacks)`` -> net k's Trainer
    - count, jobs: number of nets, and of nets trained at once
    - X, y, X_val, y_val: as for :meth:`Trainer.fit`

    Returns [(trainer, history)] of the nets trained, in order: all of them,
    or after Ctrl-C those that had started (each ended as Ctrl-C ends a
    run). Ctrl-C without ``catch_interrupt``, or a net's error (such as
    DivergedError), stops the others and is raised here.
    """
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    from threadpoolctl import threadpool_limits

    stop = threading.Event()
    trainers = [make_trainer(k, [_StopWhenSet(stop)]) for k in range(count)]
    skipped = object()

    def fit(k):
        if stop.is_set():  # stopped before this net's turn came: it never starts
            return skipped
        return trainers[k].fit(X, y, X_val, y_val)

    def on_ctrl_c(signum, frame):
        stop.set()  # instead of raising KeyboardInterrupt at some point of the bookkeeping below

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_ctrl_c) if in_main else None
    try:
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(jobs) as pool:
            futures = [pool.submit(fit, k) for k in range(count)]
            # In short waits, so that the handler runs soon after a Ctrl-C.
            while not stop.is_set():
                done, pending = wait(futures, timeout=0.2, return_when=FIRST_EXCEPTION)
                if not pending or any(f.exception() is not None for f in done):
                    break
            stop.set()
            wait(futures)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    results = [f.result() if f.exception() is None else f.exception() for f in futures]
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, KeyboardInterrupt):
            raise result  # a net's own error, such as DivergedError
    if any(isinstance(result, KeyboardInterrupt) for result in results):
        raise KeyboardInterrupt  # Ctrl-C, and the nets do not catch it
    return [(t, r) for t, r in zip(trainers, results) if r is not skipped]
