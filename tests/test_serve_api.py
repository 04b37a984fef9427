"""The API of `cattern serve`, against a real uvicorn server on 127.0.0.1.

Good requests get the model's own answers (the ones `cattern evaluate` gets);
every malformed request gets a 4xx with a JSON message naming the problem,
never a 500, and the server keeps serving.
"""
import base64
import json
import re
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from cattern.model_io import load_model
from cattern.preprocess import mnist_style
from cattern.web.app import STATIC_DIR, TestDigits, create_app
from cattern.web.payload import MAX_BODY_BYTES
from cattern.web.server import background
from serve_support import MNIST_DIR, mnist, needs_mnist, post_json, request, mnist_test_pixels, tiny_model_file

pytestmark = needs_mnist


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "serve-model"
    folder.mkdir(exist_ok=True)
    return tiny_model_file(str(folder))


@pytest.fixture(scope="module")
def saved(model_path):
    return load_model(model_path)


@pytest.fixture(scope="module")
def test_set():
    return mnist_test_pixels()


@pytest.fixture(scope="module")
def url(saved, test_set):
    app = create_app(saved, TestDigits.from_arrays(*test_set))
    with background(app) as base:
        yield base


def canvas_payload(ink):
    """The page's canvas message for an (H, W) uint8 ink image."""
    height, width = ink.shape
    return {"canvas": {"width": width, "height": height,
                       "data": base64.b64encode(np.ascontiguousarray(ink, dtype=np.uint8).tobytes()).decode()}}


# ----------------------------------------------------------------------
# Good requests
# ----------------------------------------------------------------------

def test_test_digits_get_the_models_own_predictions(url, saved, test_set):
    X, y = test_set
    idx = np.arange(0, 10000, 50)                           # 200 digits across the test set
    expected = saved.predict(X[idx])                        # what `cattern evaluate` predicts
    for i, want in zip(idx, expected):
        status, answer = post_json(url, {"pixels": X[i].tolist()})
        assert status == 200, answer
        assert answer["source"] == "pixels"
        assert answer["prediction"] == want
        np.testing.assert_allclose(answer["probabilities"], saved.predict_proba(X[i:i + 1])[0], rtol=1e-6)
        assert answer["input"] == np.round(X[i].astype(np.float64), 4).tolist()
    # A real classifier, not a constant answer: most of these are right.
    assert (expected == y[idx]).mean() > 0.85


def test_drawn_canvas_is_made_mnist_style_then_predicted(url, saved, test_set):
    # A test digit blown up 5x and drawn off-centre on a 180 x 160 canvas.
    X, y = test_set
    right = 0
    for i in range(30):
        canvas = np.zeros((180, 160), dtype=np.uint8)
        canvas[30:170, 5:145] = np.kron(np.rint(X[i].reshape(28, 28) * 255).astype(np.uint8), np.ones((5, 5), np.uint8))
        status, answer = post_json(url, canvas_payload(canvas))
        assert status == 200, answer
        digit = mnist_style(canvas / 255.0)                 # the package's own preprocessing
        assert answer["source"] == "canvas"
        np.testing.assert_allclose(answer["input"], digit.reshape(-1), atol=5e-5)
        np.testing.assert_allclose(answer["probabilities"], saved.predict_proba(digit[None])[0], rtol=1e-6)
        right += answer["prediction"] == y[i]
    assert right >= 25  # the digit survives the round trip through the canvas


def test_a_net_trained_on_deskewed_digits_shows_the_digit_deskewed(saved, test_set):
    from dataclasses import replace

    from cattern.data.deskew import deskew
    from cattern.data.splits import Preprocessing
    from cattern.model_io import SavedModel

    prep = Preprocessing(saved.preprocessing.pixel_scale, saved.mean_image, deskew=True)
    upright = SavedModel(saved.model, prep, replace(saved.config, deskew=True), saved.history, saved.num_classes)
    X, _ = test_set
    with background(create_app(upright, TestDigits.from_arrays(*test_set))) as base:
        for i in range(5):
            status, answer = post_json(base, {"pixels": X[i].tolist()})
            assert status == 200, answer
            seen = deskew(X[i].reshape(1, 28, 28))[0].reshape(-1)
            np.testing.assert_allclose(answer["input"], seen, atol=5e-5)
            assert not np.allclose(answer["input"], X[i], atol=1e-3)  # these test digits are slanted
            np.testing.assert_allclose(answer["probabilities"], upright.predict_proba(X[i:i + 1])[0], rtol=1e-6)


def test_answer_explains_with_the_hidden_units_that_fire_most(url, saved, test_set):
    X, _ = test_set
    status, answer = post_json(url, {"pixels": X[0].tolist()})
    assert status == 200
    p = saved.model.params
    hidden = np.maximum((X[0] - saved.mean_image) @ p["W1"] + p["b1"], 0)
    top = np.argsort(-hidden)[:8]
    units = answer["units"]
    assert [u["unit"] for u in units] == top.tolist()
    np.testing.assert_allclose([u["activation"] for u in units], hidden[top], rtol=1e-5)
    c = answer["prediction"]
    np.testing.assert_allclose([u["push"] for u in units], hidden[top] * p["W2"][top, c], rtol=1e-5)
    w = units[0]["weights"]
    assert len(w) == 784 and max(abs(v) for v in w) == 127
    assert np.sign(w).tolist() == np.sign(np.rint(p["W1"][:, top[0]] / np.abs(p["W1"][:, top[0]]).max() * 127)).tolist()


def test_model_info_has_curves_and_the_test_accuracy(url, saved, test_set):
    status, headers, body = request(url + "/api/model")
    assert status == 200
    info = json.loads(body)
    X, y = test_set
    assert info["kind"] == "two_layer" and info["hidden_size"] == 50 and info["layers"] == [784, 50, 10]
    assert info["test_accuracy"] == float((saved.predict(X) == y).mean())
    assert info["digits_total"] == 10000
    loss = saved.history["loss_history"]
    assert len(info["curves"]["loss"]["value"]) == len(loss) == 300  # 300 <= 400 points: kept as is
    np.testing.assert_allclose(info["curves"]["loss"]["value"], loss)
    assert info["curves"]["val_acc"] == saved.history["val_acc_history"]


def test_long_loss_curves_are_averaged_into_at_most_400_points():
    from cattern.web.explain import curves
    loss = np.arange(1000.0)                     # blocks of ceil(1000 / 400) = 3 iterations
    out = curves({"loss_history": loss.tolist(), "train_acc_history": [0.5], "val_acc_history": [0.6]})
    values, iters = out["loss"]["value"], out["loss"]["iteration"]
    assert len(values) == 334                    # 333 full blocks and the last iteration alone
    assert values[:2] == [1.0, 4.0] and iters[:2] == [1.0, 4.0]   # mean of 0,1,2 at iteration 1; of 3,4,5 at 4
    assert values[-1] == 999.0 and iters[-1] == 999.0
    assert curves(None) == {"loss": {"iteration": [], "value": []}, "train_acc": [], "val_acc": []}


def test_digit_strip_serves_the_test_set_as_bytes(url, test_set):
    X, y = test_set
    status, _, body = request(url + "/api/digits?start=40&count=20")
    assert status == 200
    page = json.loads(body)
    assert page["start"] == 40 and page["total"] == 10000 and len(page["digits"]) == 20
    first = page["digits"][0]
    assert first["index"] == 40 and first["label"] == y[40]
    # uint8 / 255 in float32 is exactly the loader's pixel: the page sends back what the loader has.
    np.testing.assert_array_equal(np.float32(first["pixels"]) / np.float32(255), X[40])
    status, _, body = request(url + "/api/digits?start=9990&count=50")
    assert status == 200 and len(json.loads(body)["digits"]) == 10


def test_page_and_assets_come_from_the_app_with_a_strict_policy(url):
    status, headers, body = request(url + "/")
    assert status == 200 and b"<canvas id=\"pad\"" in body
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    for name in ("app.js", "style.css"):
        status, headers, _ = request(f"{url}/static/{name}")
        assert status == 200
    # No CDN, no outside address anywhere in the page's files.
    for path in STATIC_DIR.iterdir():
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", path.read_text()), path


def test_no_cors_and_no_strangers(url):
    status, headers, _ = request(url + "/api/model", headers={"Origin": "http://evil.example"})
    assert status == 200 and "access-control-allow-origin" not in headers
    status, headers, _ = request(url + "/api/predict", "OPTIONS",
                                 headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert status == 405 and "access-control-allow-origin" not in headers
    # A Host other than this machine's loopback names: a DNS-rebinding page is refused.
    status, _, _ = request(url + "/api/model", headers={"Host": "evil.example"})
    assert status == 400


def test_no_file_paths_from_requests(url):
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/api/model.npz",
                 "/static//etc/passwd"):
        status, _, body = request(url + path)
        assert status == 404, (path, status)
        assert b"import" not in body


# ----------------------------------------------------------------------
# Malformed requests: a 4xx with a message, never a 500
# ----------------------------------------------------------------------

GOOD = [0.0] * 784

BAD_BODIES = [
    # (what is wrong, raw body, expected status, words the message must contain)
    ("too few pixels", json.dumps({"pixels": [0.0] * 783}), 422, "must hold 784 numbers (28 x 28, row by row); got 783"),
    ("too many pixels", json.dumps({"pixels": [0.0] * 785}), 422, "got 785"),
    ("no pixels", json.dumps({"pixels": []}), 422, "got 0"),
    ("a NaN", json.dumps({"pixels": GOOD[:5] + [float("nan")] + GOOD[6:]}), 422, "NaN"),
    ("an Infinity", json.dumps({"pixels": [float("inf")] + GOOD[1:]}), 422, "Infinity"),
    ("a -Infinity", json.dumps({"pixels": [float("-inf")] + GOOD[1:]}), 422, "-Infinity"),
    ("an overflowing number", '{"pixels": [1e999' + ", 0" * 783 + "]}", 422, "pixels[0] is inf"),
    ("a null", json.dumps({"pixels": [None] + GOOD[1:]}), 422, "pixels[0] is null, not a number"),
    ("a string", json.dumps({"pixels": GOOD[:9] + ["0.5"] + GOOD[10:]}), 422, "pixels[9] is \"0.5\""),
    ("a boolean", json.dumps({"pixels": [True] + GOOD[1:]}), 422, "pixels[0] is true"),
    ("a nested list", json.dumps({"pixels": [[0.0] * 28] * 28}), 422, "784 numbers (28 x 28, row by row); got 28"),
    ("rows of a list", json.dumps({"pixels": [[0.0]] + GOOD[1:]}), 422, "pixels[0] is [0.0]"),
    ("above 1", json.dumps({"pixels": GOOD[:3] + [255] + GOOD[4:]}), 422, "pixels[3] is 255, outside [0, 1]"),
    ("below 0", json.dumps({"pixels": [-0.5] + GOOD[1:]}), 422, "outside [0, 1]"),
    ("pixels not a list", json.dumps({"pixels": "0" * 784}), 422, "must be a list"),
    ("pixels an object", json.dumps({"pixels": {"0": 1}}), 422, "must be a list"),
    ("a list body", json.dumps(GOOD), 422, "must be a JSON object"),
    ("a string body", json.dumps("pixels"), 422, "must be a JSON object"),
    ("both keys", json.dumps({"pixels": GOOD, "canvas": {}}), 422, "exactly one key"),
    ("an unknown key", json.dumps({"pixel": GOOD}), 422, "exactly one key"),
    ("an empty object", "{}", 422, "exactly one key"),
    ("bad JSON", '{"pixels": [0, 0,', 400, "not valid JSON"),
    ("single quotes", "{'pixels': []}", 400, "not valid JSON"),
    ("an empty body", "", 400, "body is empty"),
    ("not UTF-8", b"\xff\xfe\x00{", 400, "not valid JSON"),
    ("nested too deep", "[" * 30000 + "]" * 30000, 400, "nests too deeply"),
    ("an enormous integer", '{"pixels": [' + "9" * 5000 + "]}", 400, "not valid JSON"),
    # The canvas message
    ("canvas not an object", json.dumps({"canvas": "abc"}), 422, "must be an object"),
    ("canvas missing data", json.dumps({"canvas": {"width": 28, "height": 28}}), 422, "missing ['data']"),
    ("canvas extra key", json.dumps({"canvas": {"width": 28, "height": 28, "data": "", "path": "/etc"}}),
     422, "unexpected ['path']"),
    ("canvas too small", json.dumps({"canvas": {"width": 27, "height": 28, "data": ""}}), 422,
     "width must be a whole number from 28 to 200; got 27"),
    ("canvas too large", json.dumps({"canvas": {"width": 28, "height": 201, "data": ""}}), 422, "got 201"),
    ("canvas side a string", json.dumps({"canvas": {"width": "28", "height": 28, "data": ""}}), 422,
     "got \"28\""),
    ("canvas side a float", json.dumps({"canvas": {"width": 28.5, "height": 28, "data": ""}}), 422, "got 28.5"),
    ("canvas data not base64", json.dumps({"canvas": {"width": 28, "height": 28, "data": "!!!"}}), 422,
     "not valid base64"),
    ("canvas data a list", json.dumps({"canvas": {"width": 28, "height": 28, "data": [0] * 784}}), 422,
     "base64 string; got list"),
    ("canvas data short", json.dumps({"canvas": {"width": 30, "height": 30,
                                                 "data": base64.b64encode(bytes(899)).decode()}}), 422,
     "holds 899 bytes but width x height is 30 x 30 = 900"),
    ("a blank canvas", json.dumps({"canvas": {"width": 28, "height": 28,
                                              "data": base64.b64encode(bytes(784)).decode()}}), 422,
     "blank"),
]


@pytest.mark.parametrize("what, body, status, words", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_malformed_request_gets_a_clear_4xx(url, what, body, status, words):
    raw = body if isinstance(body, bytes) else body.encode()
    got, answer = post_json(url, None, raw=raw)
    assert got == status, answer
    assert words in answer["error"], answer["error"]


def test_wrong_content_type_is_415(url):
    got, answer = post_json(url, {"pixels": GOOD}, content_type="text/plain")
    assert got == 415 and "application/json" in answer["error"]


def test_oversized_body_is_refused_before_parsing(url):
    # By its Content-Length...
    body = json.dumps({"pixels": [0.123456789] * 784}).encode() + b" " * MAX_BODY_BYTES
    got, answer = post_json(url, None, raw=body)
    assert got == 413 and f"is {len(body)} bytes, over the limit of {MAX_BODY_BYTES} bytes" in answer["error"]
    # ...and streamed in chunks with no Content-Length (http.client chunks an iterable body).
    chunks = iter([b"[" + b"0," * 20000] * 3)
    status, _, data = request(url + "/api/predict", "POST", chunks, {"Content-Type": "application/json"})
    assert status == 413 and f"over the limit of {MAX_BODY_BYTES} bytes" in json.loads(data)["error"]


@pytest.mark.parametrize("query, words", [
    ("start=-1", "start must be from 0 to 9999; got -1"),
    ("start=10000", "got 10000"),
    ("start=abc", "start must be a whole number; got 'abc'"),
    ("count=0", "count must be from 1 to 100; got 0"),
    ("count=101", "got 101"),
    ("count=1e3", "whole number"),
])
def test_bad_strip_queries_get_422(url, query, words):
    status, _, body = request(f"{url}/api/digits?{query}")
    assert status == 422 and words in json.loads(body)["error"]


def test_wrong_method_and_unknown_route_are_json_4xx(url):
    for path, method, status in (("/api/predict", "GET", 405), ("/api/model", "POST", 405), ("/api/nope", "GET", 404)):
        got, _, body = request(url + path, method)
        assert got == status and json.loads(body)["error"]


def test_server_still_answers_after_the_bad_requests(url, saved, test_set):
    X, _ = test_set
    status, answer = post_json(url, {"pixels": X[7].tolist()})
    assert status == 200 and answer["prediction"] == saved.predict(X[7:8])[0]


def test_without_test_digits_the_page_says_why(saved):
    with background(create_app(saved, None, digits_note="MNIST was not found")) as base:
        status, _, body = request(base + "/api/model")
        info = json.loads(body)
        assert info["digits_total"] is None and info["digits_note"] == "MNIST was not found"
        status, _, body = request(base + "/api/digits")
        assert status == 404 and json.loads(body)["error"] == "MNIST was not found"


# ----------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------

CLI = [sys.executable, "-c", "import sys; from cattern.cli import main; sys.exit(main())"]


def serve_and_ask(model_path):
    """Run ``cattern serve MODEL`` on a free port, GET /api/model, stop it with Ctrl+C (exit 0)."""
    proc = subprocess.Popen(CLI + ["serve", str(model_path), "--port", "0", "--no-open",
                                   "--data-dir", str(MNIST_DIR)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        status, _, body = request(match.group(0).rstrip("/") + "/api/model")
        assert status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        return json.loads(body)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cattern_serve_serves_a_model_file(model_path, saved):
    assert serve_and_ask(model_path)["hidden_size"] == saved.model.params["W1"].shape[1]


def test_a_client_that_disconnects_mid_body_is_one_log_line(model_path):
    proc = subprocess.Popen(CLI + ["serve", str(model_path), "--port", "0", "--no-open",
                                   "--data-dir", str(MNIST_DIR)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", proc.stdout.readline())
        assert match
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=10) as sock:
            sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"pixels\": [0,")
        status, _, _ = request(match.group(0).rstrip("/") + "/api/model")  # and it still answers
        assert status == 200
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "disconnected" in line]
    assert lines == ["cattern serve: a client disconnected before sending its whole request (14 bytes received)"]


def test_cattern_serve_refuses_a_bad_model_file(tmp_path):
    bad = tmp_path / "not_a_model.npz"
    bad.write_bytes(b"hello")
    result = subprocess.run(CLI + ["serve", str(bad), "--port", "0", "--no-open"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not a readable cattern model file" in result.stderr


def test_cattern_serve_without_model_or_data_says_what_to_do(monkeypatch, capsys):
    # In process, with the loader failing as it does offline with no MNIST anywhere
    # (a real attempt would reach for the network).
    from cattern.cli import main
    from cattern.cli import serve

    def no_mnist(args, verbose=True):
        raise OSError("MNIST is not in /nowhere and the mirrors did not answer")

    monkeypatch.setattr(serve, "load_raw_from_args", no_mnist)
    assert main(["serve", "--port", "0", "--no-open"]) == 2
    err = capsys.readouterr().err
    assert "no MODEL given and MNIST could not be loaded" in err and "/nowhere" in err
    assert "cattern train" in err


def small_fc_file(path, **options):
    """An fc net (or ensemble) of ``options`` trained briefly on 2,000 MNIST images, saved at
    ``path`` and loaded back; returns (SavedModel, history)."""
    from cattern.data.splits import prepare
    from cattern.experiment import ExperimentConfig, train_model
    from cattern.model_io import save_model

    cfg = ExperimentConfig(model="fc", dtype="float32", pixel_scale=1.0, num_iters=30, learning_rate=0.05, **options)
    split = prepare(mnist(), cfg.pixel_scale)
    model, history = train_model(cfg, split.X_train[:2000], split.y_train[:2000], split.X_val[:500],
                                 split.y_val[:500])
    save_model(path, model, preprocessing=split.preprocessing, config=cfg, history=history)
    return load_model(path), history


@pytest.mark.parametrize("options, units, push", [
    ({"hidden_dims": "64"}, 8, True),                                 # one hidden layer: units push the answer
    ({"hidden_dims": "64,32"}, 8, False),                             # deeper: units, but no direct push
    ({"hidden_dims": "64", "normalization": "batchnorm"}, 0, False),  # a norm before the ReLU: no units shown
])
def test_fully_connected_nets_are_served_too(tmp_path, test_set, options, units, push):
    saved, _ = small_fc_file(tmp_path / "fc.npz", **options)
    X_test, _ = test_set
    with background(create_app(saved)) as base:
        status, answer = post_json(base, {"pixels": X_test[0].tolist()})
        assert status == 200
        np.testing.assert_allclose(answer["probabilities"], saved.predict_proba(X_test[:1])[0], rtol=1e-6)
        assert len(answer["units"]) == units
        assert all((u["push"] is not None) == push for u in answer["units"])
        info = json.loads(request(base + "/api/model")[2])
        assert info["kind"] == "fc" and info["layers"] == [784] + [int(w) for w in options["hidden_dims"].split(",")] + [10]


def test_an_ensemble_is_served(tmp_path, test_set):
    saved, history = small_fc_file(tmp_path / "ensemble.npz", hidden_dims="32", ensemble=2)
    X_test, y_test = test_set
    with background(create_app(saved, TestDigits.from_arrays(X_test, y_test))) as base:
        status, answer = post_json(base, {"pixels": X_test[0].tolist()})
        assert status == 200 and answer["units"] == []  # no single first layer to show
        np.testing.assert_allclose(answer["probabilities"], saved.predict_proba(X_test[:1])[0], rtol=1e-6)
        info = json.loads(request(base + "/api/model")[2])
        assert info["nets"] == 2 and info["layers"] == [784, 32, 10] and info["num_params"] == 2 * (785 * 32 + 33 * 10)
        assert len(info["curves"]["val_acc"]) == len(history["members"][0]["val_acc_history"])
        assert info["test_accuracy"] == np.mean(saved.predict(X_test) == y_test)
    assert serve_and_ask(tmp_path / "ensemble.npz")["nets"] == 2
