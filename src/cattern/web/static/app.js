// The page of `cattern serve`: draw a digit, see what the network says and why.
//
// Two ways in, both through POST /api/predict:
// - the pad: its ink (the canvas's alpha) shrunk to SEND_SIZE x SEND_SIZE bytes,
//   sent as {"canvas": ...}; the server makes it MNIST-style in Python;
// - a test digit from the strip: its 784 pixels over 255, sent as {"pixels": [...]}.
// One request is in flight at a time; while one is out, only the latest job waits,
// so the answer on screen is always for the latest drawing or click.
"use strict";

const SEND_SIZE = 140;      // the 280-pixel pad, halved: 19,600 bytes, well under the body limit
const STROKE_WIDTH = 22;    // in pad pixels: about MNIST's stroke width once the digit is 20 pixels tall
const DRAW_INTERVAL_MS = 90; // while drawing, at most one prediction per interval
const STRIP_COUNT = 20;

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const padCtx = pad.getContext("2d");
const strokes = [];          // each stroke: [{x, y}, ...] in pad pixels; Undo pops one
let drawing = false;

// ------------------------------------------------------------------
// Talking to the server
// ------------------------------------------------------------------

let job = null;      // {source, body()}: what to classify next
let inFlight = false;
let seq = 0;
let generation = 0;  // bumped when the answer is reset, so late answers are dropped

function classify(source, body) {
  job = { source, body };
  pump();
  markBusy();
}

// body[data-busy] is "true" while an answer is still to come (a request out,
// one waiting, or a drawing about to be sent): tests and tools wait on it.
function markBusy() {
  document.body.dataset.busy = String(inFlight || job !== null || drawTimer !== null);
}

async function pump() {
  if (inFlight || job === null) return;
  const current = job;
  job = null;
  inFlight = true;
  const sentIn = generation;
  try {
    const payload = current.body();
    if (payload !== null) {
      const response = await fetch("/api/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
      const answer = await response.json();
      if (generation !== sentIn) {
        // The pad was cleared while this was out: its answer is for a drawing that is gone.
      } else if (!response.ok) {
        showStatus(answer.error || `the server answered ${response.status}`);
      } else {
        showAnswer(current.source, answer);
        showStatus("");
      }
    }
  } catch (err) {
    showStatus(`could not reach the server: ${err.message}`);
  } finally {
    inFlight = false;
    if (job !== null) pump();
    markBusy();
  }
}

function showStatus(text) {
  $("status").textContent = text;
}

// ------------------------------------------------------------------
// The pad
// ------------------------------------------------------------------

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return {
    x: (event.clientX - rect.left) * (pad.width / rect.width),
    y: (event.clientY - rect.top) * (pad.height / rect.height),
  };
}

function setPen() {
  padCtx.strokeStyle = "#15171c";
  padCtx.fillStyle = "#15171c";
  padCtx.lineWidth = STROKE_WIDTH;
  padCtx.lineCap = "round";
  padCtx.lineJoin = "round";
}

function drawStroke(stroke) {
  if (stroke.length === 1) {  // a tap is a dot
    padCtx.beginPath();
    padCtx.arc(stroke[0].x, stroke[0].y, STROKE_WIDTH / 2, 0, 2 * Math.PI);
    padCtx.fill();
    return;
  }
  padCtx.beginPath();
  padCtx.moveTo(stroke[0].x, stroke[0].y);
  for (const p of stroke.slice(1)) padCtx.lineTo(p.x, p.y);
  padCtx.stroke();
}

function redraw() {
  padCtx.clearRect(0, 0, pad.width, pad.height);
  setPen();
  strokes.forEach(drawStroke);
  updateButtons();
}

function updateButtons() {
  $("undo").disabled = strokes.length === 0;
  $("clear").disabled = strokes.length === 0;
}

// The pad's ink as base64 bytes (0 = paper, 255 = ink), or null when it is blank.
function padPayload() {
  if (strokes.length === 0) return null;
  const small = document.createElement("canvas");
  small.width = SEND_SIZE;
  small.height = SEND_SIZE;
  const ctx = small.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(pad, 0, 0, SEND_SIZE, SEND_SIZE);
  const rgba = ctx.getImageData(0, 0, SEND_SIZE, SEND_SIZE).data;
  const ink = new Uint8Array(SEND_SIZE * SEND_SIZE);
  let any = false;
  for (let i = 0; i < ink.length; i++) {
    ink[i] = rgba[4 * i + 3];  // alpha: the pad is transparent where nothing is drawn
    if (ink[i]) any = true;
  }
  if (!any) return null;
  let binary = "";
  for (let i = 0; i < ink.length; i += 8192) {
    binary += String.fromCharCode.apply(null, ink.subarray(i, i + 8192));
  }
  return { canvas: { width: SEND_SIZE, height: SEND_SIZE, data: btoa(binary) } };
}

let drawTimer = null;
function classifyPad(now) {
  if (strokes.length === 0) {
    resetAnswer();
    return;
  }
  if (now) {
    clearTimeout(drawTimer);
    drawTimer = null;
    classify("canvas", padPayload);
  } else if (drawTimer === null) {
    drawTimer = setTimeout(() => { drawTimer = null; classify("canvas", padPayload); }, DRAW_INTERVAL_MS);
  }
  markBusy();
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  strokes.push([padPoint(event)]);
  redraw();
  selectTile(null);
  classifyPad(false);
});

pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const stroke = strokes[strokes.length - 1];
  const last = stroke[stroke.length - 1];
  const p = padPoint(event);
  stroke.push(p);
  setPen();
  padCtx.beginPath();
  padCtx.moveTo(last.x, last.y);
  padCtx.lineTo(p.x, p.y);
  padCtx.stroke();
  classifyPad(false);
});

function endStroke() {
  if (!drawing) return;
  drawing = false;
  classifyPad(true);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

$("undo").addEventListener("click", () => {
  strokes.pop();
  redraw();
  classifyPad(true);
});

$("clear").addEventListener("click", () => {
  strokes.length = 0;
  redraw();
  classifyPad(true);
});

// ------------------------------------------------------------------
// Showing the answer
// ------------------------------------------------------------------

function buildBars() {
  const bars = $("bars");
  for (let c = 0; c < 10; c++) {
    const row = document.createElement("div");
    row.className = "bar-row";
    row.setAttribute("role", "listitem");
    row.innerHTML = `<span class="bar-label">${c}</span><div class="bar-track"><div class="bar-fill"></div></div><span class="bar-pct">–</span>`;
    bars.appendChild(row);
  }
}

// Paint 784 values onto a 28 x 28 canvas, colouring each with rgb(value) -> [r, g, b].
function paint(canvas, values, rgb) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    image.data.set([...rgb(values[i]), 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
}

// Ink high, drawn white on black, as MNIST is usually shown; ``scale`` is full ink (1 or 255).
function paintGray(canvas, values, scale) {
  paint(canvas, values, (v) => {
    const g = Math.round(Math.min(1, Math.max(0, v / scale)) * 255);
    return [g, g, g];
  });
}

// Weights as ints in [-127, 127]: red for positive, blue for negative, white for zero.
function paintWeights(canvas, weights) {
  paint(canvas, weights, (w) => {
    const a = Math.min(255, Math.abs(w) * 2);
    return w >= 0 ? [255, 255 - a * 0.8, 255 - a * 0.85] : [255 - a * 0.9, 255 - a * 0.6, 255];
  });
}

function showAnswer(source, answer) {
  const probs = answer.probabilities;
  const top = answer.prediction;
  const result = $("result");
  seq += 1;
  result.dataset.seq = String(seq);
  result.dataset.source = source;
  result.dataset.prediction = String(top);
  result.dataset.probabilities = JSON.stringify(probs);

  $("prediction").textContent = String(top);
  $("confidence").textContent = `${(100 * probs[top]).toFixed(1)} % sure`;
  document.querySelectorAll(".bar-row").forEach((row, c) => {
    row.classList.toggle("top", c === top);
    row.querySelector(".bar-fill").style.width = `${(100 * probs[c]).toFixed(2)}%`;
    row.querySelector(".bar-pct").textContent = `${(100 * probs[c]).toFixed(1)} %`;
  });
  paintGray($("seen"), answer.input, 1);
  showUnits(answer.units, top);

  const note = $("result-note");
  note.className = "";
  if (source.startsWith("test:")) {
    const index = Number(source.slice(5));
    const tile = document.querySelector(`.tile[data-index="${index}"]`);
    const label = tile ? Number(tile.dataset.label) : null;
    if (label !== null) {
      const right = label === top;
      note.textContent = `Test digit #${index}: labelled ${label}, the network says ${top} ${right ? "✓" : "✗"}`;
      note.className = right ? "good" : "bad";
      tile.classList.toggle("right", right);
      tile.classList.toggle("wrong", !right);
    }
  } else {
    note.textContent = "Your drawing";
  }
}

function showUnits(units, top) {
  const box = $("units");
  box.innerHTML = "";
  if (!units.length) {
    box.innerHTML = '<p class="empty">No hidden unit fires for this input.</p>';
    return;
  }
  for (const u of units) {
    const fig = document.createElement("figure");
    fig.className = "unit";
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    paintWeights(canvas, u.weights);
    const caption = document.createElement("figcaption");
    const push = u.push === null ? "" : `<br>push on “${top}”: <b>${u.push >= 0 ? "+" : ""}${u.push.toFixed(2)}</b>`;
    caption.innerHTML = `unit <b>${u.unit}</b><br>fires <b>${u.activation.toFixed(2)}</b>${push}`;
    fig.append(canvas, caption);
    box.appendChild(fig);
  }
}

function resetAnswer() {
  job = null;
  generation += 1;
  const result = $("result");
  seq += 1;
  result.dataset.seq = String(seq);
  result.dataset.source = "";
  result.dataset.prediction = "";
  result.dataset.probabilities = "";
  $("prediction").textContent = "?";
  $("confidence").textContent = "draw a digit or click a test digit";
  $("result-note").textContent = "";
  document.querySelectorAll(".bar-row").forEach((row) => {
    row.classList.remove("top");
    row.querySelector(".bar-fill").style.width = "0";
    row.querySelector(".bar-pct").textContent = "–";
  });
  $("seen").getContext("2d").clearRect(0, 0, 28, 28);
  $("units").innerHTML = '<p class="empty">Nothing yet.</p>';
}

// ------------------------------------------------------------------
// The strip of test digits
// ------------------------------------------------------------------

let stripStart = 0;
let stripTotal = 0;

function selectTile(tile) {
  document.querySelectorAll(".tile.selected").forEach((t) => t.classList.remove("selected"));
  if (tile) tile.classList.add("selected");
}

async function loadStrip(start) {
  const response = await fetch(`/api/digits?start=${start}&count=${STRIP_COUNT}`);
  const page = await response.json();
  if (!response.ok) {
    showStatus(page.error);
    return;
  }
  stripStart = page.start;
  const strip = $("strip");
  strip.innerHTML = "";
  for (const digit of page.digits) {
    const tile = document.createElement("button");
    tile.type = "button";
    tile.className = "tile";
    tile.dataset.index = String(digit.index);
    tile.dataset.label = String(digit.label);
    tile.title = `test digit #${digit.index}, labelled ${digit.label}`;
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    paintGray(canvas, digit.pixels, 255);
    const label = document.createElement("span");
    label.textContent = `#${digit.index}`;
    tile.append(canvas, label);
    // The same 784 pixels the data loader gives (uint8 / 255), through the same API.
    const pixels = digit.pixels.map((v) => v / 255);
    tile.addEventListener("click", () => {
      selectTile(tile);
      classify(`test:${digit.index}`, () => ({ pixels }));
    });
    strip.appendChild(tile);
  }
  const last = page.start + page.digits.length;
  $("strip-range").textContent = `${page.start}–${last - 1} of ${stripTotal}`;
  $("prev").disabled = page.start === 0;
  $("next").disabled = last >= stripTotal;
}

$("prev").addEventListener("click", () => loadStrip(Math.max(0, stripStart - STRIP_COUNT)));
$("next").addEventListener("click", () => loadStrip(stripStart + STRIP_COUNT));

// ------------------------------------------------------------------
// Training curves
// ------------------------------------------------------------------

function plot(canvas, series, { ymin, ymax, xlabel, yfmt }) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  const left = 52, right = 12, topPad = 14, bottom = 34;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "12px system-ui, sans-serif";
  const drawn = series.filter((s) => s.xs.length > 0);
  if (!drawn.length) {
    ctx.fillStyle = "#5c667a";
    ctx.fillText("no training history in this model file", left, H / 2);
    return;
  }
  const xmax = Math.max(...drawn.map((s) => s.xs[s.xs.length - 1]), 1);
  const xmin = Math.min(...drawn.map((s) => s.xs[0]), 0);
  const X = (x) => left + ((x - xmin) / (xmax - xmin || 1)) * (W - left - right);
  const Y = (y) => topPad + (1 - (y - ymin) / (ymax - ymin || 1)) * (H - topPad - bottom);

  ctx.strokeStyle = "#d5dbe5";
  ctx.fillStyle = "#5c667a";
  ctx.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {  // horizontal grid lines with their values
    const y = ymin + (k / 4) * (ymax - ymin);
    ctx.beginPath();
    ctx.moveTo(left, Y(y));
    ctx.lineTo(W - right, Y(y));
    ctx.stroke();
    ctx.fillText(yfmt(y), 4, Y(y) + 4);
  }
  ctx.fillText(String(Math.round(xmin)), left, H - 18);
  const xmaxText = String(Math.round(xmax));
  ctx.fillText(xmaxText, W - right - ctx.measureText(xmaxText).width, H - 18);
  ctx.fillText(xlabel, (W - ctx.measureText(xlabel).width) / 2, H - 4);

  let legendX = left + 8;
  for (const s of drawn) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.xs.forEach((x, i) => (i ? ctx.lineTo(X(x), Y(s.ys[i])) : ctx.moveTo(X(x), Y(s.ys[i]))));
    ctx.stroke();
    if (s.xs.length === 1) {
      ctx.fillStyle = s.color;
      ctx.fillRect(X(s.xs[0]) - 3, Y(s.ys[0]) - 3, 6, 6);
    }
    ctx.fillStyle = s.color;
    ctx.fillRect(legendX, topPad + 2, 14, 3);
    ctx.fillStyle = "#1d2433";
    ctx.fillText(s.label, legendX + 18, topPad + 8);
    legendX += 30 + ctx.measureText(s.label).width;
  }
}

function drawCurves(curves) {
  const loss = curves.loss;
  const lossMax = loss.value.length ? Math.max(...loss.value) : 1;
  plot($("loss-plot"), [{ xs: loss.iteration, ys: loss.value, color: "#2f6fdf", label: "loss" }],
    { ymin: 0, ymax: lossMax * 1.05, xlabel: "iteration", yfmt: (y) => y.toFixed(2) });
  const epochs = (a) => a.map((_, i) => i + 1);
  const accs = curves.train_acc.concat(curves.val_acc);
  const accMin = accs.length ? Math.max(0, Math.floor(Math.min(...accs) * 10) / 10) : 0;
  const last = (a) => (a.length ? ` ${(100 * a[a.length - 1]).toFixed(1)} %` : "");
  plot($("acc-plot"), [
    { xs: epochs(curves.train_acc), ys: curves.train_acc, color: "#e07b24", label: `train${last(curves.train_acc)}` },
    { xs: epochs(curves.val_acc), ys: curves.val_acc, color: "#1f8a4c", label: `validation${last(curves.val_acc)}` },
  ], { ymin: accMin, ymax: 1, xlabel: "epoch", yfmt: (y) => `${(100 * y).toFixed(1)} %` });
}

// The training doctor's findings (GET /api/model's "findings"): one item each,
// its sentence and, smaller, the threshold and where it comes from.
function showFindings(findings) {
  const list = $("findings");
  list.replaceChildren();
  $("diagnosis").dataset.count = findings === null ? "" : String(findings.length);
  const note = (text) => {
    const item = document.createElement("li");
    item.className = "empty";
    item.textContent = text;
    list.append(item);
  };
  if (findings === null) return note("No training history in this model file: nothing to diagnose.");
  if (!findings.length) return note("No warnings: the run looks healthy.");
  for (const finding of findings) {
    const item = document.createElement("li");
    item.className = `finding ${finding.severity}`;
    const code = document.createElement("b");
    code.textContent = `${finding.code}: `;
    const why = document.createElement("small");
    why.textContent = `threshold: ${finding.threshold} (${finding.source})`;
    item.append(code, `${finding.sentence}.`, document.createElement("br"), why);
    list.append(item);
  }
}

// ------------------------------------------------------------------
// Start
// ------------------------------------------------------------------

async function start() {
  buildBars();
  updateButtons();
  const response = await fetch("/api/model");
  const info = await response.json();
  const shape = (info.nets > 1 ? `${info.nets} × ` : "") + info.layers.join(" → ");
  const acc = info.test_accuracy === null ? "" :
    ` · ${(100 * info.test_accuracy).toFixed(2)} % right on the ${info.digits_total.toLocaleString("en")} test digits`;
  $("model-summary").textContent =
    `${info.kind} ${shape} · ${info.num_params.toLocaleString("en")} parameters${acc}`;
  drawCurves(info.curves);
  showFindings(info.findings);
  if (info.digits_total === null) {
    $("strip-panel").classList.add("no-digits");
    $("prev").disabled = true;
    $("next").disabled = true;
    $("strip-note").textContent = info.digits_note || "No test digits: start the server with --data-dir.";
  } else {
    stripTotal = info.digits_total;
    await loadStrip(0);
  }
  document.body.dataset.ready = "true";
}

start().catch((err) => showStatus(`could not start: ${err.message}`));
