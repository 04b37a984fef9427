"""A fully-connected network of any depth: {affine - [norm] - ReLU - [dropout]} x (L - 1) - affine - softmax."""
import numpy as np

from cattern.checks import check_nonnegative, check_positive_int, check_X
from cattern.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
)
from cattern.models.base import Classifier
from cattern.optim import clip_column_norms
from cattern.workspace import no_workspace

NORMALIZATIONS = (None, "batchnorm", "layernorm")


class FullyConnectedNet(Classifier):
    """Affine-ReLU blocks of any widths, then an affine layer to the class scores.

    With N examples of D features, hidden widths H1..H(L-1) and C classes,
    block i maps (N, H(i-1)) to (N, Hi)::

        h0 = input_dropout(X)                                       # (N, D)
        hi = dropout(relu(norm(h(i-1) @ Wi + bi)))                  # (N, Hi)
        scores = h(L-1) @ WL + bL                                   # (N, C)

    trained on the mean softmax cross-entropy of ``scores`` (against targets
    smoothed by ``label_smoothing``, if given) plus an L2 penalty
    ``0.5 * reg * sum_i sum(Wi**2)`` (biases and norm parameters are not
    penalized). ``loss(X, y)`` runs in training mode (dropout masks drawn,
    batch normalization on batch statistics); ``loss(X)``, :meth:`scores`
    and :meth:`predict` run in test mode (no dropout, running statistics).

    Parameters live in ``self.params``, keyed ``W1, b1, ..., WL, bL`` and, with
    normalization, ``gamma1, beta1, ..., gamma(L-1), beta(L-1)`` ((Hi,) each).
    Batch normalization's running statistics are not trained by gradients; they
    live in ``self.buffers`` (``running_mean1``, ``running_var1``, ...), which
    the trainer saves and restores together with the parameters.

    Inputs:
    - input_size: D
    - hidden_dims: sequence of hidden widths [H1, ..., H(L-1)]; may be empty
      (softmax regression)
    - num_classes: C
    - dropout: probability of dropping each hidden unit in training, [0, 1)
    - input_dropout: probability of dropping each input feature, [0, 1)
    - normalization: None, "batchnorm" or "layernorm", between each hidden
      affine layer and its ReLU
    - weight_scale: "he" draws hidden weights from N(0, 2 / fan_in) (He et al.
      2015: it keeps the activations' variance through a ReLU) and the output
      weights from N(0, 1 / fan_in) (no ReLU follows them); a number is the
      standard deviation of every weight
    - max_norm: None, or the largest L2 norm allowed for each unit's incoming
      weights (a column of Wi); :meth:`constrain` enforces it after each update
    - label_smoothing: e in [0, 1): train against the targets
      (1 - e) * onehot(y) + e / C (see :func:`cattern.layers.softmax_loss`)
    - dtype: float32 (fast, the default) or float64 (for gradient checks)
    - seed: int or ``np.random.Generator`` for the initial weights and the
      dropout masks; None draws a seed from NumPy's global random state (as
      :class:`TwoLayerNet` and the trainer do), so ``np.random.seed`` repeats it
    """

    def __init__(self, input_size, hidden_dims, num_classes, *, dropout=0.0, input_dropout=0.0,
                 normalization=None, weight_scale="he", max_norm=None, label_smoothing=0.0, dtype=np.float32,
                 seed=None):
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_dims = [check_positive_int("hidden_dims entry", h) for h in hidden_dims]
        self.num_classes = self.output_size = check_positive_int("num_classes", num_classes)
        for name, p in (("dropout", dropout), ("input_dropout", input_dropout)):
            if not 0 <= check_nonnegative(name, p) < 1:
                raise ValueError(f"{name} is the probability of dropping a unit and must be in [0, 1); got {p!r}")
        if not 0 <= check_nonnegative("label_smoothing", label_smoothing) < 1:
            raise ValueError(f"label_smoothing is the share of each target spread over all classes and must "
                             f"be in [0, 1); got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.dropout, self.input_dropout = float(dropout), float(input_dropout)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {list(NORMALIZATIONS)}; got {normalization!r}")
        self.normalization = normalization
        if max_norm is not None and check_nonnegative("max_norm", max_norm) == 0:
            raise ValueError("max_norm must be > 0 (or None for no constraint); got 0")
        self.max_norm = None if max_norm is None else float(max_norm)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64; got {self.dtype}")
        if not (weight_scale == "he" or (not isinstance(weight_scale, str)
                                         and check_nonnegative("weight_scale", weight_scale) > 0)):
            raise ValueError(f"weight_scale must be 'he' or a standard deviation > 0; got {weight_scale!r}")
        self.weight_scale = weight_scale

        if seed is None:
            seed = np.random.randint(0, 2**31 - 1)  # from NumPy's global state, as TwoLayerNet draws
        rng = np.random.default_rng(seed)
        dims = [self.input_size] + self.hidden_dims + [self.num_classes]
        self.num_layers = len(dims) - 1
        self.params, self.buffers, self.bn_params = {}, {}, {}
        for i in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[i - 1], dims[i]
            if weight_scale == "he":
                std = np.sqrt((2.0 if i < self.num_layers else 1.0) / fan_in)
            else:
                std = float(weight_scale)
            self.params[f"W{i}"] = (std * rng.standard_normal((fan_in, fan_out))).astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=self.dtype)
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out, dtype=self.dtype)
                self.params[f"beta{i}"] = np.zeros(fan_out, dtype=self.dtype)
            if normalization == "batchnorm" and i < self.num_layers:
                # The bn_param dict and self.buffers share these arrays, updated in place.
                mean = self.buffers[f"running_mean{i}"] = np.zeros(fan_out, dtype=self.dtype)
                var = self.buffers[f"running_var{i}"] = np.ones(fan_out, dtype=self.dtype)
                self.bn_params[i] = {"running_mean": mean, "running_var": var}
        # Masks come from their own stream, so a test can fix them by resetting it.
        self.dropout_rng = rng.spawn(1)[0]

    # ------------------------------------------------------------------
    # The forward pass and, beside it, the backward pass (the loss that joins
    # them, and prediction in chunks, are written once in Classifier)
    # ------------------------------------------------------------------

    def forward(self, X, train=True, workspace=no_workspace):
        """Class scores for inputs X (N, D), and the cache :meth:`backward` needs.

        ``train`` True draws dropout masks and normalizes batches by their own
        statistics (updating the running ones); False is test mode: no dropout,
        batch norm on the running statistics. With a
        :class:`~cattern.workspace.Workspace` the affine outputs are written
        into its arrays, reused from step to step.

        Returns (scores (N, C), cache).
        """
        p, L = self.params, self.num_layers
        N, ws, dt = X.shape[0], workspace, self.dtype
        caches = []
        # (N, D) -> (N, H1) -> ... -> (N, H(L-1)) -> (N, C)
        h, _ = dropout_forward(X, self.input_dropout, train, self.dropout_rng)
        for i in range(1, L):
            W = p[f"W{i}"]
            a, cache_affine = affine_forward(h, W, p[f"b{i}"], out=ws(f"a{i}", (N, W.shape[1]), dt))
            a, cache_norm = self._norm_forward(i, a, train)
            a, cache_relu = relu_forward(a, out=a)  # in place: the pre-activation isn't needed
            h, cache_drop = dropout_forward(a, self.dropout, train, self.dropout_rng)
            caches.append((cache_affine, cache_norm, cache_relu, cache_drop))
        scores, cache_out = affine_forward(h, p[f"W{L}"], p[f"b{L}"], out=ws("scores", (N, self.num_classes), dt))
        return scores, (caches, cache_out)

    def backward(self, dscores, cache, workspace=no_workspace):
        """The chain rule through :meth:`forward`'s layers (in training mode), in reverse.

        Inputs: dscores (N, C), the gradient of the data loss with respect to
        the scores; cache, from :meth:`forward`.

        Returns grads keyed like ``params``: dWi (H(i-1), Hi), dbi (Hi,), and
        with normalization dgammai, dbetai (Hi,).
        """
        caches, cache_out = cache
        L, N, ws = self.num_layers, dscores.shape[0], workspace
        grads = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(
            dscores, cache_out, input_grad=L > 1, out=self._grad_buffers(L, N, ws))
        for i in range(L - 1, 0, -1):
            cache_affine, cache_norm, cache_relu, cache_drop = caches[i - 1]
            da = dropout_backward(dh, cache_drop)
            da = relu_backward(da, cache_relu, out=da)  # in place: da is scratch
            da = self._norm_backward(i, da, cache_norm, grads)
            # The first layer's input is the data (or its dropped-out copy): no dX needed.
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(
                da, cache_affine, input_grad=i > 1, out=self._grad_buffers(i, N, ws))
        return grads

    def _grad_buffers(self, i, N, ws):
        """Workspace arrays (dx, dW, db) for affine layer i's backward pass (dx None for layer 1)."""
        D, H = self.params[f"W{i}"].shape
        dx = ws(f"dh{i - 1}", (N, D), self.dtype) if i > 1 else None
        return dx, ws(f"dW{i}", (D, H), self.dtype), ws(f"db{i}", (H,), self.dtype)

    def _norm_forward(self, i, a, train):
        """Normalize hidden layer i's pre-activation a (N, Hi), if the net normalizes."""
        if self.normalization is None:
            return a, None
        gamma, beta = self.params[f"gamma{i}"], self.params[f"beta{i}"]
        if self.normalization == "layernorm":
            return layernorm_forward(a, gamma, beta)
        bn_param = self.bn_params[i]
        bn_param["mode"] = "train" if train else "test"
        return batchnorm_forward(a, gamma, beta, bn_param)

    def _norm_backward(self, i, da, cache, grads):
        """Backward through hidden layer i's normalization; stores dgamma_i, dbeta_i in grads."""
        if self.normalization is None:
            return da
        backward = layernorm_backward if self.normalization == "layernorm" else batchnorm_backward
        da, grads[f"gamma{i}"], grads[f"beta{i}"] = backward(da, cache)
        return da

    # ------------------------------------------------------------------
    # The max-norm constraint, applied by the trainer after each update
    # ------------------------------------------------------------------

    def constrain(self):
        """Project every weight matrix back into the max-norm ball (no-op without max_norm).

        Srivastava et al. (2014) bound each unit's incoming weight vector,
        ``||Wi[:, j]|| <= max_norm``, which lets dropout nets use large
        learning rates without their weights blowing up.
        """
        if self.max_norm is None:
            return
        for i in range(1, self.num_layers + 1):
            clip_column_norms(self.params[f"W{i}"], self.max_norm)

    # ------------------------------------------------------------------
    # ReLU activity, for the diagnosing gradient check (cattern.diagnosis)
    # ------------------------------------------------------------------

    def relu_masks(self, X, train=True):
        """Which hidden units are active (ReLU input > 0) in a pass on X (N, D).

        Returns a list of L - 1 bool arrays, (N, Hi) each. In a training-mode
        pass (``train`` True), like :meth:`batch_loss`, it draws dropout masks
        from ``self.dropout_rng`` (reset its state first to see batch_loss's
        masks) and, with batchnorm, updates the running statistics. A gradient
        check compares the masks at W - h and W + h to find the entries whose
        step crosses a kink. ``train`` False is a test-mode pass, which changes
        no state: the training doctor counts dead units with it.
        """
        _, (caches, _) = self.forward(check_X(X, self.input_size, self.dtype), train=train)
        return [active > 0 for _, _, active, _ in caches]  # ReLU's cache: its output, > 0 where its input is
