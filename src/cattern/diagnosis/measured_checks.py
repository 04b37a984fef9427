"""The doctor's checks that need its measurements: the initial loss, update ratios, dead units,
predictions on one class, and the first-to-last layer gradient ratio of deep nets.

They read what :class:`~cattern.diagnosis.TrainingDoctor` recorded (``initial``,
``steps``, ``epochs``); on a history without that record they find nothing
(but the initial loss, read then from the first batch's loss).
Each check takes the signals and the config dict and returns a
:class:`~cattern.diagnosis.findings.Finding` or None.
"""
import numpy as np

from cattern.diagnosis.findings import (
    DEAD_SHARE,
    GRADIENT_RATIO_BAND,
    INITIAL_LOSS_FACTOR,
    LOW_ACCURACY,
    NOT_LEARNING,
    ONE_CLASS_EXCESS,
    ONE_CLASS_SHARE,
    UPDATE_RATIO_BAND,
    crushed_by_reg,
    final_accuracies,
    initial_std,
    inputs_in_words,
    make_finding,
    per_epoch,
    rate_of,
    reg_of,
    scaled,
    shrunk_weights,
    the_rate,
)


def check_initial_loss(s, cfg):
    loss = (s.get("initial") or {}).get("loss") or s["curve"]["first_loss"]
    ln_c = s["curve"]["ln_c"]
    if loss is None or loss <= INITIAL_LOSS_FACTOR * ln_c:
        return None
    std = initial_std(s, cfg)
    init = f"the initial weights (std {std:g})" if std is not None else "the initial weights"
    return make_finding(
        "initial_loss", f"the loss at initialization was {loss:.3g}, {loss / ln_c:.1f}x ln {s['num_classes']} "
                        f"= {ln_c:.2f}, the loss of a net that knows nothing yet",
        {"initial_loss": loss, "ln_c": ln_c},
        [f"{init} are too large for {inputs_in_words(s, cfg)}: the first scores are already large and wrong"],
        ["a smaller --std (scores near 0 at the start)",
         "pixels scaled to [0, 1] (--pixel-scale 1)" if cfg.get("pixel_scale") == 255 else
         "inputs centred and scaled to about unit size"])


def _update_ratios(s):
    """{weight name: median ||dW|| / ||W|| per measured step while the rate was at least a tenth
    of its start} (a schedule's tail, where the rate goes to 0, says nothing of the rate chosen)."""
    steps = s.get("steps")
    if not steps or not steps.get("iteration"):
        return {}
    start = (s.get("initial") or {}).get("learning_rate")
    rates = steps.get("learning_rate") or [start] * len(steps["iteration"])
    keep = [i for i, r in enumerate(rates) if start is None or (r is not None and r >= 0.1 * start)]
    medians = {}
    for name, ratios in steps["update_ratio"].items():
        values = [ratios[i] for i in keep if ratios[i] is not None]
        if values:
            medians[name] = (float(np.median(values)), len(values))
    return medians


def _update_finding(code, s, cfg, name, median, samples, too):
    rate = rate_of(s, cfg)
    causes = [f"{the_rate(rate)} is too {too}"]
    if too == "high" and name in shrunk_weights(s) and crushed_by_reg(s, cfg):
        causes.insert(0, f"{crushed_by_reg(s, cfg)}, so each step's change is large beside what is left")
    return make_finding(
        code, f"each step changed {name} by {median:.1e} of its norm (median of {samples} measured steps), "
              "against cs231n's target of about 1e-3",
        {"layer": name, "median_ratio": median, "samples": samples}, causes,
        [f"a rate 10x {'smaller' if too == 'high' else 'larger'}{scaled(rate, 0.1 if too == 'high' else 10)}"])


def check_update_ratio_high(s, cfg):
    high = {name: m for name, m in _update_ratios(s).items() if m[0] > UPDATE_RATIO_BAND[1]}
    if not high:
        return None
    name = max(high, key=lambda n: high[n][0])
    return _update_finding("update_ratio_high", s, cfg, name, *high[name], "high")


def check_update_ratio_low(s, cfg):
    # Small updates are a problem only while the net has not learned: a net that fits its
    # training data well has small gradients, and so small updates, by then.
    accs = final_accuracies(s)
    if accs is None or accs[0] >= LOW_ACCURACY:
        return None
    low = {name: m for name, m in _update_ratios(s).items() if m[0] < UPDATE_RATIO_BAND[0]}
    if not low:
        return None
    name = min(low, key=lambda n: low[n][0])
    return _update_finding("update_ratio_low", s, cfg, name, *low[name], "low")


def _worst_dead(s):
    """(layer, share of its units dead after the last epoch) of the worst layer, or None."""
    dead = {layer: shares[-1] for layer, shares in ((s.get("epochs") or {}).get("dead_units") or {}).items()
            if shares and shares[-1] is not None}
    if not dead:
        return None
    layer = max(dead, key=dead.get)
    return layer, dead[layer]


def check_dead_units(s, cfg):
    worst = _worst_dead(s)
    if worst is None or worst[1] < DEAD_SHARE:
        return None
    layer, share = worst
    first = s["epochs"]["dead_units"][layer][0]
    rate = rate_of(s, cfg)
    observation = (f"{share:.0%} of {layer}'s ReLUs never fired on {s['sample_size']} training rows "
                   f"({first:.0%} after the first epoch)")
    # With (nearly) every unit of a layer dead, nothing reaches the layers before it: the
    # net cannot learn, and its plateau or single class follow from this.
    explains = ("plateau", *NOT_LEARNING) if share >= 0.9 else ()
    if explains:
        observation += ", so no gradient flows through it and the net cannot learn"
    return make_finding(
        "dead_units", observation, {"layer": layer, "dead_share": share, "after_first_epoch": first},
        ["biases or initial weights that push the pre-activations below 0 for every input",
         f"{the_rate(rate)}, high enough to knock units out"],
        ["biases at 0 and He initialization (--model fc)", "a smaller rate",
         "batch normalization (--model fc --normalization batchnorm)"], explains=explains)


def check_one_class(s, cfg):
    shares, true = per_epoch(s, "top_share"), per_epoch(s, "true_share")
    if not shares or shares[-1] is None or shares[-1] < ONE_CLASS_SHARE or shares[-1] - true[-1] < ONE_CLASS_EXCESS:
        return None
    top = s["epochs"]["top_class"][-1]
    crushed = crushed_by_reg(s, cfg)
    if crushed:
        # The collapsed weights also explain the dead units and the large relative updates.
        causes = [f"{crushed}, leaving only the biases, which learn the class frequencies"]
        remedies = [f"a reg 10x smaller{scaled(reg_of(s, cfg), 0.1)}"]
        explains = ("dead_units", "update_ratio_high")
    else:
        causes = ["the net has learned only the class frequencies (a plateau, dead units, or labels "
                  "that do not depend on the inputs)"]
        remedies = ["a larger rate", "checking that the labels match the inputs"]
        explains = ()
    return make_finding(
        "one_class", f"{shares[-1]:.0%} of the predictions on {s['sample_size']} training rows are class {top} "
                     f"(its true share: {true[-1]:.0%})",
        {"class": top, "share": shares[-1], "true_share": true[-1], "crushed": shrunk_weights(s) if crushed else []},
        causes, remedies, explains=explains)


def check_gradient_ratio(s, cfg):
    grads = (s.get("epochs") or {}).get("grad_norm") or {}
    norms = (s.get("epochs") or {}).get("weight_norm") or {}
    if len(grads) < 3:
        return None  # two layers: nothing to vanish through
    first, last = list(grads)[0], list(grads)[-1]
    g1, gl, w1, wl = grads[first][-1], grads[last][-1], norms[first][-1], norms[last][-1]
    if None in (g1, gl, w1, wl) or 0 in (gl, w1):
        return None
    ratio = (g1 / w1) / (gl / wl)
    low, high = GRADIENT_RATIO_BAND
    if low <= ratio <= high:
        return None
    vanishing = ratio < low
    return make_finding(
        "gradient_ratio", f"relative to its weights, {first}'s gradient is {ratio:.1e} times {last}'s "
                          f"({'vanishing' if vanishing else 'exploding'} through {len(grads) - 1} hidden layers)",
        {"ratio": ratio, "first": first, "last": last},
        ["depth without normalization, or an initialization that shrinks (or grows) the signal "
         "layer by layer"],
        ["He initialization (the fc default)", "batch normalization (--normalization batchnorm)",
         "fewer layers"], explains=("plateau", *NOT_LEARNING) if vanishing else ())
