"""The doctor's checks that read the loss and accuracy curves: they need no more than a history.

Divergence (a NaN loss, or a smoothed loss at 4x its best), the ln C plateau,
a warmup longer than the run, overfitting, underfitting and oscillation. A
model file saved before the doctor has these curves, so ``cattern doctor``
judges it on them. Each check takes the signals and the config dict and
returns a :class:`~cattern.diagnosis.findings.Finding` or None.
"""
import numpy as np

from cattern.diagnosis.findings import (
    GAP,
    LOSS_RISE,
    LOW_ACCURACY,
    ONE_CLASS_SHARE,
    OSCILLATION_COUNT,
    OSCILLATION_FLOOR,
    OSCILLATION_RISE,
    PLATEAU_SHARE,
    PLATEAU_TOLERANCE,
    crushed_by_reg,
    final_accuracies,
    initial_std,
    inputs_in_words,
    make_finding,
    per_epoch,
    rate_of,
    reg_of,
    scaled,
    the_rate,
)


def check_diverged(s, cfg):
    info = s.get("diverged")
    if not info:
        return None
    rate = info.get("learning_rate") or rate_of(s, cfg)
    return make_finding(
        "diverged", f"the loss became {info['loss']} at iteration {info['iteration']}",
        info, [f"{the_rate(rate)} is too high for this net and {inputs_in_words(s, cfg)}"],
        [f"a rate 10x smaller{scaled(rate, 0.1)}", "a warmup (--warmup-epochs 1)",
         "inputs scaled to [0, 1] (--pixel-scale 1)" if cfg.get("pixel_scale") == 255 else
         "a smaller initial std"], severity="error")


def check_loss_rising(s, cfg):
    c = s["curve"]
    losses = c["smoothed_loss"]
    if len(losses) < 2 or None in losses:
        return None
    best_at = int(np.argmin(losses))
    peak_at = best_at + int(np.argmax(losses[best_at:]))
    best, peak = losses[best_at], losses[peak_at]
    if peak < LOSS_RISE * best:
        return None
    rate = rate_of(s, cfg)
    return make_finding(
        "loss_rising", f"the smoothed loss rose from its best {best:.3g} (iteration {c['at'][best_at]}) "
                       f"to {peak:.3g} (iteration {c['at'][peak_at]}), {peak / best:.1f}x",
        {"best": best, "best_at": c["at"][best_at], "peak": peak, "peak_at": c["at"][peak_at]},
        [f"{the_rate(rate)} is too high: training is on its way to diverging"],
        [f"a rate 10x smaller{scaled(rate, 0.1)}", "a decaying schedule (--lr-schedule cosine)"])


def check_plateau(s, cfg):
    c = s["curve"]
    n, ln_c, epoch = c["iterations"], c["ln_c"], c["iterations_per_epoch"]
    if n < epoch:
        return None  # shorter than an epoch: not judged
    low, high = (1 - PLATEAU_TOLERANCE) * ln_c, (1 + PLATEAU_TOLERANCE) * ln_c
    points = [(at, loss) for at, loss in zip(c["at"], c["block_mean_loss"]) if loss is not None]
    # When the loss came down to ln C (at once, unless the initial weights were too large),
    # and when it went below the band for good.
    entered = next((at for at, loss in points if loss <= high), None)
    if entered is None:
        return None  # never down to ln C: initial_loss or divergence says why
    left = next((at for at, loss in points if at >= entered and loss < low), None)
    after_epoch = [loss for at, loss in points if at <= epoch][-1]
    stuck = (n if left is None else left) - entered
    # Still there after an epoch (the signal), and for half the run: a slow start that the
    # run makes up for (the seed's grid on 0..255 pixels: a third at most) is no plateau.
    if not low <= after_epoch <= high or stuck < PLATEAU_SHARE * n:
        return None
    rate, std = rate_of(s, cfg), initial_std(s, cfg)
    where = f"all {n}" if stuck == n else f"{stuck} of {n}"
    observation = f"the loss stayed at {ln_c:.2f} = ln {s['num_classes']} for {where} iterations"
    if entered:
        observation += f" (from iteration {entered}, after coming down from {c['first_loss']:.3g})"
    shares = per_epoch(s, "top_share")
    if shares and shares[-1] is not None and shares[-1] >= ONE_CLASS_SHARE:
        observation += f", predicting one class for {shares[-1]:.0%} of the sample"
    if std is not None and std < 1e-3:
        causes = [f"the initial weights (std {std:g}) and {the_rate(rate)} are too small for "
                  f"{inputs_in_words(s, cfg)}"]
        remedies = [f"a rate 10x larger{scaled(rate, 10)}", "a larger std (--std 0.01)"]
    else:
        causes = [f"{the_rate(rate)} is too small for {inputs_in_words(s, cfg)}"]
        remedies = [f"a rate 10x larger{scaled(rate, 10)}"]
    # Never leaving it is a failed run (it learned nothing); leaving it late, a slow one.
    return make_finding("plateau", observation, {"iterations_on_plateau": stuck, "iterations": n, "ln_c": ln_c,
                                             "entered_at": entered, "left_at": left}, causes, remedies,
                    severity="error" if left is None else "warning")


def check_warmup(s, cfg):
    # The config holds the warmup in epochs and the run's length in steps; only a trained run
    # knows an epoch's steps, so the config cannot refuse a warmup longer than the run.
    warmup, planned, epoch = cfg.get("warmup_epochs"), cfg.get("num_iters"), s["curve"]["iterations_per_epoch"]
    if not warmup or not planned or warmup * epoch <= planned:
        return None
    steps, rate = warmup * epoch, rate_of(s, cfg)
    reached = f"{the_rate(rate)} set" if rate is None else f"{rate * planned / steps:.3g} of the {rate:g} set"
    return make_finding(
        "warmup_too_long",
        f"the warmup (--warmup-epochs {warmup:g}: {steps:.0f} iterations of {epoch}-step epochs) is longer "
        f"than the run ({planned} iterations): the rate climbed only to {reached}",
        {"warmup_iterations": steps, "num_iters": planned, "iterations_per_epoch": epoch,
         "share_of_rate_reached": planned / steps},
        [f"--warmup-epochs counts epochs of the training set, and this run is {planned / epoch:.3g} of them"],
        ["a warmup of an epoch or less (--warmup-epochs 1)", "more iterations (--num-iters)"])


def check_overfitting(s, cfg):
    accs = final_accuracies(s)
    if accs is None or accs[0] - accs[1] < GAP:
        return None
    train, val = accs
    reg = reg_of(s, cfg)
    return make_finding(
        "overfitting", f"train accuracy {train:.3f} against validation {val:.3f}: a gap of {train - val:.3f}",
        {"train_acc": train, "val_acc": val, "gap": train - val},
        [f"too little data or regularization for the net's size (reg {reg:g})" if reg is not None else
         "too little data or regularization for the net's size"],
        [f"a stronger reg ({(reg or 1e-4) * 10:g})", "dropout (--model fc --dropout 0.3)",
         "augmentation (--augment-shift 2)", "more training data",
         "early stopping (--patience 3 --restore-best true)"])


def check_underfitting(s, cfg):
    accs = final_accuracies(s)
    if accs is None or max(accs) >= LOW_ACCURACY:
        return None
    train, val = accs
    history = s["curve"]["train_acc"]
    # Over 3 epochs, so that the noise of one epoch's measurement (on 1000 rows) is not a trend.
    rise = history[-1] - history[max(0, len(history) - 4)]
    crushed = crushed_by_reg(s, cfg)
    if rise > 0.02:
        causes = [f"too short a run: train accuracy still rose by {rise:.3f} in the last 3 epochs"]
        remedies = ["more iterations", "a larger rate"]
    elif crushed:
        causes = [crushed]
        remedies = [f"a reg 10x smaller{scaled(reg_of(s, cfg), 0.1)}"]
    else:
        widths = cfg.get("hidden_dims") or cfg.get("hidden_size")
        causes = [f"a net too small for the task{f' (hidden {widths})' if widths else ''}, as its train "
                  "accuracy has stopped rising", f"{the_rate(rate_of(s, cfg))} too small to go further"]
        remedies = ["more hidden units, or more layers (--model fc --hidden-dims ...)", "a larger rate"]
    return make_finding(
        "underfitting", f"train accuracy {train:.3f} and validation {val:.3f}, both low",
        {"train_acc": train, "val_acc": val, "rise_in_3_epochs": rise}, causes, remedies)


def check_oscillation(s, cfg):
    losses = [x for x in s["curve"]["epoch_mean_loss"] if x is not None]
    floor = OSCILLATION_FLOOR * s["curve"]["ln_c"]
    rises = [(i, later / earlier - 1) for i, (earlier, later) in enumerate(zip(losses, losses[1:]), start=1)
             if later >= (1 + OSCILLATION_RISE) * earlier and later - earlier >= floor]
    if len(rises) < OSCILLATION_COUNT:
        return None
    rate = rate_of(s, cfg)
    return make_finding(
        "oscillation", f"the mean loss of an epoch rose again {len(rises)} times in {len(losses)} epochs "
                       f"(by up to {max(r for _, r in rises):.0%})",
        {"rises": len(rises), "epochs": len(losses), "largest_rise": max(r for _, r in rises)},
        [f"{the_rate(rate)} is too high to settle", "batches too small for a stable gradient"],
        ["a smaller or decaying rate (--lr-schedule cosine)", "a larger --batch-size"])
