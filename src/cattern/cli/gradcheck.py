"""``cattern gradcheck``: check a model's gradients, term by term, and name the bug's shape."""
import dataclasses

import numpy as np

from cattern.checks import check_positive_int
from cattern.cli.options import add_config_options, config_from_args, whole_number
from cattern.diagnosis import check_gradients
from cattern.errors import NetTooLargeError
from cattern.experiment import ExperimentConfig, build_model, machine_memory, memory_estimate
from cattern.reference import toy_problem

# The seed's toy problem (cattern.reference.toy_problem): TwoLayerNet(4, 10, 3, std=0.1) on 5 examples, reg 0.05.
TOY_CONFIG = ExperimentConfig(hidden_size=10, std=0.1, reg=0.05)
TOY_SIZES = {"input_size": 4, "num_classes": 3, "num_inputs": 5}


def add_parser(subparsers):
    """Register ``gradcheck`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "gradcheck",
        help="check a model's gradients against centered differences and name the bug's shape",
        description="Compare every parameter array's analytic gradient with centered differences, "
                    "for the data loss and the L2 penalty apart, leaving out the entries whose step "
                    "crosses a ReLU kink or whose gradients vanished; print a verdict per array in "
                    "the cs231n bands and, for a failure, the shape of the bug. Without options it "
                    "checks the seed's toy problem (TwoLayerNet(4, 10, 3, std=0.1) on its 5 examples, "
                    "reg 0.05); the training options describe any other net (--model fc --hidden-dims "
                    "20,20 --normalization batchnorm ...), checked on random data drawn from --seed. "
                    "Exit status: 0 no bug found, 1 a bug found, 2 bad options or nothing could be "
                    "judged (e.g. float32).",
    )
    problem = parser.add_argument_group("the problem")
    problem.add_argument("--num-inputs", type=int, default=TOY_SIZES["num_inputs"], metavar="N",
                         help="examples in the batch (default: 5)")
    problem.add_argument("--input-size", type=int, default=TOY_SIZES["input_size"], metavar="D",
                         help="features per example (default: 4)")
    problem.add_argument("--num-classes", type=int, default=TOY_SIZES["num_classes"], metavar="C",
                         help="classes (default: 3)")
    problem.add_argument("--max-entries", type=whole_number(1), default=None, metavar="K",
                         help="check at most K random entries of each array (default: every entry)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (one shows on a terminal once a check has taken a second)")
    add_config_options(parser, base=TOY_CONFIG)
    return parser


def run(args):
    """Check the gradients and print the report; returns 0 (no bug), 1 (a bug) or 2 (not judged)."""
    cfg, model, X, y = build_problem(args)
    report = check_gradients(model, X, y, reg=cfg.reg, max_entries=args.max_entries, seed=cfg.seed,
                             progress=not args.no_progress)
    print(report.format())
    if report.bugs:
        return 1
    return 0 if report.passed else 2


def build_problem(args):
    """(config, model, X (N, D), y (N,)) as the options say: the seed's toy numbers when
    nothing but the dtype or reg is given, else weights and data drawn from the seed."""
    N, D, C = (check_positive_int(f"--{name.replace('_', '-')}", getattr(args, name))
               for name in ("num_inputs", "input_size", "num_classes"))
    cfg = config_from_args(args, TOY_CONFIG)  # every option checked, for every model kind
    check_problem_fits(cfg, N, D, C)
    model = build_model(cfg, D, C)
    if dataclasses.replace(cfg, dtype=TOY_CONFIG.dtype, reg=TOY_CONFIG.reg) == TOY_CONFIG and \
            all(getattr(args, name) == size for name, size in TOY_SIZES.items()) and args.seed is None:
        # The same architecture, with the toy's weights (drawn from NumPy's global state, as
        # the seed draws them) copied in, in the model's dtype.
        toy_net, X, y = toy_problem()
        for key, value in toy_net.params.items():
            model.params[key][...] = value
        return cfg, model, X, y
    rng = np.random.default_rng([cfg.seed, 1])  # a stream apart from the weights' default_rng(seed)
    return cfg, model, rng.standard_normal((N, D)), rng.integers(C, size=N)


def check_problem_fits(cfg, N, D, C):
    """Refuse, before drawing anything, N examples whose passes need more than half of this
    machine's memory: every pass of the check runs on all N at once, as one batch."""
    available = machine_memory()
    need = memory_estimate(dataclasses.replace(cfg, batch_size=N), D, C) + 8 * N * D  # and X, float64
    if need > available / 2:
        raise NetTooLargeError(f"--num-inputs {N}: every pass of the check runs on all {N} examples at once "
                               f"and needs about {need / 2**30:.1f} GiB, more than half of this machine's "
                               f"{available / 2**30:.1f} GiB; a few examples are enough to check gradients "
                               f"(default {TOY_SIZES['num_inputs']})")
