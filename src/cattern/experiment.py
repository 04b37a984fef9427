"""One training run, described by one frozen config: build the model, train it.

:class:`ExperimentConfig` holds every option of a run (the model's shape, the
optimizer, the data type, the seed). The command line makes one option per
field (:func:`add_config_arguments`), so a field added here becomes an option
of ``cattern train`` with no other change; presets and searches make variants
with :func:`dataclasses.replace`; every saved model and summary file carries
the config as a dict (:meth:`ExperimentConfig.to_dict`).
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from cattern.augment import Augmenter
from cattern.checks import check_nonnegative, check_positive_int
from cattern.models.fc_net import FullyConnectedNet
from cattern.models.two_layer import TwoLayerNet
from cattern.trainer import TrainConfig, Trainer

DTYPES = ("float32", "float64")


def _option(default, help):
    """A dataclass field whose ``help`` becomes the command-line option's help."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides a training run, besides the data.

    The defaults are the seed's ``TwoLayerNet(input_size, 50, 10)`` trained by
    ``net.train(...)`` with its default arguments; the seed's own runs are in
    :data:`cattern.presets.PRESETS`.
    """

    model: str = _option("two_layer", "model kind, one of MODEL_KINDS")
    hidden_size: int = _option(50, "hidden units H")
    std: float = _option(1e-4, "scale of the initial weights (std * randn)")
    dtype: str = _option("float64", "float64 (exact) or float32 (about twice as fast)")
    learning_rate: float = _option(1e-3, "starting learning rate")
    learning_rate_decay: float = _option(0.95, "factor applied to the rate after each epoch (1 keeps it fixed)")
    momentum: float = _option(0.9, "momentum of SGD with momentum")
    reg: float = _option(5e-6, "L2 regularization strength")
    num_iters: int = _option(2000, "number of parameter updates")
    batch_size: int = _option(200, "examples per update")
    update_rule: str = _option("sgd_momentum", "update rule, a name in cattern.optim.RULES")
    seed: int = _option(0, "seeds the initial weights and the batch order")
    # The "fc" model (FullyConnectedNet); two_layer ignores these.
    hidden_dims: str = _option("", "fc: hidden widths, comma-separated, e.g. 1024,1024 "
                                   "(empty: one layer of hidden_size)")
    dropout: float = _option(0.0, "fc: probability of dropping each hidden unit in training")
    input_dropout: float = _option(0.0, "fc: probability of dropping each input pixel in training")
    normalization: str = _option("none", "fc: none, batchnorm or layernorm before each ReLU")
    max_norm: float = _option(0.0, "fc: largest norm of each unit's incoming weights (0: no limit)")
    # The schedule, the update rules' extra hyperparameters, early stopping (see TrainConfig).
    lr_schedule: str = _option("exponential_per_epoch", "learning-rate schedule, a name in "
                                                        "cattern.schedules.SCHEDULES")
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
    catch_interrupt: bool = _option(False, "Ctrl-C ends training cleanly, keeping the run")
    # Augmentation of each training batch (cattern.augment.Augmenter); all 0: none.
    augment_shift: int = _option(0, "augmentation: largest random translation, in whole pixels")
    augment_rotation: float = _option(0.0, "augmentation: largest random rotation, in degrees")
    augment_scale: float = _option(0.0, "augmentation: largest relative random scaling")
    elastic_alpha: float = _option(0.0, "augmentation: strength of elastic distortion, in pixels (0: off)")
    elastic_sigma: float = _option(4.0, "augmentation: smoothness of elastic distortion, in pixels")
    final_test: bool = _option(False, "cattern train: after training, use the test set once on the "
                                      "final model and record its accuracy in summary.json")

    def __post_init__(self):
        if self.model not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {self.model!r}; choose one of {sorted(MODEL_KINDS)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {list(DTYPES)}; got {self.dtype!r}")
        check_positive_int("hidden_size", self.hidden_size)
        check_nonnegative("std", self.std)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0; got {self.seed!r}")
        self.train_config()  # the trainer's own checks: rates, sizes, the rule's name
        if self.normalization not in ("none", "batchnorm", "layernorm"):
            raise ValueError(f"normalization must be one of ['none', 'batchnorm', 'layernorm']; "
                             f"got {self.normalization!r}")
        self.hidden_widths()  # raises on a malformed list
        self.augmenter(None)  # the augmenter's own checks

    def train_config(self):
        """The :class:`~cattern.trainer.TrainConfig` of this run.

        Every field the two dataclasses share is passed on, so an option added
        to both (a schedule, say) reaches the trainer without a change here.
        """
        shared = {f.name for f in dataclasses.fields(TrainConfig)} & {f.name for f in dataclasses.fields(self)}
        return TrainConfig(**{name: getattr(self, name) for name in shared})

    def hidden_widths(self):
        """The fc net's hidden widths as a list of ints: ``hidden_dims`` parsed, or [hidden_size]."""
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
        if not (self.augment_shift or self.augment_rotation or self.augment_scale or self.elastic_alpha):
            return None
        side = 28 if mean_image is None else math.isqrt(np.size(mean_image))
        if mean_image is not None and side * side != np.size(mean_image):
            raise ValueError(f"augmentation needs square images, but rows have {np.size(mean_image)} "
                             f"pixels; turn the augment_* options off for this data")
        return Augmenter(max_shift=self.augment_shift, max_rotation=self.augment_rotation,
                         max_scale=self.augment_scale, elastic_alpha=self.elastic_alpha,
                         elastic_sigma=self.elastic_sigma, image_shape=(side, side), offset=mean_image)

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
    return TwoLayerNet(input_size, cfg.hidden_size, num_classes, std=cfg.std,
                       seed=cfg.seed, dtype=np.dtype(cfg.dtype))


def _build_fc(cfg, input_size, num_classes):
    return FullyConnectedNet(
        input_size, cfg.hidden_widths(), num_classes, dropout=cfg.dropout, input_dropout=cfg.input_dropout,
        normalization=None if cfg.normalization == "none" else cfg.normalization,
        max_norm=cfg.max_norm or None, dtype=np.dtype(cfg.dtype), seed=cfg.seed)


MODEL_KINDS = {
    "two_layer": ModelKind(TwoLayerNet, _build_two_layer),
    "fc": ModelKind(FullyConnectedNet, _build_fc),
}


def build_model(cfg, input_size, num_classes):
    """A freshly initialized model of kind ``cfg.model`` for D = input_size inputs and C classes."""
    return MODEL_KINDS[cfg.model].build(cfg, input_size, num_classes)


def train_model(cfg, X, y, X_val, y_val, callbacks=(), mean_image=None):
    """Build a model as ``cfg`` says and train it.

    Inputs:
    - cfg: an :class:`ExperimentConfig`
    - X: (N, D) training inputs (already preprocessed); y: (N,) labels in [0, C)
    - X_val: (N_val, D) validation inputs; y_val: (N_val,) labels
    - callbacks: :class:`~cattern.trainer.Callback` objects (progress bars...)
    - mean_image: (D,) the image subtracted from X, needed only when ``cfg``
      augments (the images are moved in raw pixels); pass zeros for raw X

    C is taken as ``max(y, y_val) + 1``, at least 2.

    Returns (model, history): the model holds its FINAL parameters (the best
    epoch's with ``cfg.restore_best``), and history is the trainer's dict
    (``loss_history``, ``train_acc_history``, ``val_acc_history``). Raises
    :class:`~cattern.errors.DivergedError` if the loss becomes NaN or infinite.
    """
    trainer = build_trainer(cfg, X, y, y_val, callbacks, mean_image)
    history = trainer.fit(X, y, X_val, y_val)
    return trainer.model, history


def build_trainer(cfg, X, y, y_val, callbacks=(), mean_image=None):
    """The :class:`~cattern.trainer.Trainer` :func:`train_model` fits: its new model and config.

    X, y and y_val size the model (D from X, C from the labels); see
    :func:`train_model` for the arguments.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be (N, D) rows; got shape {X.shape}. Reshape images with X.reshape(len(X), -1)")
    num_classes = max(2, int(np.max(y)) + 1, int(np.max(y_val)) + 1)
    model = build_model(cfg, X.shape[1], num_classes)
    train_config = cfg.train_config()
    if cfg.augmenter(None) is not None:
        if mean_image is None:
            raise ValueError("this config augments the training images, which needs the mean image "
                             "subtracted from X: pass mean_image=... (zeros if X is raw pixels)")
        train_config = dataclasses.replace(train_config, augment=cfg.augmenter(np.asarray(mean_image)))
    return Trainer(model, train_config, callbacks=callbacks)


# ----------------------------------------------------------------------
# The command line: one option per field
# ----------------------------------------------------------------------

def _parse_bool(text):
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def option_type(annotation):
    """The argparse ``type`` for a field's annotation (``int``, ``float | None``...)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if args else annotation
    return _parse_bool if base is bool else base


def add_config_arguments(parser, base=ExperimentConfig()):
    """Add one ``--field-name`` option per :class:`ExperimentConfig` field.

    Every option defaults to None (not given), so :func:`config_from_args`
    can tell an explicit option from a preset's value; the help shows
    ``base``'s value.
    """
    hints = typing.get_type_hints(ExperimentConfig)
    group = parser.add_argument_group("training options (each overrides the preset)")
    for f in dataclasses.fields(ExperimentConfig):
        choices = {"model": sorted(MODEL_KINDS), "dtype": list(DTYPES)}.get(f.name)
        group.add_argument(
            "--" + f.name.replace("_", "-"), dest=f.name, type=option_type(hints[f.name]),
            default=None, choices=choices, metavar=None if choices else f.name.upper(),
            help=f"{f.metadata.get('help', '')} (default: {getattr(base, f.name)!r})",
        )
    return group


def config_from_args(args, base=ExperimentConfig()):
    """``base`` with every option given on the command line put in."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(ExperimentConfig)
             if getattr(args, f.name, None) is not None}
    return dataclasses.replace(base, **given)
