"""The page's web app: a Starlette app over one saved network.

Routes:

- ``GET /``: the page (static/index.html); its script and style under ``/static/``
- ``GET /api/model``: what the network is, its training curves, the training
  doctor's findings on them (:func:`cattern.diagnosis.diagnose`), test accuracy
- ``GET /api/digits?start=S&count=N``: N test digits from index S, for the strip
- ``POST /api/predict``: a digit in (see :mod:`cattern.web.payload`), the
  network's answer out: prediction, the ten probabilities, the 28 x 28 input
  as the network saw it, and the hidden units that fired most

Everything the page needs comes from this app: no CDN, no outside request
(the Content-Security-Policy header says so to the browser too). The app
takes no file path from a request; the test digits are the ones the server
was started with. Bad requests get a 4xx with ``{"error": message}``.
"""
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cattern.data.deskew import deskew_rows
from cattern.diagnosis import diagnose, signals_of
from cattern.preprocess import mnist_style
from cattern.web import explain
from cattern.web.payload import MAX_BODY_BYTES, PayloadError, parse_predict

log = logging.getLogger("cattern.serve")
STATIC_DIR = Path(__file__).parent / "static"
# The names a browser uses for a server bound to loopback. Refusing other Host
# headers stops a web page elsewhere from reaching this server through DNS
# rebinding (a hostile name that resolves to 127.0.0.1).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
MAX_STRIP = 100  # digits per /api/digits request

SECURITY_HEADERS = [
    # Only this server's own script, style, images and API: nothing from a CDN.
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
     b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class TestDigits:
    """The strip's test digits: ``images`` (N, 784) uint8, ``labels`` (N,) int64."""

    __test__ = False  # a data holder, not a pytest test class

    images: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_arrays(cls, images, labels):
        """From MNIST images (N, 28, 28[, 1]) or (N, 784), uint8 0..255 or floats in [0, 1]."""
        images = np.asarray(images)
        images = images.reshape(len(images), -1)
        if images.shape[1] != 784:
            raise ValueError(f"test digits must be 28 x 28 = 784 pixels; got shape {images.shape}")
        if images.dtype != np.uint8:
            images = np.rint(np.asarray(images, dtype=np.float64) * 255).astype(np.uint8)
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(images),):
            raise ValueError(f"{len(images)} test digits but labels of shape {labels.shape}")
        return cls(images, labels)


def _layer_widths(model):
    """[D, H1, ..., C] from the weight matrices W1, W2, ... of a fully-connected net."""
    params = getattr(model, "params", {})
    weights = [params[f"W{i}"] for i in range(1, len(params) + 1) if f"W{i}" in params]
    return [int(weights[0].shape[0])] + [int(W.shape[1]) for W in weights] if weights else []


def _findings(saved):
    """The training doctor's findings on the served model's history, as dicts; None without a history."""
    try:
        signals = signals_of(saved.history, saved.num_classes)
    except ValueError:
        return None
    return [finding.to_dict() for finding in diagnose(signals, saved.config)]


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


async def read_body(request, limit=MAX_BODY_BYTES):
    """The request body, refused with PayloadError 413 past ``limit`` bytes.

    A declared Content-Length over the limit is refused before a byte is
    read; a body without one (chunked) is refused as soon as it passes the
    limit, so a huge body is never held in memory nor seen by the parser.
    (Starlette's own ``max_body_size`` answers a bare "Content Too Large";
    this one says what the limit is and what to send instead.)
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadError(413, _too_large(f"{declared} bytes", limit))
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadError(413, _too_large("more than that", limit))
            chunks.append(chunk)
    except ClientDisconnect:
        # A closed tab or a dropped connection: ordinary, worth one line, not a traceback.
        log.warning("cattern serve: a client disconnected before sending its whole request "
                    "(%d bytes received)", size)
        raise PayloadError(400, "the client disconnected mid-request") from None
    return b"".join(chunks)


def _too_large(size, limit):
    return (f"the request body is {size}, over the limit of {limit} bytes; "
            "send 784 pixels or a canvas of at most 200 x 200")


def _int_param(request, name, default, low, high):
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PayloadError(422, f"{name} must be a whole number; got {raw!r}") from None
    if not low <= value <= high:
        raise PayloadError(422, f"{name} must be from {low} to {high}; got {value}")
    return value


def create_app(saved, digits=None, *, allowed_hosts=LOOPBACK_HOSTS, digits_note=None):
    """The app serving ``saved`` (a :class:`cattern.model_io.SavedModel`).

    Inputs:
    - saved: the network; predictions go through ``saved.predict_proba``
    - digits: a :class:`TestDigits` for the strip, or None for no strip
    - allowed_hosts: Host header names accepted; ``("*",)`` accepts any
      (only for a server deliberately bound beyond loopback)
    - digits_note: shown on the page when there is no strip, to say why
    """
    layer = explain.first_layer(saved)
    info = {
        "kind": saved.config.model,
        "config": saved.config.to_dict(),
        "hidden_size": None if layer is None else int(layer[0].shape[1]),
        # An ensemble's nets share their layout; the page shows the first net's curves.
        "nets": len(saved.nets),
        "layers": _layer_widths(saved.nets[0]),
        "num_params": int(sum(p.size for p in getattr(saved.model, "params", {}).values())),
        "curves": explain.curves(saved.histories[0]),
        "findings": _findings(saved),
        "digits_total": None if digits is None else int(len(digits.labels)),
        "digits_note": digits_note,
        "test_accuracy": None,
    }
    if digits is not None:
        # The same predictions `cattern evaluate` makes on these digits.
        info["test_accuracy"] = float((saved.predict(digits.images) == digits.labels).mean())

    async def index(request):
        return FileResponse(STATIC_DIR / "index.html")

    async def model_info(request):
        return JSONResponse(info)

    async def test_digits(request):
        if digits is None:
            return _error(404, digits_note or "this server was started without test digits")
        total = len(digits.labels)
        start = _int_param(request, "start", 0, 0, total - 1)
        count = _int_param(request, "count", 20, 1, MAX_STRIP)
        stop = min(start + count, total)
        return JSONResponse({
            "start": start, "total": total,
            "digits": [{"index": i, "label": int(digits.labels[i]), "pixels": digits.images[i].tolist()}
                       for i in range(start, stop)],
        })

    async def predict(request):
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise PayloadError(415, f"send the body as application/json; got content-type "
                                    f"{content_type or '(none)'!r}")
        kind, values = parse_predict(await read_body(request))
        if kind == "canvas":
            try:
                x = mnist_style(values).reshape(-1)              # (H, W) -> (28, 28) -> (784,)
            except ValueError as err:                            # a blank drawing
                raise PayloadError(422, str(err)) from None
        else:
            x = values.astype(np.float32)                        # (784,)
        # The same function `cattern evaluate` predicts with.
        probabilities = saved.predict_proba(x[None, :])[0]      # (1, 784) -> (C,)
        predicted = int(np.argmax(probabilities))
        # The digit as the net sees it: sheared upright if it was trained on deskewed digits.
        seen = deskew_rows(x[None, :])[0] if saved.preprocessing.deskew else x
        return JSONResponse({
            "source": kind,
            "prediction": predicted,
            "probabilities": [float(p) for p in probabilities],
            "input": np.round(seen.astype(np.float64), 4).tolist(),
            "units": explain.top_units(saved, x, predicted),
        })

    async def payload_error(request, exc):
        return _error(exc.status, exc.message)

    async def http_error(request, exc):
        return _error(exc.status_code, str(exc.detail))

    routes = [
        Route("/", index),
        Route("/api/model", model_info),
        Route("/api/digits", test_digits),
        Route("/api/predict", predict, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if tuple(allowed_hosts) != ("*",):
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={PayloadError: payload_error, HTTPException: http_error},
    )
