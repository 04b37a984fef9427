"""``cattern serve [MODEL]``: a local page to draw a digit and watch the network classify it."""
import ipaddress
import sys
import tempfile
import threading
import webbrowser
from pathlib import Path

import numpy as np

from cattern.experiment import ExperimentConfig

# The net trained when no MODEL is given: small and quick (a few seconds in
# float32 on two cores), about 96-97 % on the test set. A larger init std
# and rate than the seed's skip its slow start near loss ln 10.
QUICK_CONFIG = ExperimentConfig(
    hidden_size=100, std=0.01, dtype="float32", learning_rate=0.1, learning_rate_decay=0.95,
    momentum=0.9, reg=1e-4, num_iters=600, batch_size=200, seed=0,
)


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
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="folder holding the MNIST .gz files (default: mnist_data, then the cache)")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser")
    return parser


def load_data(data_dir):
    """MNIST as the loader gives it: (X_train, y_train, X_val, y_val, X_test, y_test)."""
    from mnist_data.load_mnist import read_data_sets

    return read_data_sets("mnist_data" if data_dir is None else str(data_dir), verbose=False)


def train_quick(data, cfg=QUICK_CONFIG):
    """Train ``cfg`` on the loader's arrays and return it as a SavedModel.

    The net goes through a model file and back, so the page serves exactly
    what ``cattern train`` followed by ``cattern serve MODEL`` would.
    """
    from cattern.callbacks import ProgressBar
    from cattern.experiment import train_model
    from cattern.model_io import load_model, save_model

    X_train, y_train, X_val, y_val, _, _ = data
    rows = lambda X: np.asarray(X, dtype=np.float32).reshape(len(X), -1)  # noqa: E731
    mean_image = rows(X_train).mean(axis=0, dtype=np.float64).astype(np.float32)  # (D,)
    model, history = train_model(cfg, rows(X_train) - mean_image, y_train, rows(X_val) - mean_image, y_val,
                                 callbacks=[ProgressBar(desc="training a small net")])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "quick.npz"
        save_model(path, model, mean_image=mean_image, config=cfg, history=history)
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
            data = load_data(args.data_dir)
        except (OSError, ValueError, RuntimeError) as err:
            if saved is None:
                raise ValueError(f"no MODEL given and MNIST could not be loaded to train one ({err}); "
                                 "pass a model file from `cattern train`, or --data-dir with the "
                                 "MNIST .gz files") from None
            data, note = None, f"No test digits: MNIST could not be loaded ({err}). Pass --data-dir."
        if saved is None:
            print("No MODEL given: training a small net first (`cattern train` makes a better one).",
                  file=sys.stderr)
            saved = train_quick(data)
        digits = None
        if data is not None:
            digits, note = TestDigits.from_arrays(data[4], data[5]), None

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
