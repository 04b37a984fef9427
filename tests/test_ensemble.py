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
