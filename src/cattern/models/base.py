"""What every cattern model shares: the loss that joins its forward and backward passes.

A model subclasses :class:`Classifier` and defines ``params``, ``input_size``,
``num_classes``, ``dtype`` and its two passes, side by side:

- ``forward(X, train, workspace) -> (scores, cache)``: (N, D) inputs to
  (N, C) class scores; ``train`` False is test mode (no dropout, batch
  norm on its running statistics);
- ``backward(dscores, cache, workspace) -> grads``: the gradient of the
  DATA loss for each parameter, keyed like ``params``.

Written once here, for every model: the loss (mean softmax cross-entropy
plus the L2 penalty on the weight matrices), the checks of the public
:meth:`Classifier.loss`, and prediction in chunks of rows.
"""
import numpy as np

from cattern.checks import check_nonnegative, check_X, check_y
from cattern.layers import softmax_loss
from cattern.workspace import no_workspace

# Rows per forward pass in scores(): bounds memory on large inputs
# (55000 x 1024 hidden units would otherwise be a 225 MB float32 temporary).
PREDICT_CHUNK = 8192


class Classifier:
    """The model protocol the trainer relies on, written once.

    ``label_smoothing`` (e, 0 unless a model sets it) trains against the
    smoothed targets of :func:`cattern.layers.softmax_loss`.
    """

    label_smoothing = 0.0

    def loss(self, X, y=None, reg=0.0):
        """Class scores, or the loss and its gradients.

        Inputs:
        - X: (N, D) inputs
        - y: (N,) integer labels in [0, C), or None
        - reg: L2 regularization strength

        Returns:
        - if y is None: scores, (N, C), in test mode
        - else (loss, grads): the scalar loss, and a dict with the gradient of
          the loss for each key of ``self.params``, of the same shape, in
          training mode; the arrays are fresh, never reused by a later call
        """
        reg = check_nonnegative("reg", reg)
        if y is None:
            return self.scores(X)
        X, y = self.check_data(X, y)
        return self.batch_loss(X, y, reg)

    def batch_loss(self, X, y, reg, workspace=no_workspace):
        """:meth:`loss` in training mode on data already checked by :meth:`check_data`.

        The trainer checks the whole data set once and calls this every step,
        so no step pays for the checks again. It also passes a
        :class:`~cattern.workspace.Workspace`, from which every activation and
        gradient array is reused across steps; the returned ``grads`` then live
        in that workspace and are overwritten by the next call.

        The loss is the mean softmax cross-entropy of the scores (against
        targets smoothed by ``label_smoothing``, when it is not 0) plus
        ``0.5 * reg * sum(W**2)`` over the weight matrices (not the biases or
        normalization parameters); the 0.5 makes the penalty's gradient
        ``reg * W``.
        """
        scores, cache = self.forward(X, train=True, workspace=workspace)
        loss, dscores = softmax_loss(scores, y, self.label_smoothing)
        grads = self.backward(dscores, cache, workspace)
        if reg:  # skipped when reg is 0: no pass over the weights
            weights = [name for name in self.params if name.startswith("W")]
            # vdot sums W * W without a temporary.
            loss = loss + 0.5 * reg * sum(np.vdot(self.params[name], self.params[name]) for name in weights)
            for name in weights:
                grads[name] += reg * self.params[name]
        return loss, grads

    def scores(self, X):
        """Class scores (N, C) for inputs X (N, D) in test mode, computed in chunks of rows."""
        X = check_X(X, self.input_size, self.dtype)
        out = np.empty((X.shape[0], self.num_classes), dtype=self.dtype)
        for start in range(0, X.shape[0], PREDICT_CHUNK):
            rows = slice(start, start + PREDICT_CHUNK)
            out[rows] = self.forward(X[rows], train=False)[0]
        return out

    def predict(self, X):
        """Predicted labels (N,) for inputs X (N, D): the class of highest score."""
        return np.argmax(self.scores(X), axis=1)

    def check_data(self, X, y):
        """Validate a data set once: X as (N, D) of the net's dtype, y as (N,) int64."""
        X = check_X(X, self.input_size, self.dtype)
        return X, check_y(y, self.num_classes, num_rows=X.shape[0])
