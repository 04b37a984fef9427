"""The training doctor: each diagnosis made on a tiny run that should trigger it, none on a healthy one.

The runs train on Gaussian blobs (a few dimensions, a few classes, a few
hundred steps), built and fitted as ``cattern train`` does, with the doctor
measuring often (every 10 steps) so that short runs have samples.
"""
import json

import numpy as np
import pytest

from cattern.cli import main
from cattern.data.splits import Preprocessing
from cattern.diagnosis import THRESHOLDS, TrainingDoctor, diagnose, format_findings, signals_of
from cattern.diagnosis.signals import curve_signals
from cattern.errors import DivergedError
from cattern.experiment import ExperimentConfig, build_model, build_trainer
from cattern.model_io import save_model
from cattern.tuning.hygiene import diagnosis_lines, hygiene_warnings
from cattern.tuning.results import check_row, make_row
from synthetic_data import data_options, write_mnist_dir

# 1000 rows in batches of 50: 20 steps an epoch, 15 epochs in 300 steps.
HEALTHY = dict(hidden_size=32, std=0.1, learning_rate=0.05, learning_rate_decay=0.95, momentum=0.9,
               reg=1e-4, num_iters=300, batch_size=50, sampling="epochs", lr_schedule="exponential_per_epoch",
               seed=0)


# Pixels in [0, 1], momentum and epochs: cattern's own loop, whose rates these runs use
# (the defaults are the seed's: 0..255, plain SGD, batches drawn with replacement).
UNIT = ["--pixel-scale", "1", "--momentum", "0.9", "--sampling", "epochs", "--lr-schedule", "exponential_per_epoch"]


def blobs(n, *, d=20, c=5, noise=1.0, seed=0, p=None):
    """(n, d) inputs around c fixed class means (drawn from seed 99), and (n,) labels drawn with probabilities p."""
    rng = np.random.default_rng(seed)
    means = np.random.default_rng(99).standard_normal((c, d))
    y = rng.choice(c, size=n, p=p)
    return means[y] + noise * rng.standard_normal((n, d)), y


def train(options, data=None, tweak=None, every=10):
    """Train a config (HEALTHY with ``options``) on ``data`` = (X, y, X_val, y_val) with the doctor;
    ``tweak(model)`` changes the fresh model first. Returns (signals, findings, trainer)."""
    X, y, X_val, y_val = data or (*blobs(1000), *blobs(300, seed=1))
    cfg = ExperimentConfig(**{**HEALTHY, **options})
    doctor = TrainingDoctor(X, y, every=every)
    trainer = build_trainer(cfg, X, y, y_val, callbacks=[doctor])
    if tweak is not None:
        tweak(trainer.model)
    try:
        trainer.fit(X, y, X_val, y_val)
        signals = trainer.history["doctor"]
    except DivergedError as err:
        signals = doctor.signals(err)
    return signals, diagnose(signals, cfg), trainer


def codes(findings):
    return [f.code for f in findings]


# ----------------------------------------------------------------------
# The six cases of issue #14, and a healthy run
# ----------------------------------------------------------------------

def test_a_healthy_run_gets_no_warnings():
    signals, findings, trainer = train({})
    assert trainer.history["val_acc_history"][-1] > 0.95
    assert findings == [], format_findings(findings)
    assert format_findings(findings) == "diagnosis: no warnings"


def test_a_healthy_deep_net_with_batchnorm_and_dropout_gets_no_warnings():
    _, findings, _ = train({"model": "fc", "hidden_dims": "32,32,32", "std": None, "normalization": "batchnorm",
                            "dropout": 0.1})
    assert findings == [], format_findings(findings)


def test_divergence_is_reported_from_what_was_recorded_before_the_error():
    signals, findings, trainer = train({"learning_rate": 50.0})
    assert signals["diverged"]["iteration"] == len(trainer.history["loss_history"])
    assert codes(findings) == ["diverged"]
    assert findings[0].severity == "error" and "too high" in findings[0].sentence
    json.dumps(signals, allow_nan=False)  # the infinite loss is kept as text


def test_the_plateau_of_tiny_weights_and_a_tiny_rate_is_named_with_its_causes():
    _, findings, _ = train({"std": 1e-4, "learning_rate": 1e-4})
    assert codes(findings) == ["plateau"]
    sentence = findings[0].sentence
    assert sentence.startswith("the loss stayed at 1.61 = ln 5 for all 300 iterations")
    assert "the initial weights (std 0.0001) and the rate 0.0001 are too small" in sentence
    assert "try a rate 10x larger (0.001), or a larger std" in sentence
    assert findings[0].severity == "error"  # it never left


def test_a_warmup_longer_than_the_run_is_named_and_stands_for_the_net_that_did_not_learn():
    _, findings, trainer = train({"warmup_epochs": 1e6})  # 300 steps of 20-step epochs
    assert trainer.history["val_acc_history"][-1] < 0.5   # it learned nothing
    assert codes(findings) == ["warmup_too_long"]         # not one_class, plateau or underfitting
    assert findings[0].sentence == (
        "the warmup (--warmup-epochs 1e+06: 20000000 iterations of 20-step epochs) is longer than the run "
        "(300 iterations): the rate climbed only to 7.5e-07 of the 0.05 set: --warmup-epochs counts epochs "
        "of the training set, and this run is 15 of them; try a warmup of an epoch or less "
        "(--warmup-epochs 1), or more iterations (--num-iters)")


def test_a_warmup_longer_than_the_run_is_named_even_when_the_net_learns():
    _, findings, trainer = train({"warmup_epochs": 20.0})  # 400 steps of warmup, 300 of training
    assert trainer.history["val_acc_history"][-1] > 0.95
    assert codes(findings) == ["warmup_too_long"]
    assert findings[0].evidence["share_of_rate_reached"] == 0.75


def test_a_warmup_within_the_run_is_healthy():
    for warmup in (1.0, 15.0):  # an epoch; the whole run, to its last step
        _, findings, _ = train({"warmup_epochs": warmup})
        assert findings == [], format_findings(findings)


def test_dead_units_from_a_large_negative_bias():
    _, findings, _ = train({}, tweak=lambda model: model.params["b1"].fill(-100.0))
    assert "dead_units" in codes(findings)
    dead = next(f for f in findings if f.code == "dead_units")
    assert dead.evidence["dead_share"] == 1.0 and "layer1" in dead.sentence


def test_overfitting_without_reg_on_100_examples():
    data = (*blobs(100, d=100, noise=3.0), *blobs(300, d=100, noise=3.0, seed=1))
    _, findings, _ = train({"reg": 0.0, "std": 0.01, "hidden_size": 100, "batch_size": 20}, data)
    assert codes(findings) == ["overfitting"]
    assert findings[0].evidence["train_acc"] == 1.0 and findings[0].evidence["gap"] > 0.1


def test_underfitting_with_two_hidden_units():
    data = (*blobs(1000, c=10), *blobs(300, c=10, seed=1))
    _, findings, _ = train({"hidden_size": 2, "num_iters": 600}, data)
    assert codes(findings) == ["underfitting"]
    assert "hidden 2" in findings[0].sentence


def test_one_class_collapse_when_reg_crushes_the_weights():
    p = [0.6, 0.1, 0.1, 0.1, 0.1]
    data = (*blobs(1000, p=p), *blobs(300, seed=1, p=p))
    _, findings, _ = train({"reg": 5.0}, data)
    assert "one_class" in codes(findings)
    collapse = next(f for f in findings if f.code == "one_class")
    assert collapse.evidence["share"] == 1.0 and collapse.evidence["class"] == 0
    assert "crushed" in collapse.sentence and "reg 5" in collapse.sentence


# ----------------------------------------------------------------------
# The other signals
# ----------------------------------------------------------------------

def test_too_large_initial_weights_give_a_large_initial_loss():
    _, findings, _ = train({"std": 3.0, "learning_rate": 1e-3})
    assert "initial_loss" in codes(findings)


def test_vanishing_gradients_through_a_deep_net_with_tiny_weights():
    _, findings, _ = train({"model": "fc", "hidden_dims": "32,32,32,32", "std": 0.01, "num_iters": 40})
    ratio = next(f for f in findings if f.code == "gradient_ratio")
    assert ratio.evidence["ratio"] < 1e-2 and "vanishing" in ratio.sentence


def test_a_rising_loss_and_an_oscillating_loss_are_read_from_the_history_alone():
    down = list(np.linspace(2.0, 0.1, 200))
    rising = signals_of({"loss_history": down + [0.1 * 1.05 ** k for k in range(100)],
                         "train_acc_history": [0.9], "val_acc_history": [0.9]}, num_classes=10)
    assert "loss_rising" in codes(diagnose(rising))
    epochs = [1.0, 0.5, 0.8, 0.4, 0.7, 0.35]  # epoch means that keep bouncing back up
    wobbly = signals_of({"loss_history": [x for m in epochs for x in [m] * 50],
                         "train_acc_history": [0.95] * 6, "val_acc_history": [0.95] * 6}, num_classes=10)
    assert codes(diagnose(wobbly)) == ["oscillation"]


def test_the_noise_of_a_small_late_loss_is_not_oscillation():
    # As fc-best's last epochs: means near 0.05 that move by 10-12 % (0.005) from one epoch to the next.
    epochs = list(np.linspace(0.6, 0.06, 20)) + [0.050, 0.056, 0.050, 0.0555, 0.049, 0.0545]
    noisy = signals_of({"loss_history": [x for m in epochs for x in [m] * 50],
                        "train_acc_history": [0.99] * 26, "val_acc_history": [0.99] * 26}, num_classes=10)
    assert "oscillation" not in codes(diagnose(noisy))
    # The same rises, ten times larger, are.
    louder = signals_of({"loss_history": [x * 10 for m in epochs for x in [m] * 50],
                         "train_acc_history": [0.99] * 26, "val_acc_history": [0.99] * 26}, num_classes=10)
    assert "oscillation" in codes(diagnose(louder))


def test_every_finding_has_a_threshold_with_its_source():
    for rule in THRESHOLDS.values():
        assert rule.rule and rule.source
    _, findings, _ = train({"std": 1e-4, "learning_rate": 1e-4})
    assert findings[0].threshold == THRESHOLDS["plateau"].rule
    assert f"threshold: {THRESHOLDS['plateau'].rule}" in format_findings(findings)


# ----------------------------------------------------------------------
# The doctor changes nothing, and its record is plain JSON
# ----------------------------------------------------------------------

@pytest.mark.parametrize("options", [{}, {"model": "fc", "hidden_dims": "16,16", "std": None,
                                          "normalization": "batchnorm", "dropout": 0.3, "dtype": "float32"}])
def test_a_run_with_the_doctor_ends_bit_for_bit_where_one_without_it_does(options):
    X, y = blobs(400)
    X_val, y_val = blobs(100, seed=1)
    cfg = ExperimentConfig(**{**HEALTHY, **options, "num_iters": 100})
    plain = build_trainer(cfg, X, y, y_val)
    watched = build_trainer(cfg, X, y, y_val, callbacks=[TrainingDoctor(X, y, every=3)])
    plain.fit(X, y, X_val, y_val)
    watched.fit(X, y, X_val, y_val)
    for name, value in plain.model.params.items():
        np.testing.assert_array_equal(watched.model.params[name], value, err_msg=name)
    for name, value in getattr(plain.model, "buffers", {}).items():
        np.testing.assert_array_equal(watched.model.buffers[name], value, err_msg=name)
    assert watched.history["loss_history"] == plain.history["loss_history"]
    assert len(watched.history["doctor"]["steps"]["iteration"]) == 34  # steps 0, 3, 6, ..., 99


def test_the_signals_survive_a_json_round_trip_and_a_model_file():
    signals, findings, trainer = train({"std": 1e-4, "learning_rate": 1e-4})
    again = json.loads(json.dumps(signals, allow_nan=False))
    assert again == signals and diagnose(again) == diagnose(signals)


def test_a_continued_fit_goes_on_recording():
    X, y = blobs(1000)
    X_val, y_val = blobs(300, seed=1)
    trainer = build_trainer(ExperimentConfig(**{**HEALTHY, "num_iters": 100}), X, y, y_val,
                            callbacks=[TrainingDoctor(X, y, every=10)])
    trainer.fit(X, y, X_val, y_val)
    trainer.extend(200)
    trainer.fit(X, y, X_val, y_val)
    steps = trainer.history["doctor"]["steps"]["iteration"]
    assert steps == list(range(0, 200, 10)) and trainer.history["doctor"]["curve"]["iterations"] == 200


def test_curve_signals_of_an_old_history_estimate_the_epoch():
    history = {"loss_history": [2.3] * 100, "train_acc_history": [0.1] * 4, "val_acc_history": [0.1] * 4}
    curve = curve_signals(history, num_classes=10)
    assert curve["iterations_per_epoch"] == 25 and curve["ln_c"] == pytest.approx(np.log(10), rel=1e-4)


# ----------------------------------------------------------------------
# The command line and the search's rows
# ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_mnist_dir(tmp_path_factory.mktemp("tiny_mnist"), n_train=600)


def test_train_prints_the_diagnosis_and_doctor_reads_it_back(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *data_options(data_dir), "--out", str(out), "--no-progress", "--std", "1e-4",
                 "--learning-rate", "1e-5", "--batch-size", "20", "--num-iters", "120"]) == 0
    printed = capsys.readouterr().out
    assert "diagnosis: 1 finding\n- plateau (error): the loss stayed at 1.39 = ln 4 for all 120" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert [f["code"] for f in summary["findings"]] == ["plateau"]
    assert summary["signals"]["curve"]["iterations"] == 120
    for path in (out, out / "model.npz", out / "summary.json"):
        assert main(["doctor", str(path), "--brief"]) == 1
        assert "plateau (error)" in capsys.readouterr().out


def test_doctor_on_a_healthy_run_exits_0_and_on_bad_input_2(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *data_options(data_dir), "--out", str(out), "--no-progress", "--std", "0.01",
                 "--learning-rate", "0.1", "--batch-size", "20", "--num-iters", "150", *UNIT]) == 0
    assert "diagnosis: no warnings" in capsys.readouterr().out
    assert main(["doctor", str(out)]) == 0
    assert main(["doctor", str(tmp_path / "missing")]) == 2
    assert "no run folder or model file at" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["doctor", str(tmp_path / "empty")]) == 2


def test_doctor_reads_a_model_file_saved_before_the_doctor(tmp_path, capsys):
    cfg = ExperimentConfig(hidden_size=8, pixel_scale=1.0)
    model = build_model(cfg, 16, 4)
    history = {"loss_history": [np.log(4)] * 400, "train_acc_history": [0.25] * 4, "val_acc_history": [0.25] * 4}
    path = tmp_path / "old.npz"
    save_model(path, model, preprocessing=Preprocessing(1.0, np.zeros(16, np.float32)), config=cfg, history=history)
    assert main(["doctor", str(path)]) == 1
    assert "the loss stayed at 1.39 = ln 4 for all 400 iterations" in capsys.readouterr().out


def test_each_net_of_an_ensemble_is_diagnosed_and_named(tmp_path, capsys):
    cfg = ExperimentConfig(model="fc", hidden_size=8, pixel_scale=1.0, ensemble=2)
    stuck = {"loss_history": [np.log(4)] * 400, "train_acc_history": [0.25] * 4, "val_acc_history": [0.25] * 4}
    learned = {"loss_history": list(np.linspace(1.3, 0.1, 400)), "train_acc_history": [0.5, 0.8, 0.9, 0.95],
               "val_acc_history": [0.5, 0.8, 0.9, 0.94]}
    history = {"members": [learned, stuck]}
    findings = diagnose(signals_of(history, 4), cfg)
    assert [f.code for f in findings] == ["plateau"]
    assert findings[0].observation.startswith("net 2 of 2: the loss stayed at 1.39 = ln 4")
    path = tmp_path / "ensemble.npz"
    save_model(path, build_model(cfg, 16, 4), preprocessing=Preprocessing(1.0, np.zeros(16, np.float32)),
               config=cfg, history=history)
    assert main(["doctor", str(path)]) == 1
    assert "- plateau (error): net 2 of 2: the loss stayed at 1.39" in capsys.readouterr().out


def test_rows_carry_the_findings_and_check_row_checks_them():
    _, findings, _ = train({"std": 1e-4, "learning_rate": 1e-4})
    config = {"learning_rate": 1e-4, "num_iters": 300}
    outcome = {"status": "ok", "val_acc": 0.2, "val_loss": 1.6, "train_acc": 0.2, "seconds": 1.0,
               "resumed_from": None, "error": None,
               "findings": [{"code": f.code, "severity": f.severity, "sentence": f.sentence} for f in findings]}
    row = make_row("0123456789abcdef", config, 0, 300, None, outcome)
    assert check_row(json.loads(json.dumps(row, allow_nan=False))) == row
    del row["findings"]
    check_row(row)  # rows written before the doctor are still read
    for bad in ([{"code": "plateau"}], "plateau", [{"code": 1, "severity": "error", "sentence": "x"}]):
        with pytest.raises(ValueError, match="'findings' must be"):
            check_row({**row, "findings": bad})


def test_tune_prints_findings_per_config_and_the_configs_stuck_on_the_plateau(data_dir, tmp_path, capsys):
    status = main(["tune", *data_options(data_dir), "--out", str(tmp_path), "--n-jobs", "1", "--no-progress",
                   "--learning-rate", "1e-5", "0.1", "--std", "0.01", "--batch-size", "20", "--num-iters", "150",
                   "--dtype", "float32", *UNIT])
    assert status == 0
    out, err = capsys.readouterr()
    assert "plateau in 1 of 2 configs; the best of them (learning_rate=1e-05)" in out
    assert "no warnings in 1 of 2 configs" in out
    assert ("1 of 2 configs never left the loss plateau at ln C: every config with learning_rate=1e-05 (1)"
            in err)
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["findings"][0]["code"] if r["findings"] else "-" for r in rows) == ["-", "plateau"]
    assert main(["doctor", str(tmp_path / "best_model.npz")]) == 0


def test_hygiene_counts_diverged_configs_on_their_longest_run():
    rows = [{"config": {"learning_rate": lr}, "iters": iters, "status": status, "findings": []}
            for lr, iters, status in ((0.1, 100, "ok"), (10.0, 30, "diverged"), (0.1, 30, "ok"))]
    assert hygiene_warnings(rows) == ["1 of 2 configs diverged: every config with learning_rate=10.0 (1); "
                                      "their rates are too high: search smaller ones"]
    assert diagnosis_lines(rows) == ["no warnings in 2 of 2 configs"]


def test_the_web_page_gets_the_findings_of_the_served_model(data_dir, tmp_path):
    pytest.importorskip("starlette")
    from serve_support import request

    from cattern.model_io import load_model
    from cattern.web.app import create_app
    from cattern.web.server import background

    out = tmp_path / "run"
    assert main(["train", *data_options(data_dir), "--out", str(out), "--no-progress", "--std", "1e-4",
                 "--learning-rate", "1e-5", "--batch-size", "20", "--num-iters", "120"]) == 0
    saved = load_model(out / "model.npz")
    saved.history.pop("doctor")  # a model file from before the doctor: judged on its curves
    for history in (load_model(out / "model.npz").history, saved.history, None):
        saved.history = history
        with background(create_app(saved)) as url:
            info = json.loads(request(url + "/api/model")[2])
        if history is None:
            assert info["findings"] is None
        else:
            assert [f["code"] for f in info["findings"]] == ["plateau"]
            assert info["findings"][0]["threshold"] == THRESHOLDS["plateau"].rule
