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
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from cattern.checks import check_nonnegative, check_positive_int
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

    def train_config(self):
        """The :class:`~cattern.trainer.TrainConfig` of this run.

        Every field the two dataclasses share is passed on, so an option added
        to both (a schedule, say) reaches the trainer without a change here.
        """
        shared = {f.name for f in dataclasses.fields(TrainConfig)} & {f.name for f in dataclasses.fields(self)}
        return TrainConfig(**{name: getattr(self, name) for name in shared})

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


MODEL_KINDS = {
    "two_layer": ModelKind(TwoLayerNet, _build_two_layer),
}


def build_model(cfg, input_size, num_classes):
    """A freshly initialized model of kind ``cfg.model`` for D = input_size inputs and C classes."""
    return MODEL_KINDS[cfg.model].build(cfg, input_size, num_classes)


def train_model(cfg, X, y, X_val, y_val, callbacks=()):
    """Build a model as ``cfg`` says and train it.

    Inputs:
    - cfg: an :class:`ExperimentConfig`
    - X: (N, D) training inputs (already preprocessed); y: (N,) labels in [0, C)
    - X_val: (N_val, D) validation inputs; y_val: (N_val,) labels
    - callbacks: :class:`~cattern.trainer.Callback` objects (progress bars...)

    C is taken as ``max(y, y_val) + 1``, at least 2.

    Returns (model, history): the model holds its FINAL parameters (not the
    best epoch's), and history is the trainer's dict (``loss_history``,
    ``train_acc_history``, ``val_acc_history``). Raises
    :class:`~cattern.errors.DivergedError` if the loss becomes NaN or infinite.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be (N, D) rows; got shape {X.shape}. Reshape images with X.reshape(len(X), -1)")
    num_classes = max(2, int(np.max(y)) + 1, int(np.max(y_val)) + 1)
    model = build_model(cfg, X.shape[1], num_classes)
    history = Trainer(model, cfg.train_config(), callbacks=callbacks).fit(X, y, X_val, y_val)
    return model, history


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


def _option_type(annotation):
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
            "--" + f.name.replace("_", "-"), dest=f.name, type=_option_type(hints[f.name]),
            default=None, choices=choices, metavar=None if choices else f.name.upper(),
            help=f"{f.metadata.get('help', '')} (default: {getattr(base, f.name)!r})",
        )
    return group


def config_from_args(args, base=ExperimentConfig()):
    """``base`` with every option given on the command line put in."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(ExperimentConfig)
             if getattr(args, f.name, None) is not None}
    return dataclasses.replace(base, **given)
