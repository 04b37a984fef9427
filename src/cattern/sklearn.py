"""cattern's networks as a scikit-learn classifier.

:class:`CatternClassifier` wraps :class:`cattern.models.TwoLayerNet` and
:class:`cattern.trainer.Trainer` behind ``fit`` / ``predict`` /
``predict_proba`` / ``score``, so that ``GridSearchCV``, ``Pipeline`` and
``cross_val_score`` use it as they use ``MLPClassifier``. Its hyperparameters
carry the names of the project's own training options (``hidden_size``,
``learning_rate``, ``reg``, ``num_iters``, ...), so a search grid written for
cattern's tuning reads the same here.

:func:`fixed_validation_split` turns the seed's fixed train/validation split
into the ``(X, y, cv)`` that ``GridSearchCV`` expects.
"""
import numbers

import numpy as np

try:
    from scipy.special import softmax
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.model_selection import PredefinedSplit
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as err:  # validate_data arrived in scikit-learn 1.6
    raise ImportError(
        f"cattern.sklearn needs scikit-learn >= 1.6 ({err}); "
        "install it with: pip install 'cattern[sklearn]'"
    ) from err

from cattern.callbacks import PrintLoss
from cattern.models import TwoLayerNet
from cattern.trainer import TrainConfig, Trainer


class CatternClassifier(ClassifierMixin, BaseEstimator):
    """A cattern network (affine - ReLU - affine - softmax) as a scikit-learn classifier.

    With N examples of D features, H = ``hidden_size`` hidden units and C
    classes, ``fit`` trains ``TwoLayerNet(D, H, C)`` by minibatch SGD with
    momentum through :class:`cattern.trainer.Trainer`, on the mean softmax
    cross-entropy plus ``0.5 * reg * sum(W**2)``. Labels may be anything
    ``np.unique`` sorts (ints, strings, ...): they are stored in ``classes_``
    and the net sees their indices 0..C-1.

    ``fit`` trains on the data it is given and nothing else: no validation
    set is held out, and the final parameters are kept. To choose
    hyperparameters on the seed's fixed validation set, use ``GridSearchCV``
    with :func:`fixed_validation_split`.

    Scale the inputs first (``StandardScaler`` in a ``Pipeline``, or
    subtracting the mean image as the seed does): on raw features in the
    hundreds the ReLUs die and training stalls.

    Parameters
    ----------
    hidden_size : int, default=100
        H, the width of the hidden layer.
    std : float, default=1e-2
        Standard deviation of the initial weights (biases start at zero).
    learning_rate : float, default=0.1
        The starting rate of SGD with momentum.
    learning_rate_decay : float, default=0.95
        Factor applied to the rate after each epoch (one pass over the data).
    momentum : float, default=0.9
        Velocity decay of SGD with momentum.
    reg : float, default=5e-6
        L2 strength.
    num_iters : int, default=1000
        Number of parameter updates (not epochs).
    batch_size : int, default=200
        Examples per update; capped at N.
    update_rule : str, default="sgd_momentum"
        A name in :data:`cattern.optim.RULES`.
    dtype : {"float64", "float32"}, default="float64"
        The net's float type: float64 is exact, float32 is fast.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the batch order. An int ``s`` is passed
        as is to both (``TwoLayerNet(seed=s)``, ``TrainConfig(seed=s)``), so
        the same int gives the same predictions; None draws from NumPy's
        global random state, as the seed's ``np.random.seed(0)`` expects.
    verbose : bool, default=False
        Print the loss every 100 iterations.

    The defaults differ from the seed's ``TwoLayerNet.train`` (learning rate
    1e-3, initial weights 1e-4, 100 iterations) because those values do not
    train on small or standardized data: measured with 1000 iterations, they
    leave a 3-class blob problem at 68 % training accuracy (scikit-learn's
    ``check_classifiers_train`` asks for 83 %) and MNIST at 11 %
    validation accuracy, where learning_rate=0.1, std=1e-2 reach 93 % and
    97.3 %.

    Attributes
    ----------
    classes_ : ndarray of shape (C,)
        The sorted class labels.
    n_features_in_ : int
        D, the number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (D,)
        Column names, when ``fit`` was given a DataFrame with string names.
    net_ : TwoLayerNet
        The trained network; ``net_.params`` holds W1 (D, H), b1 (H,),
        W2 (H, C), b2 (C,).
    history_ : dict
        The trainer's history: ``loss_history`` (one float per update) and
        ``train_acc_history`` (one per epoch, on at most 1000 training rows);
        ``val_acc_history`` stays empty since ``fit`` has no validation set.
    loss_curve_ : list of float
        ``history_["loss_history"]``, the loss at each update.
    n_iter_ : int
        Number of updates made.

    scikit-learn's ``check_estimator`` (1.9) passes all 55 of its checks with
    the default hyperparameters, so no check is listed as an expected failure;
    ``tests/test_sklearn.py`` runs them. Two of them skip themselves unless
    pandas is installed and ``SCIPY_ARRAY_API=1`` is set; with both, they pass
    too. ``fit`` takes no ``sample_weight``, so the sample-weight checks do
    not apply, and sparse input is refused with scikit-learn's own message.
    """

    def __init__(self, hidden_size=100, std=1e-2, learning_rate=0.1, learning_rate_decay=0.95,
                 momentum=0.9, reg=5e-6, num_iters=1000, batch_size=200,
                 update_rule="sgd_momentum", dtype="float64", random_state=None, verbose=False):
        # scikit-learn's contract: __init__ stores the arguments untouched, so
        # that clone() and set_params() work; fit() validates them.
        self.hidden_size = hidden_size
        self.std = std
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.momentum = momentum
        self.reg = reg
        self.num_iters = num_iters
        self.batch_size = batch_size
        self.update_rule = update_rule
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y):
        """Train a new network on X (N, D) and labels y (N,); returns self."""
        init_seed, train_seed = self._seeds()
        # The training options are checked (by TrainConfig) before any data is
        # touched; hidden_size and std when the net is built.
        config = TrainConfig(
            num_iters=self.num_iters, batch_size=self.batch_size,
            learning_rate=self.learning_rate, learning_rate_decay=self.learning_rate_decay,
            update_rule=self.update_rule, momentum=self.momentum, reg=self.reg,
            seed=train_seed,
        )
        dtype = _float_dtype(self.dtype)
        X, y = validate_data(self, X, y, dtype=dtype)  # sets n_features_in_
        check_classification_targets(y)  # a float target like 0.37 is regression, not labels
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class ({self.classes_[0]!r}); a classifier needs "
                f"examples of at least 2 classes"
            )
        net = self._build_net(X.shape[1], len(self.classes_), init_seed, dtype)
        callbacks = [PrintLoss()] if self.verbose else []
        # No X_val: the trainer then keeps the final parameters, measured on nothing held out.
        self.history_ = Trainer(net, config, callbacks=callbacks).fit(X, y_index)
        self.net_ = net
        self.loss_curve_ = self.history_["loss_history"]
        self.n_iter_ = len(self.loss_curve_)
        return self

    def _build_net(self, n_features, n_classes, seed, dtype):
        """The untrained network for D = n_features inputs and C = n_classes outputs."""
        return TwoLayerNet(n_features, self.hidden_size, n_classes, std=self.std,
                           seed=seed, dtype=dtype)

    def _seeds(self):
        """(init seed, trainer seed) from ``random_state``, as its docstring says."""
        rs = self.random_state
        if rs is None:
            return None, None  # both draw from NumPy's global state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs), int(rs)
        rs = check_random_state(rs)  # a RandomState; raises, naming the value, on anything else
        init_seed, train_seed = rs.randint(0, 2**31 - 1, size=2)
        return int(init_seed), int(train_seed)

    def predict_proba(self, X):
        """Class probabilities (N, C), columns in the order of ``classes_``.

        The softmax of the net's scores, computed with the row maximum
        subtracted so that large scores cannot overflow.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=self.net_.dtype, reset=False)
        return softmax(self.net_.scores(X), axis=1)  # (N, C)

    def predict(self, X):
        """Predicted labels (N,), taken from ``classes_``."""
        # The argmax of the probabilities rather than of the scores, so the two
        # methods agree even where rounding makes two probabilities tie.
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ exists
        return self.classes_[np.argmax(proba, axis=1)]


def _float_dtype(name):
    """np.float32 or np.float64 from a name, or ValueError listing the choices."""
    try:
        dtype = np.dtype(name)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {name!r}")
    return dtype.type


def fixed_validation_split(X_train, y_train, X_val, y_val):
    """A fixed train/validation split in the form ``GridSearchCV(cv=...)`` takes.

    Returns ``(X, y, cv)``: X and y are the training rows followed by the
    validation rows, and ``cv`` is a ``PredefinedSplit`` with one split that
    trains on the first ``len(X_train)`` rows and scores on the rest, so a
    search is judged on the same validation set as the seed's loop::

        X, y, cv = fixed_validation_split(X_train, y_train, X_val, y_val)
        search = GridSearchCV(CatternClassifier(), grid, cv=cv).fit(X, y)

    With ``refit=True`` (GridSearchCV's default) the best estimator is then
    retrained on train + validation; pass ``refit=False`` to keep only the
    scores.

    Inputs: X_train (N, D), y_train (N,), X_val (N_val, D), y_val (N_val,).
    Outputs: X (N + N_val, D), y (N + N_val,), cv.
    """
    X_train, X_val = np.asarray(X_train), np.asarray(X_val)
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    for name, X_part, y_part in (("train", X_train, y_train), ("val", X_val, y_val)):
        if X_part.ndim != 2 or y_part.ndim != 1 or len(X_part) != len(y_part) or len(y_part) == 0:
            raise ValueError(
                f"X_{name} must be (N, D) and y_{name} (N,) with N >= 1; got shapes "
                f"{X_part.shape} and {y_part.shape}"
            )
    if X_train.shape[1] != X_val.shape[1]:
        raise ValueError(
            f"X_train has {X_train.shape[1]} features but X_val has {X_val.shape[1]}; "
            f"they must match"
        )
    # PredefinedSplit's convention: -1 never goes to a test fold, 0 is test fold 0.
    test_fold = np.concatenate([np.full(len(X_train), -1), np.zeros(len(X_val), dtype=int)])
    X = np.concatenate([X_train, X_val])
    y = np.concatenate([y_train, y_val])
    return X, y, PredefinedSplit(test_fold)
