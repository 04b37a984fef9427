"""cattern's networks as a scikit-learn classifier.

:class:`CatternClassifier` puts any net cattern trains (the two-layer net
and the fully-connected nets of any depth) behind scikit-learn's ``fit`` /
``predict`` / ``predict_proba`` / ``score``, so that ``GridSearchCV``,
``Pipeline`` and ``cross_val_score`` use it as they use ``MLPClassifier``.
Its hyperparameters are the fields of
:class:`cattern.experiment.ExperimentConfig`, under the same names
(``hidden_size``, ``learning_rate``, ``reg``, ``num_iters``, ...), and ``fit``
builds and trains through that config, as ``cattern train`` does; a search
grid written for cattern's tuning reads the same here.

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
from cattern.experiment import ExperimentConfig, build_trainer

# ExperimentConfig fields that are not hyperparameters of the estimator, and why:
# the seed is random_state; fit has no validation set to stop early on, to
# choose the best epoch by or to train on too, nor a test set; augmentation and
# deskewing move images, and X is any features; Ctrl-C stops a fit as it stops
# any scikit-learn estimator; an ensemble of estimators is scikit-learn's own
# VotingClassifier (whose n_jobs trains them at once).
NOT_PARAMETERS = ("seed", "final_test", "patience", "restore_best", "catch_interrupt", "augment_shift",
                  "augment_rotation", "augment_scale", "augment_scale_each_axis", "elastic_alpha", "elastic_sigma",
                  "augment_thickness", "clean_epochs", "deskew", "ensemble", "ensemble_jobs", "train_on_validation")
# The estimator's own defaults, where ExperimentConfig's (the seed's) do not train
# on small or standardized data (see the class docstring).
DEFAULTS = {"hidden_size": 100, "std": 1e-2, "learning_rate": 0.1, "num_iters": 1000, "momentum": 0.9,
            "pixel_scale": 1.0, "sampling": "epochs", "lr_schedule": "exponential_per_epoch"}


class CatternClassifier(ClassifierMixin, BaseEstimator):
    """A cattern network as a scikit-learn classifier.

    With N examples of D features and C classes, ``fit`` builds the net the
    hyperparameters describe (``model="two_layer"``: affine - ReLU - affine,
    H = ``hidden_size``; ``model="fc"``: ``hidden_dims`` wide, with dropout
    and normalization if asked) through
    :class:`cattern.experiment.ExperimentConfig`, and trains it by minibatch
    SGD with momentum (or any ``update_rule``) through
    :class:`cattern.trainer.Trainer`, on the mean softmax cross-entropy plus
    ``0.5 * reg * sum(W**2)``. Labels may be anything ``np.unique`` sorts
    (ints, strings, ...): they are stored in ``classes_`` and the net sees
    their indices 0..C-1.

    ``fit`` trains on the data it is given and nothing else: no validation
    set is held out, and the final parameters are kept. To choose
    hyperparameters on the seed's fixed validation set, use ``GridSearchCV``
    with :func:`fixed_validation_split`.

    Scale the inputs first (``StandardScaler`` in a ``Pipeline``, or
    subtracting the mean image as the seed does): on raw features in the
    hundreds the ReLUs die and training stalls.

    Parameters
    ----------
    Every field of :class:`~cattern.experiment.ExperimentConfig` but those in
    :data:`NOT_PARAMETERS`, with its meaning there (``cattern train --help``
    lists them), and these defaults where they differ (:data:`DEFAULTS`):

    hidden_size : int, default=100
    std : float or None, default=1e-2
        Standard deviation of the initial weights; None: the seed's 1e-4 for
        the two-layer net, He initialization for fc nets.
    learning_rate : float, default=0.1
    num_iters : int, default=1000
        Number of parameter updates (not epochs).
    momentum : float, default=0.9
        SGD with momentum, where the seed's runs were plain SGD (momentum 0).
    sampling : {"epochs", "with_replacement"}, default="epochs"
        Each epoch a permutation of the rows (the seed drew batches with
        replacement).
    lr_schedule : str, default="exponential_per_epoch"
        The rate times ``learning_rate_decay`` after each epoch.
    pixel_scale : float, default=1.0
        X is multiplied by it before the net sees it, in ``fit`` and
        ``predict`` alike: 1 uses X as given; 255 turns pixels in [0, 1] into
        the 0..255 the seed's notebook trained on.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the batch order: an int is the run's
        seed (``ExperimentConfig(seed=...)``), so the same int gives the same
        predictions; None draws the seed from NumPy's global random state,
        as the seed's ``np.random.seed(0)`` expects.
    verbose : bool, default=False
        Print the loss every 100 iterations.

    The defaults differ from the seed's ``TwoLayerNet.train`` (learning rate
    1e-3, initial weights 1e-4) because those values do not train on small
    or standardized data: measured with 1000 iterations, they leave a
    3-class blob problem at 68 % training accuracy (scikit-learn's
    ``check_classifiers_train`` asks for 83 %) and MNIST at 11 % validation
    accuracy, where learning_rate=0.1, std=1e-2 reach 93 % and 97.3 %.

    Attributes
    ----------
    classes_ : ndarray of shape (C,)
        The sorted class labels.
    n_features_in_ : int
        D, the number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (D,)
        Column names, when ``fit`` was given a DataFrame with string names.
    config_ : ExperimentConfig
        The config the net was built and trained with (its seed included).
    net_ : TwoLayerNet or FullyConnectedNet
        The trained network; ``net_.params`` holds W1 (D, H), b1 (H,), ...
    history_ : dict
        The trainer's history: ``loss_history`` (one float per update) and
        ``train_acc_history`` (one per epoch, on at most 1000 training rows);
        ``val_acc_history`` stays empty since ``fit`` has no validation set.
    loss_curve_ : list of float
        ``history_["loss_history"]``, the loss at each update.
    n_iter_ : int
        Number of updates made.

    scikit-learn's ``check_estimator`` (1.9) passes all of its checks with
    the default hyperparameters, so no check is listed as an expected failure;
    ``tests/test_sklearn.py`` runs them. Two of them skip themselves unless
    pandas is installed and ``SCIPY_ARRAY_API=1`` is set; with both, they pass
    too. ``fit`` takes no ``sample_weight``, so the sample-weight checks do
    not apply, and sparse input is refused with scikit-learn's own message.
    """

    def __init__(self, model="two_layer", hidden_size=100, std=1e-2, dtype="float64", pixel_scale=1.0,
                 learning_rate=0.1, learning_rate_decay=0.95, momentum=0.9, reg=5e-6, num_iters=1000,
                 batch_size=200, sampling="epochs", update_rule="sgd_momentum", hidden_dims="", dropout=0.0,
                 input_dropout=0.0, normalization="none", max_norm=0.0, label_smoothing=0.0,
                 lr_schedule="exponential_per_epoch", warmup_epochs=0.0, step_epochs=10.0, step_gamma=0.1,
                 min_learning_rate=0.0, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                 ema_decay=0.0, random_state=None, verbose=False):
        # scikit-learn's contract: __init__ stores the arguments untouched, so
        # that clone() and set_params() work; fit() validates them.
        self.model = model
        self.hidden_size = hidden_size
        self.std = std
        self.dtype = dtype
        self.pixel_scale = pixel_scale
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.momentum = momentum
        self.reg = reg
        self.num_iters = num_iters
        self.batch_size = batch_size
        self.sampling = sampling
        self.update_rule = update_rule
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.normalization = normalization
        self.max_norm = max_norm
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.step_epochs = step_epochs
        self.step_gamma = step_gamma
        self.min_learning_rate = min_learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y):
        """Train a new network on X (N, D) and labels y (N,); returns self."""
        # Every hyperparameter is checked (by ExperimentConfig) before any data is touched.
        options = {name: getattr(self, name) for name in ExperimentConfig.__dataclass_fields__
                   if name not in NOT_PARAMETERS}
        config = ExperimentConfig(**options, seed=self._seed())
        X, y = validate_data(self, X, y, dtype=np.dtype(config.dtype).type)  # sets n_features_in_
        _check_one_label_type(y)  # before anything sorts the labels
        check_classification_targets(y)  # a float target like 0.37 is regression, not labels
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class ({self.classes_[0]!r}); a classifier needs "
                f"examples of at least 2 classes"
            )
        callbacks = [PrintLoss()] if self.verbose else []
        inputs = self._inputs(X)
        trainer = build_trainer(config, inputs, y_index, y_index, callbacks=callbacks)
        # No X_val: the trainer then keeps the final parameters, measured on nothing held out.
        self.history_ = trainer.fit(inputs, y_index)
        self.config_, self.net_ = config, trainer.model
        self.loss_curve_ = self.history_["loss_history"]
        self.n_iter_ = len(self.loss_curve_)
        return self

    def _inputs(self, X):
        """What the net sees of X: X times pixel_scale (X itself when it is 1)."""
        return X if self.pixel_scale == 1 else X * X.dtype.type(self.pixel_scale)

    def _seed(self):
        """The run's seed from ``random_state``, as the class docstring says."""
        rs = self.random_state
        if rs is None:
            return int(np.random.randint(0, 2**31 - 1))  # NumPy's global state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        rs = check_random_state(rs)  # a RandomState; raises, naming the value, on anything else
        return int(rs.randint(0, 2**31 - 1))

    def predict_proba(self, X):
        """Class probabilities (N, C), columns in the order of ``classes_``.

        The softmax of the net's scores, computed with the row maximum
        subtracted so that large scores cannot overflow.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=self.net_.dtype.type, reset=False)
        return softmax(self.net_.scores(self._inputs(X)), axis=1)  # (N, C)

    def predict(self, X):
        """Predicted labels (N,), taken from ``classes_``."""
        # The argmax of the probabilities rather than of the scores, so the two
        # methods agree even where rounding makes two probabilities tie.
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ exists
        return self.classes_[np.argmax(proba, axis=1)]


def _check_one_label_type(y):
    """Refuse labels of mixed types (1 and "a" cannot be sorted), naming the types."""
    def kind(label):
        return "str" if isinstance(label, str) else "number" if isinstance(label, numbers.Number) \
            else type(label).__name__

    kinds = sorted({kind(label) for label in y}) if y.dtype == object else []
    if len(kinds) > 1:
        raise ValueError(f"y mixes labels of types {kinds}; give labels of one type "
                         "(all strings, or all numbers)")


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
