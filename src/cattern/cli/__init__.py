"""The ``cattern`` command line: one subcommand per module in this package.

Each module ``cattern.cli.<name>`` defines ``add_parser(subparsers)``, which
registers its options, and ``run(args) -> int``, which does the work. The
parsing here is thin on purpose: the options fill config dataclasses, and the
work happens in the library, where it is tested.
"""
import argparse
import importlib
import sys

# In the order ``cattern --help`` lists them.
COMMANDS = ("lab", "train", "evaluate", "fetch", "tune", "serve", "gradcheck", "doctor")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cattern",
        description="A two-layer neural-network lab in NumPy, on MNIST.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"cattern.cli.{name}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args._run(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as err:
        # Bad input and failed downloads end with their message, not a traceback:
        # the message already names what is wrong and what to do.
        print(f"cattern {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
