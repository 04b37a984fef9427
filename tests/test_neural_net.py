"""TwoLayerNet against the seed's own numbers, gradients, training and bad input."""
import numpy as np
import pytest
from hypothesis import assume, example, given, settings, strategies as st

from cattern.errors import DivergedError
from cattern.gradient_check import eval_numerical_gradient, norm_rel_error, rel_error
from cattern.neural_net import TwoLayerNet
from cattern.trainer import Callback, TrainConfig, Trainer

# The seed's toy problem, cells [3]-[7].
INPUT_SIZE, HIDDEN_SIZE, NUM_CLASSES, NUM_INPUTS = 4, 10, 3, 5


def init_toy_model():
    np.random.seed(0)
    return TwoLayerNet(INPUT_SIZE, HIDDEN_SIZE, NUM_CLASSES, std=1e-1)


def init_toy_data():
    np.random.seed(1)
    X = 10 * np.random.randn(NUM_INPUTS, INPUT_SIZE)
    y = np.array([0, 1, 2, 2, 1])
    return X, y


def test_seed_scores():
    net, (X, y) = init_toy_model(), init_toy_data()
    correct_scores = np.asarray([
        [-0.81233741, -1.27654624, -0.70335995],
        [-0.17129677, -1.18803311, -0.47310444],
        [-0.51590475, -1.01354314, -0.8504215],
        [-0.15419291, -0.48629638, -0.52901952],
        [-0.00618733, -0.12435261, -0.15226949]])
    assert np.sum(np.abs(net.loss(X) - correct_scores)) < 1e-7


def test_seed_loss():
    net, (X, y) = init_toy_model(), init_toy_data()
    loss, _ = net.loss(X, y, reg=0.1)
    assert np.sum(np.abs(loss - 1.30378789133)) < 1e-12


def test_seed_gradient_check():
    net, (X, y) = init_toy_model(), init_toy_data()
    loss, grads = net.loss(X, y, reg=0.05)
    for name in grads:
        f = lambda W: net.loss(X, y, reg=0.05)[0]  # noqa: E731
        num = eval_numerical_gradient(f, net.params[name], verbose=False)
        assert rel_error(num, grads[name]) < 1e-8, name


def test_seed_toy_training():
    net, (X, y) = init_toy_model(), init_toy_data()
    stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, verbose=False)
    assert stats["loss_history"][-1] < 0.05
    assert len(stats["loss_history"]) == 100


def test_verbose_prints_the_seed_lines(capsys):
    net, (X, y) = init_toy_model(), init_toy_data()
    net.train(X, y, X, y, learning_rate=1e-1, num_iters=201, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "iteration 0 / 201", "iteration 100 / 201", "iteration 200 / 201"]
    assert lines[0].startswith("iteration 0 / 201: loss 1.")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.integers(1, 6), st.integers(2, 4),
       # reg is 0 or at least 1e-3: a gradient of 1e-9 from a 1e-9 penalty is below
       # what a centered difference can resolve (its noise is about 1e-11).
       st.one_of(st.just(0.0), st.floats(1e-3, 1.0)), st.integers(0, 2**31 - 1))
@example(N=3, D=1, H=1, C=3, reg=0.0, seed=56)  # b2's gradient exactly 0 (see norm_rel_error)
def test_whole_net_gradients(N, D, H, C, reg, seed):
    rng = np.random.default_rng(seed)
    net = TwoLayerNet(D, H, C, std=0.3, seed=rng)  # scores of order 1: no saturated softmax
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    # Keep every hidden pre-activation off ReLU's kink at 0: a step of h must not
    # switch a unit on or off, or the numerical gradient is meaningless there.
    pre = X @ net.params["W1"]
    net.params["b1"] = np.where(np.abs(pre).min(axis=0) < 0.05, 0.5, 0.0) + 0.0
    pre = pre + net.params["b1"]
    assume((np.abs(pre) >= 1e-3).all())
    _, grads = net.loss(X, y, reg=reg)
    for name in grads:
        num = eval_numerical_gradient(lambda W: net.loss(X, y, reg=reg)[0],
                                      net.params[name], verbose=False)
        assert norm_rel_error(num, grads[name]) < 1e-7, name


def test_huge_scores_give_a_finite_loss():
    net = TwoLayerNet(2, 3, 2, std=1.0, seed=0)
    loss, grads = net.loss(np.array([[1e6, -1e6], [-1e6, 1e6]]), np.array([0, 1]))
    assert np.isfinite(loss) and all(np.isfinite(g).all() for g in grads.values())


def _blobs(n=300, d=8, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(c, size=n)
    X = rng.standard_normal((n, d)) + 3 * np.eye(c, d)[y]
    return X, y


def test_same_seed_gives_bit_identical_parameters():
    X, y = _blobs()
    runs = []
    for _ in range(2):
        net = TwoLayerNet(8, 16, 3, std=1e-2, seed=7)
        net.train(X, y, X, y, learning_rate=0.1, num_iters=50, batch_size=64, seed=3)
        runs.append(net.params)
    for k in runs[0]:
        assert np.array_equal(runs[0][k], runs[1][k]), k


def test_global_seed_reproduces_a_run_without_explicit_seeds():
    X, y = _blobs()
    finals = []
    for _ in range(2):
        np.random.seed(5)
        net = TwoLayerNet(8, 16, 3, std=1e-2)
        finals.append(net.train(X, y, X, y, learning_rate=0.1, num_iters=30)["loss_history"])
    assert finals[0] == finals[1]


def test_float32_net_stays_float32_through_training():
    X, y = _blobs()
    net = TwoLayerNet(8, 16, 3, std=1e-2, seed=0, dtype=np.float32)
    _, grads = net.loss(X, y, reg=0.1)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    net.train(X, y, X, y, learning_rate=0.1, reg=1e-3, num_iters=20, batch_size=50, seed=0)
    assert {p.dtype for p in net.params.values()} == {np.dtype(np.float32)}
    assert net.loss(X).dtype == np.float32


def test_training_learns_separable_blobs():
    X, y = _blobs()
    net = TwoLayerNet(8, 32, 3, std=1e-2, seed=0)
    stats = net.train(X, y, X, y, learning_rate=0.1, num_iters=200, batch_size=50, seed=0)
    assert stats["val_acc_history"][-1] > 0.95
    assert (net.predict(X) == y).mean() > 0.95


def test_larger_reg_gives_smaller_weights():
    X, y = _blobs()
    norms = []
    for reg in (0.0, 1.0):
        net = TwoLayerNet(8, 16, 3, std=1e-1, seed=0)
        net.train(X, y, X, y, learning_rate=0.05, reg=reg, num_iters=200, batch_size=50, seed=0)
        norms.append(np.linalg.norm(net.params["W1"]))
    assert norms[1] < 0.5 * norms[0]


@pytest.mark.parametrize("n,batch", [(300, 64), (300, 100), (5, 200)])
def test_with_epochs_the_rate_decays_once_per_epoch(n, batch):
    # 300 / 64 leaves a remainder: an epoch is still ceil(300 / 64) = 5 batches.
    X, y = _blobs(n=n)
    seen = []

    class Watch(Callback):
        def on_iteration_end(self, trainer, iteration, loss):
            seen.append(trainer.learning_rate)

    net = TwoLayerNet(8, 4, 3, seed=0)
    config = TrainConfig(learning_rate=1.0, learning_rate_decay=0.5, num_iters=12, batch_size=batch, seed=0,
                         sampling="epochs")
    stats = Trainer(net, config, callbacks=[Watch()]).fit(X, y, X, y)
    per_epoch = -(-n // batch)
    assert seen == [0.5 ** (i // per_epoch) for i in range(12)]
    # One accuracy per completed epoch, plus one for a last partial epoch.
    assert len(stats["val_acc_history"]) == -(-12 // per_epoch)


@pytest.mark.parametrize("n,batch,period", [(300, 100, 3), (300, 64, 75), (5, 200, 1), (300, 40, 15)])
def test_the_seeds_train_decays_after_each_epochs_first_step(n, batch, period):
    # The seed's check, it % max(N / B, 1) == 0 after the step of iteration it:
    # 300 / 40 = 7.5 is a whole number every 15 iterations, 300 / 64 every 75.
    X, y = _blobs(n=n)
    seen = []

    class Watch(Callback):
        def on_iteration_end(self, trainer, iteration, loss):
            seen.append(trainer.learning_rate)

    stats = TwoLayerNet(8, 4, 3, seed=0).train(X, y, X, y, learning_rate=1.0, learning_rate_decay=0.5,
                                               num_iters=12, batch_size=batch, seed=0, callbacks=[Watch()])
    assert seen == [0.5 ** -(-i // period) for i in range(12)]
    assert len(stats["val_acc_history"]) == len(range(0, 12, period))  # recorded where it decays


def test_the_seeds_train_draws_its_batches_from_numpys_global_state():
    X, y = _blobs(n=103)
    X[:, 0] = np.arange(103)  # tag each row
    batches = []

    class Spy(TwoLayerNet):
        def batch_loss(self, X, y, reg, workspace):
            batches.append(X[:, 0].astype(int).tolist())
            return super().batch_loss(X, y, reg, workspace)

    net = Spy(8, 4, 3, seed=0)
    np.random.seed(7)
    net.train(X, y, X, y, num_iters=4, batch_size=50)
    after = np.random.rand()
    np.random.seed(7)
    expected = [np.random.choice(np.arange(103), 50).tolist() for _ in range(4)]  # the seed's own draws
    assert batches == expected
    assert np.random.rand() == after  # and nothing else was drawn from the global state


def test_the_seeds_toy_training_prints_its_final_loss():
    """Cell [7] printed 0.017143643532923757: the seed's train, after its np.random.seed(0)."""
    from cattern.reference import toy_problem

    _, X, y = toy_problem()
    np.random.seed(0)
    net = TwoLayerNet(4, 10, 3, std=1e-1)
    stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, verbose=False)
    assert abs(stats["loss_history"][-1] - 0.017143643532923757) < 1e-16


def test_with_epochs_every_example_is_seen_once_per_epoch():
    X, y = _blobs(n=103)
    X[:, 0] = np.arange(103)  # tag each row
    batches = []

    class Spy(TwoLayerNet):
        def batch_loss(self, X, y, reg, workspace):
            batches.append(X[:, 0].copy())
            return super().batch_loss(X, y, reg, workspace)

    Trainer(Spy(8, 4, 3, seed=0), TrainConfig(num_iters=6, batch_size=50, seed=1, sampling="epochs")).fit(X, y, X, y)
    first, second = np.concatenate(batches[:3]), np.concatenate(batches[3:])
    assert sorted(first) == list(range(103)) and sorted(second) == list(range(103))
    assert [len(b) for b in batches] == [50, 50, 3] * 2


# --- bad input: each gets a ValueError that names the problem and the value ---

def test_bad_inputs_are_named():
    net = TwoLayerNet(4, 5, 3, seed=0)
    X, y = np.zeros((2, 4)), np.array([0, 1])
    cases = [
        (lambda: net.loss(np.zeros((2, 5)), y), "X has 5 features per row but the network expects input_size=4"),
        (lambda: net.loss(X, np.array([0, 3])), "y has label 3 but the network has 3 classes (0..2)"),
        (lambda: net.loss(X, np.array([0, -1])), "y has label -1"),
        (lambda: net.loss(X, np.array([0.5, 1.0])), "y must hold integer class labels; got dtype float64"),
        (lambda: net.loss(X, np.array(["a", "b"])), "y must hold integer class labels"),
        (lambda: net.loss(np.array([[0, np.nan, 0, 0], [0, 0, 0, 0]]), y), "X contains NaN or infinite values (first in row 0)"),
        (lambda: net.loss(np.array([[0, 0, 0, 0], [0, np.inf, 0, 0]]), y), "(first in row 1)"),
        (lambda: net.loss(np.zeros((0, 4)), np.zeros(0, int)), "X is empty (0 rows)"),
        (lambda: net.loss(X, np.array([0, 1, 2])), "X has 2 rows but y has 3 labels"),
        (lambda: net.loss(np.zeros(4)), "X must be a 2-D array of shape (N, 4); got shape (4,)"),
        (lambda: net.train(X, y, X, y, batch_size=0), "batch_size must be a positive integer; got 0"),
        (lambda: net.train(X, y, X, y, num_iters=-3), "num_iters must be a positive integer; got -3"),
        (lambda: net.train(X, y, X, y, learning_rate=-1.0), "learning_rate must be a finite number >= 0; got -1.0"),
        (lambda: TwoLayerNet(0, 5, 3), "input_size must be a positive integer; got 0"),
        (lambda: TwoLayerNet(4, -5, 3), "hidden_size must be a positive integer; got -5"),
        (lambda: TwoLayerNet(4, 5, 2.5), "output_size must be a positive integer; got 2.5"),
        (lambda: TwoLayerNet(4, 5, 3, dtype=np.int32), "dtype must be float32 or float64; got int32"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as err:
            call()
        assert message in str(err.value)


def test_divergence_stops_with_its_own_error():
    X, y = _blobs()
    X = X * 1e3
    net = TwoLayerNet(8, 16, 3, std=1.0, seed=0)
    with pytest.raises(DivergedError) as err:
        net.train(X, y, X, y, learning_rate=1e6, num_iters=100, batch_size=50, seed=0)
    assert "at iteration" in str(err.value) and "smaller learning rate" in str(err.value)
    assert isinstance(err.value.iteration, int)


def test_workspace_gives_the_same_numbers_as_fresh_arrays():
    from cattern.workspace import Workspace

    X, y = _blobs(n=40)
    net = TwoLayerNet(8, 16, 3, std=1e-1, seed=0)
    fresh_loss, fresh = net.loss(X, y, reg=0.3)
    ws = Workspace()
    for _ in range(2):  # the second call reuses the first call's arrays
        loss, grads = net.batch_loss(*net.check_data(X, y), 0.3, ws)
        assert loss == fresh_loss
        for k in fresh:
            assert np.array_equal(grads[k], fresh[k]), k
    assert grads["W1"] is ws("dW1", (8, 16), np.float64)


def test_loss_returns_fresh_gradients_each_call():
    # The seed's gradient check keeps grads from one call while calling loss()
    # again; the public loss() must never hand back reused arrays.
    X, y = _blobs(n=10)
    net = TwoLayerNet(8, 4, 3, std=1e-1, seed=0)
    _, g1 = net.loss(X, y)
    _, g2 = net.loss(X * 2, y)
    assert all(g1[k] is not g2[k] for k in g1)
