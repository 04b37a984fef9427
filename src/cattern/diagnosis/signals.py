"""Cheap signals of a training run, recorded while it trains, for the doctor.

:class:`TrainingDoctor` is a :class:`~cattern.trainer.Callback` that measures
what a loss curve alone cannot show, on a fixed sample of training rows
(evenly spaced, so no random draw) and at a few steps:

- at the start: the data loss of the untrained net on the sample, against
  ln C (C classes), the scale of the inputs and of each weight matrix;
- every ``every`` steps: the update-to-weight ratio ||dW|| / ||W|| of each
  weight matrix, from the parameters just before and just after one step;
- once per epoch, on the sample: the share of each hidden layer's units that
  never fire (test mode), the share of predictions on the most predicted
  class (and that class's true share), the data loss, and the norm of each
  weight matrix and of its data-loss gradient (for deep nets, the ratio of
  the first layer's to the last layer's).

The loss curve and the accuracies come from the trainer's history
(:func:`curve_signals`), so older model files, which have only the history,
can be diagnosed too. Everything is a plain dict of lists and numbers, JSON
without NaN: :meth:`TrainingDoctor.signals` returns it, and ``on_train_end``
puts it in ``trainer.history["doctor"]``, so model files and summary.json
carry it. :func:`cattern.diagnosis.doctor.diagnose` turns it into findings.

The doctor never consumes the trainer's random generator and never changes a
parameter or buffer: the one measurement that needs a training-mode pass
(the gradients) puts the dropout generator's state and the batch-norm
statistics back afterwards, so a run with the doctor ends bit for bit where
it would without (``tests/test_doctor.py`` checks it).

A run that diverges raises :class:`~cattern.errors.DivergedError` out of
``fit``, before ``on_train_end``; pass the error to :meth:`signals` to record
it with everything measured until then.
"""
import math

import numpy as np

from cattern.layers import softmax_loss
from cattern.trainer import Callback

SIGNALS_VERSION = 1
# Rows of the fixed sample: a few hundred, so a forward pass on it costs about
# as much as one or two training steps, once per epoch.
SAMPLE_SIZE = 256
# Steps between two measurements of the update ratio: a copy of the weights
# every few hundred steps costs well under 1 % of training (see
# benchmarks/doctor_cost.py).
EVERY = 200
# The loss curve is smoothed as fastai's learning-rate finder smooths it (an
# exponential moving average with beta 0.98, bias-corrected), and kept at
# about this many points.
SMOOTHING = 0.98
CURVE_POINTS = 200


def _num(x):
    """A float rounded to 5 significant digits for the record, or None when not finite."""
    x = float(x)
    return float(f"{x:.5g}") if math.isfinite(x) else None


def _weights(model):
    """The names of the weight matrices W1, W2, ... in layer order."""
    names = [name for name in model.params if name.startswith("W") and name[1:].isdigit()]
    return sorted(names, key=lambda name: int(name[1:]))


def evenly_spaced_rows(n, size):
    """``size`` row indices spread evenly over range(n) (all of them when n <= size)."""
    return np.unique(np.linspace(0, n - 1, min(n, size)).round().astype(np.int64))


class TrainingDoctor(Callback):
    """Records the doctor's signals while a :class:`~cattern.trainer.Trainer` trains.

    Inputs:
    - X: (N, D) the training inputs, as the trainer gets them; y: (N,) labels.
      Only a fixed sample of ``sample_size`` rows, evenly spaced, is kept.
    - sample_size: rows of that sample
    - every: steps between measurements of the update-to-weight ratio

    A continued fit (:meth:`~cattern.trainer.Trainer.extend`) goes on
    recording where the first stopped, so a run paused and continued records
    what one long run records.
    """

    def __init__(self, X, y, *, sample_size=SAMPLE_SIZE, every=EVERY):
        if every < 1:
            raise ValueError(f"every must be a number of steps >= 1; got {every!r}")
        rows = evenly_spaced_rows(len(X), sample_size)
        self.X_sample, self.y_sample = np.asarray(X)[rows], np.asarray(y)[rows]  # (S, D), (S,)
        self.every = every
        self.trainer = None
        self._before = None  # {name: W copy} just before a measured step
        self.record = None

    # ------------------------------------------------------------------
    # The trainer's hooks
    # ------------------------------------------------------------------

    def on_train_begin(self, trainer):
        self.trainer = trainer
        if self.record is not None:  # a continued fit: keep recording
            return
        model = trainer.model
        self.X_sample, self.y_sample = model.check_data(self.X_sample, self.y_sample)
        scores = model.scores(self.X_sample)                                 # (S, C)
        loss, _ = softmax_loss(scores.astype(np.float64), self.y_sample)
        weights = _weights(model)
        self.record = {
            "version": SIGNALS_VERSION,
            "num_classes": int(model.num_classes),
            "sample_size": int(len(self.y_sample)),
            "iterations_per_epoch": int(trainer.iterations_per_epoch),
            "initial": {
                "loss": _num(loss),
                "learning_rate": _num(trainer.config.learning_rate),
                "reg": _num(trainer.config.reg),
                "input_rms": _num(np.sqrt(np.mean(np.square(self.X_sample, dtype=np.float64)))),
                "weight_std": {name: _num(np.std(model.params[name])) for name in weights},
                "weight_norm": {name: _num(np.linalg.norm(model.params[name])) for name in weights},
            },
            "steps": {"iteration": [], "learning_rate": [], "update_ratio": {name: [] for name in weights}},
            "epochs": {"epoch": [], "iteration": [], "learning_rate": [], "sample_loss": [],
                       "dead_units": {f"layer{i}": [] for i in range(1, len(weights))},
                       "top_class": [], "top_share": [], "true_share": [],
                       "weight_norm": {name: [] for name in weights},
                       "grad_norm": {name: [] for name in weights}},
        }
        if trainer.steps_done == 0:
            self._snapshot(model)  # the very first step is measured too

    def on_iteration_end(self, trainer, iteration, loss):
        # The fast path: two comparisons on most steps.
        if self._before is not None:
            self._measure_update(trainer, iteration)
        if (iteration + 1) % self.every == 0:
            self._snapshot(trainer.model)

    def on_epoch_end(self, trainer, epoch):
        model, rec = trainer.model, self.record["epochs"]
        X, y = self.X_sample, self.y_sample
        scores = model.scores(X)                                              # (S, C)
        loss, _ = softmax_loss(scores.astype(np.float64), y)
        predicted = np.argmax(scores, axis=1)                                 # (S,)
        counts = np.bincount(predicted, minlength=model.num_classes)
        top = int(np.argmax(counts))
        rec["epoch"].append(int(epoch))
        rec["iteration"].append(int(trainer.iteration + 1))
        rec["learning_rate"].append(_num(trainer.learning_rate))
        rec["sample_loss"].append(_num(loss))
        rec["top_class"].append(top)
        rec["top_share"].append(_num(counts[top] / len(y)))
        rec["true_share"].append(_num(np.mean(y == top)))
        masks = model.relu_masks(X, train=False) if hasattr(model, "relu_masks") else []
        for i, active in enumerate(masks, start=1):                          # (S, Hi) each
            rec["dead_units"][f"layer{i}"].append(_num(1.0 - np.mean(active.any(axis=0))))
        for name, grad in self._sample_gradients(model).items():
            rec["weight_norm"][name].append(_num(np.linalg.norm(model.params[name])))
            rec["grad_norm"][name].append(_num(np.linalg.norm(grad)))

    def on_train_end(self, trainer):
        trainer.history["doctor"] = self.signals()

    # ------------------------------------------------------------------
    # The measurements
    # ------------------------------------------------------------------

    def _snapshot(self, model):
        self._before = {name: model.params[name].copy() for name in _weights(model)}

    def _measure_update(self, trainer, iteration):
        """||W_after - W_before|| / ||W_before|| of the step just made, per weight matrix."""
        rec = self.record["steps"]
        rec["iteration"].append(int(iteration))
        rec["learning_rate"].append(_num(trainer.learning_rate))
        for name, before in self._before.items():
            norm = np.linalg.norm(before)
            step = np.linalg.norm(trainer.model.params[name] - before)
            rec["update_ratio"][name].append(_num(step / norm) if norm > 0 else None)
        self._before = None

    def _sample_gradients(self, model):
        """The data-loss gradient of each weight matrix on the sample, in training mode.

        A training-mode pass draws dropout masks and moves the batch-norm
        running statistics; both are put back, so training goes on exactly
        as it would have. The penalty's gradient is left out (reg 0): it is
        what hides a vanishing data gradient.
        """
        dropout_rng = getattr(model, "dropout_rng", None)
        rng_state = None if dropout_rng is None else dropout_rng.bit_generator.state
        buffers = {name: value.copy() for name, value in getattr(model, "buffers", {}).items()}
        try:
            _, grads = model.batch_loss(self.X_sample, self.y_sample, 0.0)
        finally:
            if dropout_rng is not None:
                dropout_rng.bit_generator.state = rng_state
            for name, value in buffers.items():
                model.buffers[name][...] = value
        return {name: grads[name] for name in _weights(model)}

    # ------------------------------------------------------------------
    # The record
    # ------------------------------------------------------------------

    def signals(self, error=None):
        """The signals recorded so far, with the loss curve and accuracies of the history.

        ``error``: the :class:`~cattern.errors.DivergedError` that ended the
        run, if any; it is recorded as ``diverged`` (iteration, loss, rate).
        Returns a JSON-able dict (no NaN), or None if training never began.
        """
        if self.record is None:
            return None
        signals = {**self.record, "curve": curve_signals(self.trainer.history, self.record["num_classes"],
                                                         self.record["iterations_per_epoch"])}
        signals["diverged"] = None if error is None else {
            "iteration": int(error.iteration), "loss": str(error.loss),
            "learning_rate": _num(error.learning_rate)}
        return signals


def smoothed(losses, beta=SMOOTHING):
    """The bias-corrected exponential moving average of a loss curve (fastai's smoothing).

    s_t = beta * s_(t-1) + (1 - beta) * loss_t, s_(-1) = 0, reported as
    s_t / (1 - beta^(t+1)); the first value is the first loss.
    """
    losses = np.asarray(losses, dtype=np.float64)
    out = np.empty_like(losses)
    s = 0.0
    for t, loss in enumerate(losses):
        s = beta * s + (1 - beta) * loss
        out[t] = s / (1 - beta ** (t + 1))
    return out


def curve_signals(history, num_classes, iterations_per_epoch=None):
    """What the history alone says: the loss curve, smoothed and thinned, and the accuracies.

    Inputs:
    - history: a trainer history (``loss_history`` per iteration,
      ``train_acc_history`` and ``val_acc_history`` per epoch)
    - num_classes: C
    - iterations_per_epoch: steps per epoch; None estimates it from the
      lengths of the loss and accuracy histories (a model file saved before
      the doctor recorded it)

    Returns a dict: ``iterations``, ``iterations_per_epoch``, ``ln_c``,
    ``first_loss``, at about :data:`CURVE_POINTS` iterations ``at`` the
    smoothed loss (``smoothed_loss``) and the mean loss of the ``stride``
    iterations from there (``block_mean_loss``), the mean loss of each epoch
    (``epoch_mean_loss``), ``train_acc`` and ``val_acc`` per epoch.
    """
    losses = np.asarray(history.get("loss_history") or [], dtype=np.float64)
    train_acc = [_num(a) for a in history.get("train_acc_history") or []]
    val_acc = [_num(a) for a in history.get("val_acc_history") or []]
    n = len(losses)
    if iterations_per_epoch is None:
        iterations_per_epoch = max(1, round(n / len(train_acc))) if train_acc else max(n, 1)
    stride = max(1, math.ceil(n / CURVE_POINTS))
    at = list(range(0, n, stride)) + ([n - 1] if n and (n - 1) % stride else [])
    smooth = smoothed(losses)
    # Block means (the mean loss of the iterations from one point to the next) lag
    # behind the curve by no more than one block: the plateau's end is read from them.
    block_means = [_num(losses[i:i + stride].mean()) for i in at]
    epoch_means = [_num(losses[i:i + iterations_per_epoch].mean()) for i in range(0, n, iterations_per_epoch)]
    return {
        "iterations": n,
        "iterations_per_epoch": int(iterations_per_epoch),
        "ln_c": _num(math.log(num_classes)),
        "first_loss": _num(losses[0]) if n else None,
        "at": at,
        "stride": stride,
        "smoothed_loss": [_num(smooth[i]) for i in at],
        "block_mean_loss": block_means,
        "epoch_mean_loss": epoch_means,
        "train_acc": train_acc,
        "val_acc": val_acc,
    }
