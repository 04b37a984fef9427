"""The page of `cattern serve` in a real browser: Debian's headless Chromium driven by Playwright.

Browser downloads are impossible here, so Playwright drives /usr/bin/chromium
(the Debian package `chromium`, which .ci/run installs); the test skips only
when that file is absent. Select these tests alone with ``pytest -m browser``.

Set CATTERN_SCREENSHOT=path/to/file.png to keep a copy of the screenshot
(docs/serve.png is made that way).
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from cattern.evaluation import evaluate
from cattern.model_io import load_model
from cattern.web.app import TestDigits, create_app
from cattern.web.server import background
from serve_support import needs_mnist, mnist_test_pixels, tiny_model_file

CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes say: without the networking flags Chromium keeps
# trying to reach Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STRIP_DIGITS = 100  # test digits clicked through the page (5 pages of 20)

pytestmark = [
    pytest.mark.browser,
    *needs_mnist,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run does)"),
]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "serve-model"
    folder.mkdir(exist_ok=True)
    return load_model(tiny_model_file(str(folder)))


@pytest.fixture(scope="module")
def test_set():
    return mnist_test_pixels()


@pytest.fixture(scope="module")
def url(saved, test_set):
    with background(create_app(saved, TestDigits.from_arrays(*test_set))) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, url):
    """A fresh page on the app, ready; fails the test on any script error or outside request."""
    page = browser.new_page(viewport={"width": 1280, "height": 1300})
    problems = []
    page.on("pageerror", lambda err: problems.append(f"script error: {err}"))
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console error: {msg.text}"))
    page.on("request", lambda req: req.url.startswith(url + "/") or problems.append(f"outside request: {req.url}"))
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    page.close()
    assert problems == []


def result(page):
    """What the page shows now: (source, prediction, probabilities, seq)."""
    box = page.locator("#result")
    probs = box.get_attribute("data-probabilities")
    return (box.get_attribute("data-source"), box.get_attribute("data-prediction"),
            json.loads(probs) if probs else None, int(box.get_attribute("data-seq")))


def wait_for_answer(page, source, after_seq):
    page.wait_for_function(
        "([source, seq]) => { const r = document.querySelector('#result');"
        " return r.dataset.source === source && Number(r.dataset.seq) > seq; }",
        arg=[source, after_seq])


def settle(page):
    """Wait until the page has no answer still to come (see markBusy in app.js)."""
    page.wait_for_function("() => document.body.dataset.busy === 'false'")


def stroke(page, points, release=True):
    """Drag the mouse through ``points`` (pad pixels; the pad is 280 x 280 CSS pixels)."""
    box = page.locator("#pad").bounding_box()
    x0, y0 = points[0]
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    if release:
        page.mouse.up()


def test_drawing_a_digit_shows_the_prediction_live(page, tmp_path):
    assert result(page)[0] == "" and page.locator("#prediction").inner_text() == "?"
    # A 7, drawn slowly: the answer appears while the button is still down.
    stroke(page, [(70, 60), (140, 60)], release=False)
    wait_for_answer(page, "canvas", 0)
    box = page.locator("#pad").bounding_box()
    for x, y in [(210, 60), (150, 230)]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    page.mouse.up()
    settle(page)  # the answer for the whole 7, not for part of it

    source, prediction, probs, seq = result(page)
    assert prediction == "7", probs
    assert abs(sum(probs) - 1) < 1e-9
    assert page.locator("#prediction").inner_text() == "7"
    top_bar = page.locator(".bar-row.top")
    assert top_bar.locator(".bar-label").inner_text() == "7"
    assert top_bar.locator(".bar-pct").inner_text() == f"{100 * probs[7]:.1f} %"
    # The digit as the network sees it is drawn, and the units that fire most are shown.
    seen_ink = page.evaluate(
        "() => { const d = document.querySelector('#seen').getContext('2d').getImageData(0, 0, 28, 28).data;"
        " let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i] > 0; return n; }")
    assert 40 < seen_ink < 400
    assert page.locator("#units .unit").count() == 8

    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot of the working page: {shot}")
    if os.environ.get("CATTERN_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["CATTERN_SCREENSHOT"])
    assert shot.stat().st_size > 20_000

    # Undo takes the last stroke back and asks again; Clear empties the answer.
    stroke(page, [(100, 150), (200, 150)])
    settle(page)
    with_bar = result(page)
    assert with_bar[3] > seq and with_bar[2] != probs  # a new answer for the new drawing
    page.click("#undo")
    settle(page)
    undone = result(page)
    assert undone[3] > with_bar[3] and undone[1] == "7"
    # The same drawing again gives the same answer (to rounding: the pad is redrawn from its points).
    np.testing.assert_allclose(undone[2], probs, atol=1e-3)
    page.click("#clear")
    # (Playwright's waits are written as functions: the page's CSP forbids eval of a bare expression.)
    page.wait_for_function("() => document.querySelector('#result').dataset.source === ''")
    assert page.locator("#prediction").inner_text() == "?"
    assert page.locator("#undo").is_disabled()


def test_page_agrees_with_cattern_evaluate_on_test_digits(page, saved, test_set):
    X, y = test_set
    n = STRIP_DIGITS
    expected = evaluate(saved, X[:n], y[:n])["predicted"]      # what `cattern evaluate` says
    shown, probabilities = {}, {}
    while len(shown) < n:
        tiles = page.locator(".tile")
        for k in range(tiles.count()):
            tile = tiles.nth(k)
            index = int(tile.get_attribute("data-index"))
            seq = result(page)[3]
            tile.click()
            wait_for_answer(page, f"test:{index}", seq)
            _, prediction, probs, _ = result(page)
            shown[index], probabilities[index] = int(prediction), probs
            # The tile is marked right or wrong against its label.
            assert ("right" if int(prediction) == y[index] else "wrong") in tile.get_attribute("class")
        if len(shown) < n:
            page.click("#next")
            page.wait_for_function("(i) => document.querySelector('.tile').dataset.index === i", arg=str(len(shown)))
    assert sorted(shown) == list(range(n))
    assert [shown[i] for i in range(n)] == expected
    for i in range(n):
        np.testing.assert_allclose(probabilities[i], saved.predict_proba(X[i:i + 1])[0], rtol=1e-6)
    accuracy = np.mean(np.array(expected) == y[:n])
    print(f"\nthe page and `cattern evaluate` agree on all {n} test digits (accuracy {accuracy:.2f})")
