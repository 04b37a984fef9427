"""What every cattern model shares: the public loss over its batch_loss, checks, predict.

A model subclasses :class:`Classifier` and defines ``params``, ``input_size``,
``num_classes``, ``dtype``, ``batch_loss(X, y, reg, workspace)`` (its forward
and backward passes) and ``scores(X)`` (its test-mode forward pass).
"""
import numpy as np

from cattern.checks import check_nonnegative, check_X, check_y


class Classifier:
    """The model protocol the trainer relies on, written once."""

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

    def predict(self, X):
        """Predicted labels (N,) for inputs X (N, D): the class of highest score."""
        return np.argmax(self.scores(X), axis=1)

    def check_data(self, X, y):
        """Validate a data set once: X as (N, D) of the net's dtype, y as (N,) int64."""
        X = check_X(X, self.input_size, self.dtype)
        return X, check_y(y, self.num_classes, num_rows=X.shape[0])
