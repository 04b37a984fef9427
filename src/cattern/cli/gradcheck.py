"""``cattern gradcheck``: check a model's gradients, term by term, and name the bug's shape."""
import numpy as np

from cattern.checks import check_positive_int
from cattern.diagnosis import check_gradients
from cattern.experiment import ExperimentConfig, build_model
from cattern.lab import toy_problem

# The seed's toy problem (lab.toy_problem): TwoLayerNet(4, 10, 3, std=0.1) on 5 examples.
TOY = {"model": "two_layer", "hidden_size": 10, "std": 0.1, "input_size": 4, "num_classes": 3, "num_inputs": 5}
# Options of the fc model only: given with --model two_layer they would be silently ignored.
FC_ONLY = ("hidden_dims", "normalization", "dropout")


def add_parser(subparsers):
    """Register ``gradcheck`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "gradcheck",
        help="check a model's gradients against centered differences and name the bug's shape",
        description="Compare every parameter array's analytic gradient with centered differences, "
                    "for the data loss and the L2 penalty apart, leaving out the entries whose step "
                    "crosses a ReLU kink or whose gradients vanished; print a verdict per array in "
                    "the cs231n bands and, for a failure, the shape of the bug. Without options it "
                    "checks the seed's toy problem (TwoLayerNet(4, 10, 3, std=0.1) on its 5 examples). "
                    "Exit status: 0 no bug found, 1 a bug found, 2 bad options or nothing could be "
                    "judged (e.g. float32).",
    )
    parser.add_argument("--model", default=TOY["model"], metavar="KIND",
                        help="two_layer (TwoLayerNet) or fc (FullyConnectedNet) (default: two_layer)")
    parser.add_argument("--hidden-size", type=int, default=TOY["hidden_size"], metavar="H",
                        help="hidden units of two_layer, or of fc's one hidden layer (default: 10)")
    parser.add_argument("--hidden-dims", default=None, metavar="H1,H2,...",
                        help="fc: hidden widths, comma-separated, e.g. 20,20")
    parser.add_argument("--normalization", default=None, metavar="NORM",
                        help="fc: none, batchnorm or layernorm before each ReLU")
    parser.add_argument("--dropout", type=float, default=None, metavar="P",
                        help="fc: probability of dropping each hidden unit (the masks are held fixed)")
    parser.add_argument("--std", type=float, default=TOY["std"],
                        help="two_layer: scale of the initial weights (default: 0.1)")
    parser.add_argument("--dtype", default="float64", help="float64 or float32 (refused) (default: float64)")
    parser.add_argument("--reg", type=float, default=0.05, help="L2 regularization strength (default: 0.05)")
    parser.add_argument("--num-inputs", type=int, default=TOY["num_inputs"], metavar="N",
                        help="examples in the batch (default: 5)")
    parser.add_argument("--input-size", type=int, default=TOY["input_size"], metavar="D",
                        help="features per example (default: 4)")
    parser.add_argument("--num-classes", type=int, default=TOY["num_classes"], metavar="C",
                        help="classes (default: 3)")
    parser.add_argument("--seed", type=int, default=None,
                        help="draw the weights, the data and the entries checked from this seed, instead of "
                             "using the seed's toy numbers (default: the toy's numbers when the sizes are "
                             "the toy's, else 0)")
    parser.add_argument("--max-entries", type=int, default=None, metavar="K",
                        help="check at most K random entries of each array (default: every entry)")
    return parser


def run(args):
    """Check the gradients and print the report; returns 0 (no bug), 1 (a bug) or 2 (not judged)."""
    model, X, y = build_problem(args)
    report = check_gradients(model, X, y, reg=args.reg, max_entries=args.max_entries, seed=args.seed or 0)
    print(report.format())
    if report.bugs:
        return 1
    return 0 if report.passed else 2


def build_problem(args):
    """The (model, X (N, D), y (N,)) the options describe: the seed's toy numbers, or drawn from --seed."""
    given_fc_only = [f"--{name.replace('_', '-')}" for name in FC_ONLY if getattr(args, name) is not None]
    if args.model == "two_layer" and given_fc_only:
        raise ValueError(f"{', '.join(given_fc_only)} {'applies' if len(given_fc_only) == 1 else 'apply'} to "
                         f"--model fc only; add --model fc or leave {'it' if len(given_fc_only) == 1 else 'them'} out")
    N, D, C = (check_positive_int(f"--{name}", value) for name, value in
               (("num-inputs", args.num_inputs), ("input-size", args.input_size), ("num-classes", args.num_classes)))
    seed = 0 if args.seed is None else args.seed
    cfg = ExperimentConfig(model=args.model, hidden_size=args.hidden_size, std=args.std, dtype=args.dtype,
                           hidden_dims=args.hidden_dims or "", normalization=args.normalization or "none",
                           dropout=args.dropout or 0.0, seed=seed)
    model = build_model(cfg, D, C)
    if args.seed is None and all(getattr(args, key) == value for key, value in TOY.items()):
        # The same architecture, with the toy's weights (drawn from NumPy's global state, as
        # the seed draws them) copied in, in the model's dtype.
        toy_net, X, y = toy_problem()
        for key, value in toy_net.params.items():
            model.params[key][...] = value
        return model, X, y
    rng = np.random.default_rng([seed, 1])  # a stream apart from the weights' default_rng(seed)
    return model, rng.standard_normal((N, D)), rng.integers(C, size=N)
