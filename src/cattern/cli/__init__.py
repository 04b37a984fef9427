"""The ``cattern`` command line: one subcommand per module in this package.

Each module ``cattern.cli.<name>`` defines ``add_parser(subparsers)``, which
registers its options, and ``run(args) -> int``, which does the work. The
parsing here is thin on purpose: the options fill config dataclasses, and the
work happens in the library, where it is tested.
"""
import argparse
import difflib
import importlib
import sys

import numpy as np

from cattern.errors import DivergedError, NetTooLargeError

# In the order ``cattern --help`` lists them.
COMMANDS = ("lab", "train", "evaluate", "tune", "serve", "fetch", "gradcheck", "doctor")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and where to look), not the usage text."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(
        prog="cattern",
        description="A neural-network lab in NumPy, on MNIST: the seed's two-layer net, and beyond.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"cattern.cli.{name}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run, _parser=sub)
    return parser


def unrecognized(parser, words):
    """argparse's message for words no option of ``parser`` takes, naming the nearest
    option when one looks misspelt (``--learning_rate`` for ``--learning-rate``)."""
    message = f"unrecognized arguments: {' '.join(words)}"
    options = [option for action in parser._actions for option in action.option_strings]
    for word in words:
        close = difflib.get_close_matches(word.split("=")[0], options, n=1) if word.startswith("-") else []
        if close:
            return f"{message}; did you mean {close[0]}?"
    return message


def main(argv=None):
    # Words left over belong to the subcommand: its parser reports them, so the message
    # says "cattern train" and points at its --help, not at the top-level one.
    args, extra = build_parser().parse_known_args(argv)
    if extra:
        args._parser.error(unrecognized(args._parser, extra))
    try:
        # A run blowing up overflows before its loss turns non-finite; the trainer
        # checks the loss itself and says so in one line (DivergedError, below),
        # so NumPy's own warnings about it would only be lines of noise before that.
        with np.errstate(over="ignore", invalid="ignore"):
            return args._run(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except DivergedError as err:
        print(f"cattern {args.command}: error: {err.reason()}; try a smaller --learning-rate "
              "(or a smaller --std)", file=sys.stderr)
        return 2
    except NetTooLargeError as err:  # refused before allocating; the message says what to do
        print(f"cattern {args.command}: error: {err}", file=sys.stderr)
        return 2
    except MemoryError as err:
        print(f"cattern {args.command}: error: out of memory: {err or 'an allocation failed'}; "
              "choose a smaller net or --batch-size", file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError, ImportError) as err:
        # Bad input, failed downloads and missing extras end with their message, not a
        # traceback: the message already names what is wrong and what to do.
        print(f"cattern {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
