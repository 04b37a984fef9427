"""What the prediction API accepts, checked before any of it reaches the model.

A request body is a JSON object with exactly one of two keys:

- ``"pixels"``: 784 numbers in [0, 1], a 28 x 28 digit row by row, ink high,
  already MNIST-style (a test digit from the page's strip, say);
- ``"canvas"``: ``{"width": W, "height": H, "data": BASE64}``, the drawing as
  W x H ink bytes (0 = paper, 255 = full ink) row by row, base64-encoded;
  the server makes it MNIST-style (:mod:`cattern.preprocess`).

Every way a body can be wrong raises :class:`PayloadError` with the HTTP
status to answer and a message naming the problem and the value seen, so the
app answers 4xx with that message and never 500.
"""
import base64
import binascii
import json
import math

import numpy as np

PIXELS = 28 * 28
# A canvas side between MNIST's own 28 and 200: big enough to draw on after
# the page shrinks its 280-pixel canvas, small enough that W * H bytes in
# base64 (4/3 as many) stay well under the body limit (200 * 200 -> 53 KiB).
CANVAS_MIN, CANVAS_MAX = 28, 200
MAX_BODY_BYTES = 64 * 1024


class PayloadError(ValueError):
    """A request the API refuses: ``status`` is the HTTP status to answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _refuse_constant(name):
    # Python's json reads NaN, Infinity and -Infinity, which JSON does not have;
    # a pixel that is not a number must be refused, not fed to the model.
    raise PayloadError(422, f"the body contains {name}, which is not a number; "
                            "every pixel must be a number in [0, 1]")


def parse_json(body):
    """The JSON value in ``body`` (bytes); PayloadError 400 when it is not JSON."""
    if not body:
        raise PayloadError(400, "the request body is empty; send a JSON object with "
                                "\"pixels\" (784 numbers in [0, 1]) or \"canvas\"")
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except PayloadError:
        raise
    except RecursionError:
        raise PayloadError(400, "the body is not usable JSON: it nests too deeply") from None
    except ValueError as err:  # JSONDecodeError, bad UTF-8, over-long integers
        raise PayloadError(400, f"the body is not valid JSON: {err}") from None


def _is_number(value):
    # bool is an int subclass in Python, but true is no pixel value.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(value):
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_pixels(pixels):
    """784 numbers in [0, 1] -> a float64 (784,) array, or PayloadError 422."""
    if not isinstance(pixels, list):
        raise PayloadError(422, f"\"pixels\" must be a list of {PIXELS} numbers in [0, 1]; "
                                f"got {type(pixels).__name__} {_describe(pixels)}")
    if len(pixels) != PIXELS:
        raise PayloadError(422, f"\"pixels\" must hold {PIXELS} numbers (28 x 28, row by row); "
                                f"got {len(pixels)}")
    for i, value in enumerate(pixels):
        if not _is_number(value):
            raise PayloadError(422, f"pixels[{i}] is {_describe(value)}, not a number; "
                                    "every pixel must be a number in [0, 1]")
        if not math.isfinite(value) or not 0 <= value <= 1:
            raise PayloadError(422, f"pixels[{i}] is {_describe(value)}, outside [0, 1]; "
                                    "scale 8-bit pixels by 1/255")
    return np.asarray(pixels, dtype=np.float64)


def check_canvas(canvas):
    """``{"width", "height", "data"}`` -> ink amounts (H, W) float64 in [0, 1], or PayloadError 422."""
    if not isinstance(canvas, dict):
        raise PayloadError(422, "\"canvas\" must be an object {\"width\": W, \"height\": H, "
                                f"\"data\": base64 of W*H bytes}}; got {_describe(canvas)}")
    expected = {"width", "height", "data"}
    if set(canvas) != expected:
        missing, extra = sorted(expected - set(canvas)), sorted(set(canvas) - expected)
        raise PayloadError(422, f"\"canvas\" needs exactly the keys width, height, data; "
                                f"missing {missing}, unexpected {extra}")
    sides = {}
    for key in ("width", "height"):
        value = canvas[key]
        if not isinstance(value, int) or isinstance(value, bool) or not CANVAS_MIN <= value <= CANVAS_MAX:
            raise PayloadError(422, f"canvas {key} must be a whole number from {CANVAS_MIN} to "
                                    f"{CANVAS_MAX}; got {_describe(value)}")
        sides[key] = value
    data = canvas["data"]
    if not isinstance(data, str):
        raise PayloadError(422, f"canvas data must be a base64 string; got {type(data).__name__}")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError(422, "canvas data is not valid base64") from None
    width, height = sides["width"], sides["height"]
    if len(raw) != width * height:
        raise PayloadError(422, f"canvas data holds {len(raw)} bytes but width x height is "
                                f"{width} x {height} = {width * height}; send one byte per pixel")
    ink = np.frombuffer(raw, dtype=np.uint8).reshape(height, width)  # (H, W), row by row
    return ink / 255.0


def parse_predict(body):
    """Check a prediction request body.

    Returns ``("pixels", (784,) array)`` or ``("canvas", (H, W) array)``,
    both float64 in [0, 1]. Raises PayloadError otherwise.
    """
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise PayloadError(422, "the body must be a JSON object with \"pixels\" or \"canvas\"; "
                                f"got {type(payload).__name__} {_describe(payload)}")
    keys = set(payload)
    if len(keys) != 1 or not keys <= {"pixels", "canvas"}:
        raise PayloadError(422, "the body must have exactly one key, \"pixels\" or \"canvas\"; "
                                f"got keys {sorted(keys)}")
    if "pixels" in payload:
        return "pixels", check_pixels(payload["pixels"])
    return "canvas", check_canvas(payload["canvas"])
