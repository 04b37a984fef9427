"""Ensembles: the mean of the nets' log-probabilities, the config's nets and seeds,
training them (an interruption included), and the refusals."""
import dataclasses

import numpy as np
import pytest

from cattern.experiment import (ExperimentConfig, build_model, build_trainer, net_histories, train_model,
                                trained_config)
from cattern.models import Ensemble, FullyConnectedNet, TwoLayerNet
from cattern.trainer import Callback


def blobs(n=150, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = 3 * rng.standard_normal((c, d))
    y = rng.integers(0, c, size=n)
    return (centers[y] + rng.standard_normal((n, d))).astype(np.float32), y


CFG = ExperimentConfig(model="fc", hidden_size=8, dtype="float32", pixel_scale=1.0, sampling="epochs",
                       learning_rate=0.05, momentum=0.9, num_iters=40, batch_size=30, ensemble=3)


def _log_softmax(s):
    s = s - s.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def test_scores_are_the_mean_log_probability():
    X, _ = blobs()
    nets = [TwoLayerNet(6, 5, 3, std=0.5, seed=k, dtype=np.float64) for k in range(3)]
    ensemble = Ensemble(nets)
    expected = np.mean([_log_softmax(net.scores(X)) for net in nets], axis=0)
    np.testing.assert_allclose(ensemble.scores(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(ensemble.predict(X), expected.argmax(axis=1))
    assert set(ensemble.params) == {f"net{k}.{name}" for k in range(3) for name in ("W1", "b1", "W2", "b2")}


def test_nets_with_one_hidden_layer_answer_as_one_wider_net():
    # An independent reference: K nets 6-5-3 averaged are the net 6-(5K)-3 whose W1 are
    # side by side and whose W2 are stacked and divided by K (b2 averaged).
    X, _ = blobs()
    nets = [TwoLayerNet(6, 5, 3, std=0.5, seed=k, dtype=np.float64) for k in range(4)]
    for net in nets:
        net.params["b1"] += 0.1 * np.random.default_rng(7).standard_normal(5)
    wide = TwoLayerNet(6, 20, 3, dtype=np.float64)
    wide.params = {"W1": np.hstack([n.params["W1"] for n in nets]), "b1": np.hstack([n.params["b1"] for n in nets]),
                   "W2": np.vstack([n.params["W2"] for n in nets]) / 4,
                   "b2": np.mean([n.params["b2"] for n in nets], axis=0)}
    np.testing.assert_array_equal(Ensemble(nets).predict(X), wide.predict(X))


def test_nets_that_disagree_on_shape_are_refused():
    with pytest.raises(ValueError, match="at least 2 nets; got 1"):
        Ensemble([TwoLayerNet(6, 5, 3)])
    with pytest.raises(ValueError, match="net 1 of the ensemble has num_classes=4, but net 0 has 3"):
        Ensemble([TwoLayerNet(6, 5, 3), TwoLayerNet(6, 5, 4)])


def test_member_configs_net_0_is_the_single_run_and_seeds_do_not_depend_on_k():
    assert CFG.member_configs()[0] == dataclasses.replace(CFG, ensemble=1)
    seeds = [m.seed for m in CFG.member_configs()]
    assert len(set(seeds)) == 3
    assert [m.seed for m in dataclasses.replace(CFG, ensemble=2).member_configs()] == seeds[:2]
    others = {m.seed for s in (1, 2) for m in dataclasses.replace(CFG, seed=s).member_configs()}
    assert not others & set(seeds)  # the ensembles of seeds 0, 1, 2 share no net
    assert all(dataclasses.replace(m, seed=0) == dataclasses.replace(CFG, ensemble=1)
               for m in CFG.member_configs())
    single = dataclasses.replace(CFG, ensemble=1)
    assert single.member_configs() == [single]


def test_an_ensemble_trains_each_net_as_its_single_run_would():
    X, y = blobs()
    model, history = train_model(CFG, X, y, X[:50], y[:50])
    assert isinstance(model, Ensemble) and len(model.members) == 3
    assert len(history["members"]) == 3 and net_histories(history) == history["members"]
    for net, member, h in zip(model.members, CFG.member_configs(), history["members"]):
        alone, alone_history = train_model(member, X, y, X[:50], y[:50])
        np.testing.assert_array_equal(net.scores(X), alone.scores(X))
        assert h["loss_history"] == alone_history["loss_history"]
    assert (model.predict(X) == y).mean() > 0.9
    assert isinstance(build_model(CFG, 6, 3), Ensemble) and trained_config(CFG, model) == CFG


def test_each_net_gets_its_own_callbacks():
    X, y = blobs()
    seen = []

    class Mark(Callback):
        def __init__(self, k):
            self.k = k

        def on_train_begin(self, trainer):
            seen.append((self.k, trainer.config.seed))

    train_model(CFG, X, y, X, y, callbacks=lambda k: [Mark(k)])
    assert seen == [(k, m.seed) for k, m in enumerate(CFG.member_configs())]


class _InterruptAt(Callback):
    """Raises KeyboardInterrupt (a Ctrl-C) at iteration 5 of the net whose seed is given."""

    def __init__(self, seed):
        self.seed = seed

    def on_iteration_end(self, trainer, iteration, loss):
        if trainer.config.seed == self.seed and iteration == 5:
            raise KeyboardInterrupt


@pytest.mark.parametrize("net", [0, 1])
def test_ctrl_c_ends_the_net_in_training_and_trains_no_more(net):
    X, y = blobs()
    cfg = dataclasses.replace(CFG, catch_interrupt=True)
    seed = cfg.member_configs()[net].seed
    model, history = train_model(cfg, X, y, X, y, callbacks=[_InterruptAt(seed)])
    assert history["interrupted"] is True
    done = trained_config(cfg, model)
    assert done.ensemble == net + 1 and done.member_configs() == cfg.member_configs()[:net + 1]
    if net == 0:
        assert isinstance(model, FullyConnectedNet) and len(history["loss_history"]) == 6
    else:
        assert len(model.members) == 2 and len(history["members"][1]["loss_history"]) == 6


def test_a_trainer_trains_one_net_and_the_count_is_checked():
    X, y = blobs()
    with pytest.raises(ValueError, match="ensemble=3 trains 3 nets, and a trainer trains one"):
        build_trainer(CFG, X, y, y)
    with pytest.raises(ValueError, match="ensemble must be a positive integer"):
        ExperimentConfig(ensemble=0)


# --------------------------------------------------------------------------
# Nets trained at once (ensemble_jobs)
# --------------------------------------------------------------------------

def test_nets_trained_at_once_are_the_nets_trained_alone_with_one_blas_thread():
    from threadpoolctl import threadpool_limits

    X, y = blobs()
    model, history = train_model(dataclasses.replace(CFG, ensemble_jobs=2), X, y, X[:50], y[:50])
    three, _ = train_model(dataclasses.replace(CFG, ensemble_jobs=3), X, y, X[:50], y[:50])
    assert "interrupted" not in history and len(model.members) == 3
    for k, member in enumerate(CFG.member_configs()):
        with threadpool_limits(limits=1, user_api="blas"):
            alone, alone_history = train_model(member, X, y, X[:50], y[:50])
        np.testing.assert_array_equal(model.members[k].scores(X), alone.scores(X))
        np.testing.assert_array_equal(three.members[k].scores(X), alone.scores(X))
        assert history["members"][k]["loss_history"] == alone_history["loss_history"]


def test_nets_trained_at_once_really_train_side_by_side():
    import threading

    X, y = blobs()
    both_started = threading.Barrier(2, timeout=10)  # broken if the nets trained one after the other

    class Meet(Callback):
        def on_train_begin(self, trainer):
            both_started.wait()

    cfg = dataclasses.replace(CFG, ensemble=2, ensemble_jobs=2)
    model, _ = train_model(cfg, X, y, X, y, callbacks=lambda k: [Meet()])
    assert len(model.members) == 2 and not both_started.broken


def test_ctrl_c_ends_the_nets_in_training_at_once_and_starts_no_more():
    import _thread
    import signal
    import threading

    before = signal.getsignal(signal.SIGINT)  # Python's own, or SIG_IGN in a job started in the background
    X, y = blobs()

    class CtrlC(Callback):
        """Net 0 sends the main thread a Ctrl-C at iteration 5, once net 1 has started too,
        and waits until it is passed on."""

        def __init__(self):
            self.both_started = threading.Barrier(2, timeout=10)

        def on_train_begin(self, trainer):
            self.both_started.wait()

        def on_iteration_end(self, trainer, iteration, loss):
            if trainer.config.seed != 0:
                return
            if iteration == 5:
                _thread.interrupt_main()
                stop = next(cb.event for cb in trainer.callbacks if hasattr(cb, "event"))
                assert stop.wait(10)

    # Long enough that net 1 is still training when the Ctrl-C comes; net 2 waits for a free job.
    cfg = dataclasses.replace(CFG, num_iters=20_000, ensemble_jobs=2, catch_interrupt=True)
    ctrl_c = CtrlC()
    model, history = train_model(cfg, X, y, X, y, callbacks=lambda k: [ctrl_c] if k < 2 else [])
    assert history["interrupted"] is True
    assert len(model.members) == 2 and trained_config(cfg, model).ensemble == 2
    assert all(h["interrupted"] for h in history["members"])
    assert len(history["members"][0]["loss_history"]) == 6  # stopped at the step of the Ctrl-C
    assert len(history["members"][1]["loss_history"]) < 20_000
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C is handled as before the fit again
    with pytest.raises(KeyboardInterrupt):  # without catch_interrupt the Ctrl-C is raised
        ctrl_c = CtrlC()
        train_model(dataclasses.replace(cfg, catch_interrupt=False), X, y, X, y,
                    callbacks=lambda k: [ctrl_c] if k < 2 else [])


def test_a_net_that_diverges_among_nets_at_once_stops_them_all_and_is_raised():
    from cattern.errors import DivergedError

    X, y = blobs()
    with pytest.raises(DivergedError):
        train_model(dataclasses.replace(CFG, learning_rate=1e6, num_iters=2000, ensemble_jobs=2), X, y, X, y,
                    callbacks=lambda k: [])


def test_nets_at_once_need_callbacks_of_their_own_and_the_count_is_checked():
    X, y = blobs()
    with pytest.raises(ValueError, match="need callbacks of their own"):
        train_model(dataclasses.replace(CFG, ensemble_jobs=2), X, y, X, y, callbacks=[Callback()])
    with pytest.raises(ValueError, match="ensemble_jobs must be a positive integer"):
        ExperimentConfig(ensemble_jobs=0)
