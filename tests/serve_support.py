"""What the tests of `cattern serve` share: real MNIST, a tiny trained model file, HTTP calls.

The model is trained once per test session (a few seconds, float32) on real
MNIST, written with ``save_model`` and read back with ``load_model``, so the
tests serve exactly what ``cattern train`` would leave on disk.
"""
import functools
import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"

needs_mnist = [
    pytest.mark.mnist,
    pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"needs the MNIST files in {MNIST_DIR}"),
]

# Small and quick, yet a real classifier (about 94 % on the test set): a
# larger init std and rate than the seed's skip its slow start.
TINY = dict(hidden_size=50, std=0.01, dtype="float32", pixel_scale=1.0, learning_rate=0.1, learning_rate_decay=0.95,
            momentum=0.9, reg=1e-4, num_iters=300, batch_size=200, seed=0)


@functools.lru_cache(maxsize=None)
def mnist():
    """MNIST split as cattern's data module gives it (a RawData: uint8 images)."""
    from cattern.data.splits import load_raw
    return load_raw(MNIST_DIR, verbose=False)


def mnist_test_pixels():
    """(X_test (10000, 784) float32 in [0, 1], as the page sends pixels; y_test (10000,))."""
    data = mnist()
    return (data.X_test.reshape(len(data.X_test), -1) / np.float32(255)).astype(np.float32), data.y_test


@functools.lru_cache(maxsize=None)
def tiny_model_file(folder):
    """Train the TINY net and save it to ``folder``/tiny.npz; returns the path."""
    from cattern.data.splits import prepare
    from cattern.experiment import ExperimentConfig, train_model
    from cattern.model_io import save_model

    cfg = ExperimentConfig(**TINY)
    split = prepare(mnist(), cfg.pixel_scale)
    model, history = train_model(cfg, split.X_train, split.y_train, split.X_val, split.y_val)
    path = Path(folder) / "tiny.npz"
    save_model(path, model, preprocessing=split.preprocessing, config=cfg, history=history)
    return path


def request(url, method="GET", body=None, headers=None):
    """One HTTP request; returns (status, headers dict with lower-case names, body bytes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path or "/", body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def post_json(url, payload, raw=None, content_type="application/json"):
    """POST a payload (or ``raw`` bytes as they are) to /api/predict; returns (status, decoded JSON)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    status, _, data = request(url + "/api/predict", "POST", body, {"Content-Type": content_type})
    return status, json.loads(data)
