"""Several trained nets answering as one: the mean of their log-probabilities.

With K member nets, each giving class scores s_k (N, C) for inputs X (N, D),
the ensemble's scores are the mean of the members' log-softmax::

    scores = (1/K) * sum_k (s_k - logsumexp(s_k))                  # (N, C)

so its softmax is the members' geometric-mean probability, renormalized.
Each member's log-softmax differs from its scores by one number per row, so
the ensemble predicts the class of the highest MEAN SCORE: K nets with one
hidden layer of H units answer exactly as one net with a hidden layer of
K * H units (their W1 side by side, their W2 stacked and divided by K).
Only prediction is defined; each member is trained on its own
(:func:`cattern.experiment.train_model`).
"""
import numpy as np

from cattern.checks import check_X


class Ensemble:
    """K trained nets of one kind, input size, class count and dtype; K >= 2.

    ``members`` is the list of nets; ``params`` holds every member's
    parameters under ``net<k>.<name>`` (``net0.W1``, ...), for counting them,
    and ``buffers`` likewise. A member is any model with ``scores(X)``
    (N, C) in test mode.
    """

    def __init__(self, members):
        self.members = list(members)
        if len(self.members) < 2:
            raise ValueError(f"an ensemble needs at least 2 nets; got {len(self.members)}")
        first = self.members[0]
        for k, net in enumerate(self.members[1:], start=1):
            for name in ("input_size", "num_classes", "dtype"):
                if getattr(net, name) != getattr(first, name):
                    raise ValueError(f"net {k} of the ensemble has {name}={getattr(net, name)}, but net 0 "
                                     f"has {getattr(first, name)}; an ensemble's nets must agree on it")
        self.input_size, self.num_classes, self.dtype = first.input_size, first.num_classes, first.dtype

    @property
    def params(self):
        return {f"net{k}.{name}": value for k, net in enumerate(self.members) for name, value in net.params.items()}

    @property
    def buffers(self):
        return {f"net{k}.{name}": value for k, net in enumerate(self.members)
                for name, value in getattr(net, "buffers", {}).items()}

    def scores(self, X):
        """The mean of the members' log-probabilities (N, C), for inputs X (N, D), in test mode."""
        X = check_X(X, self.input_size, self.dtype)  # once, not once per member
        total = np.zeros((X.shape[0], self.num_classes), dtype=np.float64)
        for net in self.members:
            s = net.scores(X).astype(np.float64)                            # (N, C)
            s -= s.max(axis=1, keepdims=True)
            s -= np.log(np.exp(s).sum(axis=1, keepdims=True))               # log-softmax
            total += s
        return (total / len(self.members)).astype(self.dtype)

    def predict(self, X):
        """Predicted labels (N,) for inputs X (N, D): the class of highest mean log-probability."""
        return np.argmax(self.scores(X), axis=1)
