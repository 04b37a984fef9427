"""``cattern serve [MODEL]``: a local page to draw a digit and watch the network classify it."""
import ipaddress
import sys
import tempfile
import threading
import webbrowser
from pathlib import Path

from cattern.cli.options import add_data_options, load_raw_from_args, whole_number

# The net trained when no MODEL is given (cattern.presets: "quick").
QUICK_PRESET = "quick"


def add_parser(subparsers):
    """Register ``serve`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "serve",
        help="a local web page: draw a digit, see what the network says and why",
        description="Serve a page on which you draw a digit and watch a trained network classify it: "
                    "the digit as the network sees it, the ten probabilities, the hidden units that "
                    "fire most, a strip of test digits to click, and the training curves. Without "
                    "MODEL, trains a small net first (a few seconds).",
    )
    parser.add_argument("model", nargs="?", default=None, metavar="MODEL",
                        help="a model file from `cattern train` (DIR/model.npz); default: train a small one now")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=whole_number(0, 65535), default=8000,
                        help="port (default: 8000; 0 picks a free one)")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser")
    add_data_options(parser)
    return parser


def train_quick(raw, preset=QUICK_PRESET):
    """Train the preset on MNIST (a :class:`~cattern.data.splits.RawData`) and return it as a SavedModel.

    The net goes through a model file and back, so the page serves exactly
    what ``cattern train --preset quick`` followed by ``cattern serve MODEL``
    would.
    """
    from cattern.callbacks import ProgressBar
    from cattern.data.splits import prepare
    from cattern.diagnosis import TrainingDoctor
    from cattern.experiment import train_model
    from cattern.model_io import load_model, save_model
    from cattern.presets import get_preset

    cfg = get_preset(preset)
    split = prepare(raw, cfg.pixel_scale, cfg.deskew, cfg.train_on_validation)
    model, history = train_model(cfg, split.X_train, split.y_train, split.X_val, split.y_val,
                                 callbacks=[TrainingDoctor(split.X_train, split.y_train),
                                            ProgressBar(desc="training a small net")])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "quick.npz"
        save_model(path, model, preprocessing=split.preprocessing, config=cfg, history=history)
        return load_model(path)


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args):
    """Load or train the model, then serve the page until Ctrl+C. Returns the exit status."""
    from cattern.model_io import load_model
    from cattern.web.app import LOOPBACK_HOSTS, TestDigits, create_app
    from cattern.web.server import bind
    from cattern.web.server import run as serve

    saved = load_model(args.model) if args.model else None  # a bad file fails before anything else
    sock = bind(args.host, args.port)                        # so does a port in use
    try:
        try:
            raw = load_raw_from_args(args, verbose=False)
        except (OSError, ValueError, RuntimeError) as err:
            if saved is None:
                raise ValueError(f"no MODEL given and MNIST could not be loaded to train one ({err}); "
                                 "pass a model file from `cattern train`, or --data-dir with the "
                                 "MNIST .gz files") from None
            raw, note = None, f"No test digits: MNIST could not be loaded ({err}). Pass --data-dir."
        if saved is None:
            print("No MODEL given: training a small net first (`cattern train` makes a better one).",
                  file=sys.stderr)
            saved = train_quick(raw)
        digits = None
        if raw is not None:
            digits, note = TestDigits.from_arrays(raw.X_test, raw.y_test), None

        if _is_loopback(args.host):
            allowed = LOOPBACK_HOSTS
        else:
            allowed = ("*",)
            print(f"warning: listening on {args.host}: other machines can reach this page, "
                  "which has no login", file=sys.stderr)
        app = create_app(saved, digits, allowed_hosts=allowed, digits_note=note)
        host, port = sock.getsockname()[:2]
        url = f"http://{'localhost' if host == '::1' else host}:{port}/"
        print(f"cattern serve: {url}  (Ctrl+C stops it)", flush=True)
        if not args.no_open:
            threading.Timer(0.5, webbrowser.open, args=(url,)).start()
        try:
            serve(app, sock)
        except KeyboardInterrupt:  # uvicorn stops cleanly on Ctrl+C, then passes the signal on
            pass
        print("cattern serve: stopped", file=sys.stderr)
    finally:
        sock.close()
    return 0
