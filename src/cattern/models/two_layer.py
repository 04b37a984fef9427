"""The seed's network: input - affine - ReLU - affine - softmax."""
import numpy as np

from cattern.callbacks import PrintLoss
from cattern.checks import check_nonnegative, check_positive_int, check_X
from cattern.layers import affine_backward, affine_forward, relu_backward, relu_forward
from cattern.models.base import Classifier
from cattern.trainer import TrainConfig, Trainer
from cattern.workspace import no_workspace


class TwoLayerNet(Classifier):
    """A two-layer fully-connected network with a ReLU between the layers.

    With N examples of D features, H hidden units and C classes::

        scores = relu(X @ W1 + b1) @ W2 + b2        # (N, D) -> (N, H) -> (N, C)

    trained on the mean softmax cross-entropy of ``scores`` plus an L2 penalty
    ``0.5 * reg * (sum(W1**2) + sum(W2**2))``.

    Parameters live in ``self.params``: ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C),
    ``b2`` (C,). Weights start as ``std * randn``, biases at zero.

    Inputs:
    - input_size: D
    - hidden_size: H
    - output_size: C
    - std: scale of the initial weights
    - seed: an int or ``np.random.Generator`` for the initial weights; None
      draws from NumPy's global random state, so that the seed's
      ``np.random.seed(0)`` before construction reproduces its numbers
    - dtype: float64 (exact, the default) or float32 (fast); every array of the
      training step keeps it
    """

    def __init__(self, input_size, hidden_size, output_size, std=1e-4, seed=None,
                 dtype=np.float64):
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.output_size = self.num_classes = check_positive_int("output_size", output_size)
        std = check_nonnegative("std", std)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64; got {self.dtype}")
        D, H, C = self.input_size, self.hidden_size, self.output_size
        if seed is None:
            randn = np.random.randn
        else:
            rng = np.random.default_rng(seed)
            randn = lambda *shape: rng.standard_normal(shape)  # noqa: E731
        # W1 is drawn before W2, in the seed's order, so its scores come out the same.
        self.params = {
            "W1": (std * randn(D, H)).astype(self.dtype),
            "b1": np.zeros(H, dtype=self.dtype),
            "W2": (std * randn(H, C)).astype(self.dtype),
            "b2": np.zeros(C, dtype=self.dtype),
        }

    # ------------------------------------------------------------------
    # The forward pass and, beside it, the backward pass. The loss that joins
    # them (softmax cross-entropy plus the L2 penalty), the public loss(X, y,
    # reg) and the chunked scores(X) are written once, in Classifier.
    # ------------------------------------------------------------------

    def forward(self, X, train=True, workspace=no_workspace):
        """Class scores for inputs X (N, D), and the cache :meth:`backward` needs.

        The net is the same in training and at test time, so ``train`` changes
        nothing here. With a :class:`~cattern.workspace.Workspace` the
        activations are written into its arrays, reused from step to step.

        Returns (scores (N, C), cache).
        """
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        N, H, C = X.shape[0], W1.shape[1], W2.shape[1]
        ws, dt = workspace, self.dtype
        hidden, cache1 = affine_forward(X, W1, b1, out=ws("hidden", (N, H), dt))     # (N, D) -> (N, H)
        hidden, cache_relu = relu_forward(hidden, out=hidden)  # in place: the pre-activation isn't needed
        scores, cache2 = affine_forward(hidden, W2, b2, out=ws("scores", (N, C), dt))  # (N, H) -> (N, C)
        return scores, (cache1, cache_relu, cache2)

    def backward(self, dscores, cache, workspace=no_workspace):
        """The chain rule through :meth:`forward`'s layers, in reverse.

        Inputs: dscores (N, C), the gradient of the data loss with respect to
        the scores; cache, from :meth:`forward`.

        Returns grads: dW1 (D, H), dW2 (H, C), db1 (H,), db2 (C,), keyed in the
        order the seed's gradient check prints them.
        """
        cache1, cache_relu, cache2 = cache
        (N, C), (D, H) = dscores.shape, self.params["W1"].shape
        ws, dt = workspace, self.dtype
        dhidden, dW2, db2 = affine_backward(
            dscores, cache2, out=(ws("dhidden", (N, H), dt), ws("dW2", (H, C), dt), ws("db2", (C,), dt)))
        dhidden = relu_backward(dhidden, cache_relu, out=dhidden)  # in place: dhidden is scratch
        _, dW1, db1 = affine_backward(  # X is the data: no gradient with respect to it
            dhidden, cache1, input_grad=False, out=(None, ws("dW1", (D, H), dt), ws("db1", (H,), dt)))
        return {"W1": dW1, "W2": dW2, "b1": db1, "b2": db2}

    def train(self, X, y, X_val, y_val, learning_rate=1e-3, learning_rate_decay=0.95,
              reg=5e-6, num_iters=100, batch_size=200, verbose=False, momentum=0.0,
              seed=None, callbacks=()):
        """Train with minibatch SGD as the seed's ``train`` did, to the last digit.

        The seed's printed numbers pin its loop down (the README's "The seed
        as it ran" gives the measurements): each step draws ``batch_size``
        examples with replacement, ``np.random.choice(N, batch_size)`` from
        NumPy's global state unless ``seed`` is given; the update is plain SGD
        by default (the seed's text says "SGD with momentum", but its numbers
        are plain SGD's; pass ``momentum=0.9`` for momentum); after the step
        of each iteration ``it`` with ``it % max(N / batch_size, 1) == 0`` it
        records the batch's and the validation set's accuracy and multiplies
        the rate by ``learning_rate_decay``. So the seed's cells, run after
        its own ``np.random.seed(0)``, print its losses digit for digit.

        Inputs:
        - X: (N, D) training inputs; y: (N,) labels
        - X_val: (N_val, D) validation inputs; y_val: (N_val,) labels
        - learning_rate: starting rate
        - learning_rate_decay: factor applied to the rate after each epoch
        - reg: L2 strength
        - num_iters: number of updates
        - batch_size: examples per update
        - verbose: print the loss every 100 iterations
        - momentum: velocity decay of SGD with momentum (0, the default: plain SGD)
        - seed: seeds the batches; None draws them from NumPy's global state
        - callbacks: extra :class:`cattern.trainer.Callback` objects

        Returns a dict with ``loss_history`` (per iteration), ``train_acc_history``
        and ``val_acc_history`` (per epoch, recorded after its first step).
        """
        config = TrainConfig(
            num_iters=num_iters, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_decay=learning_rate_decay, momentum=momentum, reg=reg,
            update_rule="sgd_momentum", seed=seed, sampling="with_replacement", lr_schedule="seed",
        )
        callbacks = list(callbacks) + ([PrintLoss()] if verbose else [])
        trainer = Trainer(self, config, callbacks=callbacks)
        return trainer.fit(X, y, X_val, y_val)

    # ------------------------------------------------------------------
    # ReLU activity, for the diagnosing gradient check (cattern.diagnosis)
    # ------------------------------------------------------------------

    def relu_masks(self, X, train=True):
        """Which hidden units are active, ``X @ W1 + b1 > 0``, for inputs X (N, D).

        Returns a list of one (N, H) bool array. A gradient check compares the
        masks at W - h and W + h to find the entries whose step crosses a kink.
        ``train`` changes nothing (the net is the same in both modes); it is
        there because :class:`~cattern.models.FullyConnectedNet` takes it.
        """
        _, (_, active, _) = self.forward(check_X(X, self.input_size, self.dtype), train=train)
        return [active > 0]  # ReLU's cache: its output, > 0 exactly where its input is
