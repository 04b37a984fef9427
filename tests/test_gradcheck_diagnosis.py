"""cattern.diagnosis.check_gradients: planted bugs are named, correct nets pass, and it refuses what it cannot judge.

Each classic bug is planted in a plain-NumPy copy of TwoLayerNet's forward and
backward pass (:class:`PlantedBug`); every assertion that names a bug is also
shown to fail against the faithful copy, so the tests can fail.
"""
import numpy as np
import pytest

from cattern import gradient_check
from cattern.cli import main
from cattern.diagnosis import check_gradients, shapes
from cattern.lab import toy_problem
from cattern.models import FullyConnectedNet, TwoLayerNet
from cattern.workspace import no_workspace

REG = 0.05


class PlantedBug(TwoLayerNet):
    """TwoLayerNet with its training pass copied out in plain NumPy and one classic bug planted by name.

    ``bug=None`` is the faithful copy; each bug changes the one line marked BUG.
    """

    def __init__(self, bug, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bug = bug

    def batch_loss(self, X, y, reg, workspace=no_workspace):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        N, bug = X.shape[0], self.bug

        # Forward: (N, D) -> (N, H) -> (N, C), then the mean softmax loss plus 0.5 * reg * sum(W**2).
        pre = X @ W1 + b1                                          # (N, H)
        hidden = np.maximum(pre, 0)
        scores = hidden @ W2 + b2                                  # (N, C)
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[np.arange(N), y])) + 0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))

        # Backward.
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        if bug != "missing 1/N":
            dscores /= N
        if bug == "extra 1/N":
            dscores /= N                                           # BUG: the mean taken twice
        dW2 = hidden.T @ dscores                                   # (H, C)
        if bug == "dW2 sign":
            dW2 = -dW2                                             # BUG
        db2 = dscores.sum(axis=0)
        dhidden = dscores @ W2.T                                   # (N, H)
        if bug != "ReLU mask dropped":
            dhidden = dhidden * (pre > 0)
        dW1 = dhidden.T @ X if bug == "dW1 transposed" else X.T @ dhidden    # BUG: (H, D), fits when D == H
        db1 = dhidden.sum(axis=1) if bug == "db1 wrong axis" else dhidden.sum(axis=0)  # BUG: (N,), fits when N == H
        penalty = {"penalty doubled": 2.0, "penalty halved": 0.5}.get(bug, 1.0)  # BUG: 2*reg*W or 0.5*reg*W
        if bug != "W1 penalty missing":
            dW1 = dW1 + penalty * reg * W1
        dW2 = dW2 + penalty * reg * W2
        return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def square_problem(bug=None, seed=0):
    """D = H = N = 6, C = 3: a transposed dW1 and a db1 summed over axis 1 keep their shapes.

    The biases make hidden units 0 and 1 on for every example, 2 and 3 off for
    (nearly) every one, 4 and 5 mixed, so a missing mask has somewhere to show.
    """
    net = PlantedBug(bug, 6, 6, 3, std=0.3, seed=seed)
    net.params["b1"][:] = [1, 1, -1, -1, 0, 0]
    rng = np.random.default_rng(seed + 1)
    return net, rng.standard_normal((6, 6)), rng.integers(3, size=6)


ALL = {"W1", "b1", "W2", "b2"}
MUTANTS = [  # (bug, the term that holds it, the arrays it breaks, its shape)
    ("penalty doubled", "regularization", {"W1", "W2"}, shapes.DOUBLED),
    ("penalty halved", "regularization", {"W1", "W2"}, shapes.HALVED),
    ("W1 penalty missing", "regularization", {"W1"}, shapes.MISSING_TERM),
    ("missing 1/N", "data", ALL, shapes.TIMES_N),
    ("extra 1/N", "data", ALL, shapes.OVER_N),
    ("dW2 sign", "data", {"W2"}, shapes.SIGN),
    ("ReLU mask dropped", "data", {"W1", "b1"}, shapes.MISSING_MASK),
    ("dW1 transposed", "data", {"W1"}, shapes.TRANSPOSED),
    ("db1 wrong axis", "data", {"b1"}, shapes.BIAS_AXIS),
]
SQUARE_ONLY = {"dW1 transposed", "db1 wrong axis"}  # their shapes fit only when D == H == N


def names_the_bug(report, term, arrays, pattern):
    """True when the report's bugs are exactly ``arrays`` in ``term``, each of shape ``pattern``, and printed."""
    text = report.format()
    return ({(c.term, c.name) for c in report.bugs} == {(term, name) for name in arrays}
            and all(c.pattern == pattern and c.diagnosis in text for c in report.bugs))


def test_the_faithful_copy_matches_twolayernet():
    net, X, y = square_problem()
    reference = TwoLayerNet(6, 6, 3)
    reference.params = net.params
    loss, grads = net.loss(X, y, reg=REG)
    ref_loss, ref_grads = reference.loss(X, y, reg=REG)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for key in ALL:
        np.testing.assert_allclose(grads[key], ref_grads[key], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("bug,term,arrays,pattern", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_a_planted_bug_is_pinned_to_its_arrays_term_and_shape(bug, term, arrays, pattern):
    net, X, y = square_problem(bug)
    report = check_gradients(net, X, y, reg=REG)
    assert names_the_bug(report, term, arrays, pattern), report.format()
    assert not report.passed and "BUG FOUND" in report.format()
    # The same assertion against the faithful copy fails: the test can fail.
    control, X, y = square_problem()
    assert not names_the_bug(check_gradients(control, X, y, reg=REG), term, arrays, pattern)


@pytest.mark.parametrize("bug,term,arrays,pattern", [m for m in MUTANTS if m[0] not in SQUARE_ONLY],
                         ids=[m[0] for m in MUTANTS if m[0] not in SQUARE_ONLY])
def test_planted_bugs_are_named_on_the_seeds_toy_and_on_random_problems(bug, term, arrays, pattern):
    toy, X, y = toy_problem()
    net = PlantedBug(bug, 4, 10, 3)
    net.params = toy.params
    problems = [(net, X, y)]
    for seed in range(3):  # other sizes, scales and labels
        rng = np.random.default_rng(seed)
        D, H, N = (int(v) for v in rng.integers(3, 9, size=3))
        problems.append((PlantedBug(bug, D, H, 4, std=0.5, seed=seed), rng.standard_normal((N, D)),
                         rng.integers(4, size=N)))
    for net, X, y in problems:
        report = check_gradients(net, X, y, reg=REG)
        assert names_the_bug(report, term, arrays, pattern), report.format()


def test_the_sentences_say_what_was_seen_and_what_it_means():
    net, X, y = square_problem("penalty doubled")
    text = check_gradients(net, X, y, reg=REG).format()
    assert ("W1 (regularization term): wrong: analytic = 2 x numerical on all 36 failing entries with sizeable "
            "values: a doubled penalty gradient, e.g. 2*reg*W where the loss has 0.5*reg*W**2") in text
    net, X, y = square_problem("missing 1/N")
    assert "(N = 6, the batch size): a missing batch mean" in check_gradients(net, X, y, reg=REG).format()


# ----------------------------------------------------------------------
# Correct nets pass; what cannot be judged is left out, counted, or refused
# ----------------------------------------------------------------------

def test_the_seeds_toy_problem_passes_with_a_row_per_term_and_array():
    net, X, y = toy_problem()
    report = check_gradients(net, X, y, reg=REG)
    assert report.passed and not report.bugs, report.format()
    assert [(c.term, c.name) for c in report.checks] == [
        (term, name) for term in ("data", "regularization") for name in ("W1", "b1", "W2", "b2")]
    verdicts = {(c.term, c.name): c.verdict for c in report.checks}
    assert verdicts[("regularization", "b1")] == verdicts[("regularization", "b2")] == "unpenalized"
    assert all(c.verdict == "correct" and c.max_rel_error < 1e-7 for c in report.checks if c.name.startswith("W"))
    assert report.format().splitlines()[-1] == "passed: every array is correct or acceptable"


def test_a_random_problem_passes_and_the_net_is_left_as_found():
    rng = np.random.default_rng(7)
    net = TwoLayerNet(7, 12, 4, std=0.5, seed=3)
    before = {k: v.copy() for k, v in net.params.items()}
    report = check_gradients(net, rng.standard_normal((9, 7)), rng.integers(4, size=9), reg=0.3)
    assert report.passed, report.format()
    for k, v in before.items():
        np.testing.assert_array_equal(net.params[k], v)


def test_float32_is_refused_with_rerun_in_float64():
    net = TwoLayerNet(4, 10, 3, std=0.1, seed=0, dtype=np.float32)
    report = check_gradients(net, np.ones((5, 4)), np.array([0, 1, 2, 2, 1]), reg=REG)
    assert report.refusal is not None and "rerun in float64" in report.format()
    assert report.checks == () and not report.passed and not report.bugs
    assert check_gradients(TwoLayerNet(4, 10, 3, std=0.1, seed=0), np.ones((5, 4)),
                           np.array([0, 1, 2, 2, 1])).refusal is None


def test_vanished_gradients_are_reported_not_judged():
    _, X, y = toy_problem()
    tiny = check_gradients(TwoLayerNet(4, 10, 3, std=1e-12, seed=0), 1e-3 * X, y, reg=REG)
    verdicts = {c.name: c.verdict for c in tiny.checks if c.term == "data"}
    assert verdicts == {"W1": "vanished", "b1": "vanished", "W2": "vanished", "b2": "correct"}, tiny.format()
    # The penalty's gradient reg * W ~ 5e-14 vanished too, while the biases' is exactly 0: unpenalized.
    verdicts = {c.name: c.verdict for c in tiny.checks if c.term == "regularization"}
    assert verdicts == {"W1": "vanished", "b1": "unpenalized", "W2": "vanished", "b2": "unpenalized"}
    assert not tiny.bugs
    assert "gradients vanished; check the initialization or the loss scale" in tiny.format()
    assert "NOT JUDGED: W1 (data term), b1 (data term), W2 (data term)" in tiny.format()
    # With ordinary weights and inputs the same arrays are judged.
    usual = check_gradients(TwoLayerNet(4, 10, 3, std=0.1, seed=0), X, y, reg=REG)
    assert {c.verdict for c in usual.checks if c.term == "data"} == {"correct"}


def test_kinks_crossed_by_the_step_are_counted_and_left_out():
    net, X, y = toy_problem()
    assert all(c.kinks == 0 for c in check_gradients(net, X, y, reg=REG).checks)
    # Put example 0's pre-activation of hidden unit 0 at 1e-6, within h = 1e-5 of the kink:
    # stepping b1[0] or W1[:, 0] by +-h turns the unit on and off.
    pre = X @ net.params["W1"] + net.params["b1"]
    net.params["b1"][0] -= pre[0, 0] - 1e-6
    report = check_gradients(net, X, y, reg=REG)
    data = {c.name: c for c in report.checks if c.term == "data"}
    assert data["b1"].kinks == 1 and data["W1"].kinks >= 1 and data["W2"].kinks == 0
    # The entries left out would have failed (a one-sided slope); what remains is correct.
    assert data["b1"].kink_max_rel_error > 1e-2 and data["W1"].kink_max_rel_error > 1e-2
    assert data["b1"].verdict == data["W1"].verdict == "correct" and report.passed, report.format()
    assert "crossed a ReLU kink" in report.format()


def test_entries_that_differ_only_by_rounding_are_left_out():
    # A saturated softmax: scores in the tens, a loss of about 10, so a centered difference
    # is off by up to 4 * spacing(10) / h = 7e-10, and entries of 1e-9 and less differ by that.
    rng = np.random.default_rng(5)
    net = TwoLayerNet(5, 8, 4, std=1.0, seed=5)
    X, y = 10 * rng.standard_normal((6, 5)), rng.integers(4, size=6)
    report = check_gradients(net, X, y, reg=0.5)
    assert report.passed and sum(c.rounding for c in report.checks) >= 10, report.format()
    assert "differ by no more than float64 rounding" in report.format()


class OneInAMillionOff:
    """A mixin scaling every gradient by 1 + 1e-6: a relative error of 5e-7, in the (1e-7, 1e-4] band."""

    def batch_loss(self, X, y, reg, workspace=no_workspace):
        loss, grads = super().batch_loss(X, y, reg, workspace)
        return loss, {k: g * (1 + 1e-6) for k, g in grads.items()}


class KinkedOff(OneInAMillionOff, TwoLayerNet):
    pass


class SmoothOff(OneInAMillionOff, FullyConnectedNet):  # no hidden layer: softmax regression, no kink
    pass


def test_the_middle_band_is_acceptable_with_kinks_and_suspicious_without():
    toy, X, y = toy_problem()
    kinked = KinkedOff(4, 10, 3)
    kinked.params = toy.params
    report = check_gradients(kinked, X, y, reg=REG)
    assert {c.verdict for c in report.checks} == {"acceptable", "unpenalized"} and report.passed, report.format()
    smooth = SmoothOff(4, [], 3, weight_scale=0.1, dtype=np.float64, seed=0)
    report = check_gradients(smooth, X, y, reg=REG)
    assert {c.verdict for c in report.checks} == {"suspicious", "unpenalized"}, report.format()
    assert report.bugs and "without ReLU kinks, a relative error in (1e-7, 1e-4] counts as suspicious" in str(report)


def test_max_entries_checks_a_seeded_subset():
    rng = np.random.default_rng(0)
    net = TwoLayerNet(30, 40, 5, std=0.1, seed=0)
    X, y = rng.standard_normal((6, 30)), rng.integers(5, size=6)
    first, again = (check_gradients(net, X, y, reg=REG, max_entries=25, seed=4) for _ in range(2))
    assert {c.name: c.checked for c in first.checks if c.term == "data"} == {"W1": 25, "b1": 25, "W2": 25, "b2": 5}
    assert [c.worst_index for c in first.checks] == [c.worst_index for c in again.checks]
    assert first.passed and "at most 25 entries per array" in first.format()


# ----------------------------------------------------------------------
# FullyConnectedNet: dropout under a fixed mask, batchnorm, layernorm
# ----------------------------------------------------------------------

def fc_problem(normalization=None, dropout=0.0, seed=0):
    rng = np.random.default_rng(seed)
    net = FullyConnectedNet(5, [7, 6], 3, dropout=dropout, normalization=normalization,
                            weight_scale=0.5, dtype=np.float64, seed=seed)
    for key in net.params:  # gamma, beta off their initial 1, 0 so their gradients are exercised
        if key.startswith(("gamma", "beta")):
            net.params[key] += 0.3 * rng.standard_normal(net.params[key].shape)
    return net, rng.standard_normal((8, 5)), rng.integers(3, size=8)


@pytest.mark.parametrize("normalization,dropout", [(None, 0.3), ("batchnorm", 0.0), ("layernorm", 0.2)])
def test_fully_connected_nets_pass_and_are_left_as_found(normalization, dropout):
    net, X, y = fc_problem(normalization, dropout)
    rng_state = net.dropout_rng.bit_generator.state
    buffers = {k: v.copy() for k, v in net.buffers.items()}
    report = check_gradients(net, X, y, reg=REG)
    assert report.passed and not report.bugs, report.format()
    assert net.dropout_rng.bit_generator.state == rng_state
    for k, v in buffers.items():
        np.testing.assert_array_equal(net.buffers[k], v)
    if dropout:
        assert "dropout masks held fixed" in report.format()


class DoubledW1(FullyConnectedNet):
    """A FullyConnectedNet whose data gradient of W1 is counted twice."""

    def batch_loss(self, X, y, reg, workspace=no_workspace):
        loss, grads = super().batch_loss(X, y, reg, workspace)
        grads["W1"] += grads["W1"] - reg * self.params["W1"]  # BUG: the data part added again
        return loss, grads


def test_a_fully_connected_net_with_dropout_can_fail():
    net, X, y = fc_problem("layernorm", 0.3)
    buggy = DoubledW1(5, [7, 6], 3, dropout=0.3, normalization="layernorm", weight_scale=0.5,
                      dtype=np.float64, seed=0)
    buggy.params = net.params
    report = check_gradients(buggy, X, y, reg=REG)
    assert names_the_bug(report, "data", {"W1"}, shapes.DOUBLED), report.format()


def test_relu_masks_are_the_active_units_of_a_training_pass():
    net, X, y = square_problem()
    (mask,) = net.relu_masks(X)
    np.testing.assert_array_equal(mask, X @ net.params["W1"] + net.params["b1"] > 0)
    fc, X, y = fc_problem(dropout=0.5)
    state = fc.dropout_rng.bit_generator.state
    masks = fc.relu_masks(X)
    assert [m.shape for m in masks] == [(8, 7), (8, 6)] and all(m.dtype == bool for m in masks)
    np.testing.assert_array_equal(masks[0], X @ fc.params["W1"] + fc.params["b1"] > 0)
    fc.dropout_rng.bit_generator.state = state
    np.testing.assert_array_equal(fc.relu_masks(X)[1], masks[1])  # the same dropout masks, the same activity


def test_cattern_gradient_check_re_exports_the_check():
    assert gradient_check.check_gradients is check_gradients


# ----------------------------------------------------------------------
# cattern gradcheck
# ----------------------------------------------------------------------

def test_cli_checks_the_toy_problem_and_prints_the_table(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gradient check of TwoLayerNet (float64), N = 5 examples, reg = 0.05")
    assert "max rel err" in out and "regularization  W2" in out
    assert out.rstrip().endswith("passed: every array is correct or acceptable")


def test_cli_checks_other_architectures(capsys):
    assert main(["gradcheck", "--model", "fc", "--hidden-dims", "6,5", "--normalization", "layernorm",
                 "--dropout", "0.2", "--num-inputs", "7", "--input-size", "5", "--num-classes", "4"]) == 0
    out = capsys.readouterr().out
    assert "FullyConnectedNet (float64), N = 7 examples" in out and "gamma2" in out


def test_cli_refuses_float32(capsys):
    assert main(["gradcheck", "--dtype", "float32"]) == 2
    assert "rerun in float64" in capsys.readouterr().out


@pytest.mark.parametrize("option,message", [
    (["--num-inputs", "0"], "--num-inputs must be a positive integer; got 0"),
    (["--dropout", "0.5"], "dropout=0.5: these options belong to the fc model"),
    (["--hidden-size", "0"], "--hidden-size must be a positive integer; got 0"),
    # 417 TiB: refused before a single example is drawn, on any machine.
    (["--num-inputs", str(10**12)], f"--num-inputs {10**12}: every pass of the check runs on all {10**12} "
                                    "examples at once and needs about"),
])
def test_cli_bad_options_exit_2_with_one_line(option, message, capsys):
    assert main(["gradcheck", *option]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err


@pytest.mark.parametrize("max_entries", [None, 3])
def test_the_progress_bar_counts_every_entry_perturbed(max_entries):
    from cattern.diagnosis.gradcheck import _check_arrays, _count_entries
    from cattern.diagnosis.probe import Pinned, entry_chooser
    rng = np.random.default_rng(0)
    net = FullyConnectedNet(5, [4, 3], 3, normalization="batchnorm", seed=0)
    X, y = rng.standard_normal((6, 5)), rng.integers(3, size=6)
    ticks = []
    pinned = Pinned(net, X, y)
    try:
        _check_arrays(pinned, 0.1, 1e-5, entry_chooser(max_entries, 0), ticks.append)
    finally:
        pinned.restore()
    assert sum(ticks) == _count_entries(net, max_entries) == sum(
        p.size if max_entries is None else min(p.size, max_entries) for p in net.params.values())


def test_a_progress_bar_off_a_terminal_prints_nothing_and_changes_nothing(capsys):
    net, X, y = toy_problem()
    quiet = check_gradients(net, X, y, reg=REG)
    shown = check_gradients(net, X, y, reg=REG, progress=True)  # pytest's capture is not a terminal
    assert capsys.readouterr() == ("", "")
    assert shown.format() == quiet.format()
