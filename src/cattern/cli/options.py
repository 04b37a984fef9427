"""The options the subcommands share, each built in one place.

- Training options: one ``--field-name`` per field of
  :class:`cattern.experiment.ExperimentConfig`, with its help, type and
  choices (:func:`add_config_options`). ``cattern train`` takes one value
  each; ``cattern tune`` and ``cattern lab`` take one or more, and a search
  tries every combination (:func:`search_configs`).
- Data options: ``--data-dir``, ``--validation-size``, ``--no-verify``
  (:func:`add_data_options`, :func:`load_raw_from_args`). The pixel scale is
  a training option (``--pixel-scale``), since the net is trained on it;
  ``evaluate`` and ``serve`` use the scale a model file records.
"""
import argparse
import contextlib
import dataclasses
import re
import typing

from cattern.data.splits import load_raw
from cattern.experiment import ExperimentConfig, field_type
from cattern.tuning.space import grid, preset_configs, random_configs

RANGE = ".."


def parse_bool(text):
    """"true"/"false" (and yes/no, on/off, 1/0) as a bool, for argparse."""
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def whole_number(low, high=None):
    """An argparse type: a whole number in [low, high], else a message naming the range."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}, got {value}")
        return value
    parse.__name__ = "whole number"  # argparse names the type in its own messages
    return parse


def worker_count(text):
    """An argparse type for --n-jobs: a number of workers >= 1, or -1 for one per core."""
    value = whole_number(-1)(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a number of workers >= 1, or -1 for one per core; got 0")
    return value


def config_fields(exclude=()):
    """``(field, converter, choices)`` for each ExperimentConfig field not in ``exclude``.

    ``converter(text)`` turns one command-line word into the field's type.
    """
    hints = typing.get_type_hints(ExperimentConfig)
    for f in dataclasses.fields(ExperimentConfig):
        if f.name in exclude:
            continue
        kind = field_type(hints[f.name])
        yield f, parse_bool if kind is bool else kind, f.metadata["choices"]


def flag(name):
    """The option of a field: ``--hidden-size`` for ``hidden_size``."""
    return "--" + name.replace("_", "-")


def add_config_options(parser, *, many=False, base=ExperimentConfig(), exclude=()):
    """Add one option per ExperimentConfig field, defaulting to None (not given).

    ``many`` makes each option take one or more values (a search), kept as
    the words given for :func:`search_configs` to parse, since a search also
    takes ``LOW..HIGH`` ranges. The help shows ``base``'s value.
    """
    title = "training options (one or more values each)" if many else "training options (each overrides the preset)"
    group = parser.add_argument_group(title)
    for f, convert, choices in config_fields(exclude):
        shown = f" {{{','.join(map(str, choices))}}}" if choices else ""
        group.add_argument(
            flag(f.name), dest=f.name, default=None, metavar=f.name.upper(),
            nargs="+" if many else None, type=None if many else convert, choices=None if many else choices,
            help=f"{f.metadata['help']}{shown} (default: {getattr(base, f.name)!r})",
        )
    return group


def config_from_args(args, base=ExperimentConfig()):
    """``base`` with every training option given on the command line put in.

    A bad value raises ValueError naming the option (``--learning-rate``),
    not the Python field.
    """
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(ExperimentConfig)
             if getattr(args, f.name, None) is not None}
    with options_named():
        return dataclasses.replace(base, **given)


@contextlib.contextmanager
def options_named():
    """Re-raise a ValueError from the config with its fields spelled as options.

    ``learning_rate must be ...`` becomes ``--learning-rate must be ...``; a
    field name is replaced only where it is the subject of the message (before
    " must" or "="), so words such as "model" elsewhere stay words.
    """
    try:
        yield
    except ValueError as err:
        names = "|".join(sorted((f.name for f in dataclasses.fields(ExperimentConfig)), key=len, reverse=True))
        text = re.sub(rf"\b({names})(?= must|=)", lambda m: flag(m.group(1)), str(err))
        raise ValueError(text) from None


def parse_value(name, text):
    """One word of a many-valued option: a value of the field's type, or a ``LOW..HIGH`` range tuple."""
    if RANGE in text:
        low, _, high = text.partition(RANGE)
        return (parse_value(name, low), parse_value(name, high))
    _, convert, choices = {entry[0].name: entry for entry in config_fields()}[name]
    try:
        value = convert(text)
    except (ValueError, argparse.ArgumentTypeError):
        expected = "true or false" if convert is parse_bool else f"{convert.__name__} values"
        raise ValueError(f"{flag(name)} takes {expected}; got {text!r}") from None
    if choices is not None and value not in choices:
        raise ValueError(f"{flag(name)} must be one of {list(choices)}; got {text!r}")
    return value


def search_configs(args, preset=None, random=None, seed=0, exclude=("seed",)):
    """The configs a search's options describe: a grid (over a preset's configs) or random draws.

    - args: parsed options from :func:`add_config_options` with ``many=True``
    - preset: the name of a search preset to start from (its configs), or None
    - random: N to draw N configs (options may then be ``LOW..HIGH`` ranges,
      drawn log-uniformly), or None for a grid
    - seed: seeds the random draws

    Returns a list of config dicts (see :mod:`cattern.tuning.space`).
    """
    given = {f.name: [parse_value(f.name, word) for word in getattr(args, f.name)]
             for f, _, _ in config_fields(exclude) if getattr(args, f.name, None) is not None}
    ranges = [name for name, values in given.items() if any(isinstance(v, tuple) for v in values)]
    if random is not None:
        if preset:
            raise ValueError("--random draws its own configs; drop --preset, or drop --random to use the preset")
        for name in ranges:
            if len(given[name]) > 1:
                raise ValueError(f"{flag(name)} takes one LOW{RANGE}HIGH range or a list of values")
        space = {name: values[0] if name in ranges or len(values) == 1 else values
                 for name, values in given.items()}
        return random_configs(space, random, seed=seed)
    if ranges:
        raise ValueError(f"LOW{RANGE}HIGH ranges ({', '.join(flag(n) for n in ranges)}) need --random N; "
                         "a grid takes lists of values")
    base = preset_configs(preset) if preset else [{}]
    configs = [{**config, **override} for config in base for override in grid(**given)]
    # An override can make preset configs alike: train each once, first place kept.
    unique = {tuple(sorted(c.items())): c for c in reversed(configs)}
    return list(reversed(unique.values()))


# ----------------------------------------------------------------------
# Data options
# ----------------------------------------------------------------------

def add_data_options(parser, split=True):
    """``--data-dir``, ``--validation-size`` and ``--no-verify``, the same for every subcommand;
    without ``split`` (a subcommand that reads only the test set) no ``--validation-size``,
    an option that would change nothing."""
    group = parser.add_argument_group("data")
    group.add_argument("--data-dir", default=None, metavar="DIR",
                       help="a folder holding MNIST's four files (gzip or plain idx), read first; missing "
                            "files come from the verified cache, downloaded once (default: ./mnist_data "
                            "if it exists, else the cache)")
    if split:
        group.add_argument("--validation-size", type=whole_number(1), default=5000, metavar="N",
                           help="the first N training images validate; the rest train (default: 5000)")
    group.add_argument("--no-verify", action="store_true",
                       help="skip the SHA-256 check of the files in --data-dir (for another data set in "
                            "MNIST's format and file names)")
    return group


def load_raw_from_args(args, verbose=True):
    """The :class:`~cattern.data.splits.RawData` the data options name."""
    # No --validation-size (evaluate) reads only the test set, and the split does not matter:
    # one validation image fits any training set, even another data set's smaller one.
    return load_raw(args.data_dir, validation_size=getattr(args, "validation_size", 1),
                    verify=not args.no_verify, verbose=verbose)
