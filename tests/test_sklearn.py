"""CatternClassifier: scikit-learn's own estimator checks, and the tools that use it."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from cattern.errors import DivergedError  # noqa: E402
from cattern.models import TwoLayerNet  # noqa: E402
from cattern.sklearn import CatternClassifier, fixed_validation_split  # noqa: E402
from cattern.trainer import TrainConfig, Trainer  # noqa: E402

# Few updates keep each fit to a few hundredths of a second; the blobs are easy.
FAST = dict(num_iters=150, random_state=0)


def blobs(n=300, seed=0, scale=1.0, offset=0.0):
    """Three well-separated Gaussian blobs in 4 dimensions: X (n, 4), y (n,) in {0, 1, 2}."""
    X, y = make_blobs(n_samples=n, centers=3, n_features=4, cluster_std=1.5, random_state=seed)
    return X * scale + offset, y


# ----------------------------------------------------------------------
# scikit-learn's estimator checks, with the default hyperparameters
# ----------------------------------------------------------------------

@parametrize_with_checks([CatternClassifier()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ----------------------------------------------------------------------
# The same nets as cattern's own training
# ----------------------------------------------------------------------

def test_fit_trains_the_same_net_as_the_trainer():
    # An independent route to the same numbers: TwoLayerNet + Trainer with the
    # seed passed as random_state, on the labels' indices.
    X, y = blobs()
    labels = np.array([10, 20, 30])[y]
    clf = CatternClassifier(hidden_size=16, num_iters=50, random_state=7).fit(X, labels)

    net = TwoLayerNet(4, 16, 3, std=clf.std, seed=7)
    config = TrainConfig(num_iters=50, learning_rate=clf.learning_rate, momentum=clf.momentum,
                         reg=clf.reg, learning_rate_decay=clf.learning_rate_decay, seed=7)
    history = Trainer(net, config).fit(X, y)
    for key in ("W1", "b1", "W2", "b2"):
        assert_array_equal(clf.net_.params[key], net.params[key])
    assert clf.loss_curve_ == history["loss_history"]


def test_an_fc_net_fits_through_the_same_config_as_cattern_train():
    from cattern.experiment import ExperimentConfig, train_model
    from cattern.models import FullyConnectedNet

    X, y = blobs()
    options = dict(model="fc", hidden_dims="12,8", normalization="batchnorm", dropout=0.1, dtype="float32",
                   num_iters=60, ema_decay=0.9)
    clf = CatternClassifier(**options, random_state=3).fit(X, y)
    assert isinstance(clf.net_, FullyConnectedNet) and clf.net_.hidden_dims == [12, 8]
    assert clf.score(X, y) > 0.9
    params = {k: v for k, v in clf.get_params().items() if k not in ("random_state", "verbose")}
    assert clf.config_ == ExperimentConfig(**params, seed=3)
    # cattern's own path, given the estimator's config, trains the same net.
    model, _ = train_model(clf.config_, X.astype(np.float32), y, X.astype(np.float32), y)
    for key, value in model.params.items():
        assert_array_equal(clf.net_.params[key], value)


def test_the_hyperparameters_are_the_config_fields():
    from cattern.experiment import ExperimentConfig
    from cattern.sklearn import DEFAULTS, NOT_PARAMETERS

    params = CatternClassifier().get_params()
    fields = ExperimentConfig.__dataclass_fields__
    assert set(params) == (set(fields) - set(NOT_PARAMETERS)) | {"random_state", "verbose"}
    for name in set(params) - {"random_state", "verbose"}:
        assert params[name] == DEFAULTS.get(name, fields[name].default), name


def test_fit_uses_no_validation_data_and_records_history():
    X, y = blobs()
    clf = CatternClassifier(**FAST).fit(X, y)
    assert clf.history_["val_acc_history"] == []
    assert clf.n_iter_ == len(clf.loss_curve_) == 150
    assert clf.n_features_in_ == 4
    # 300 rows in batches of 200 make 2 updates an epoch: 75 epochs.
    assert len(clf.history_["train_acc_history"]) == 75
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]


def test_float32_net():
    X, y = blobs()
    clf = CatternClassifier(dtype="float32", **FAST).fit(X, y)
    assert clf.net_.params["W1"].dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    assert clf.score(X, y) > 0.9


# ----------------------------------------------------------------------
# Seeds
# ----------------------------------------------------------------------

def test_same_random_state_gives_same_predictions():
    X, y = blobs()
    first = CatternClassifier(**FAST).fit(X, y).predict_proba(X)
    again = CatternClassifier(**FAST).fit(X, y).predict_proba(X)
    other = CatternClassifier(num_iters=150, random_state=1).fit(X, y).predict_proba(X)
    assert_array_equal(first, again)
    assert not np.allclose(first, other)  # the seed does reach the weights and batches


def test_random_state_instance_and_global_state_repeat():
    X, y = blobs()

    def proba(random_state):
        return CatternClassifier(num_iters=30, random_state=random_state).fit(X, y).predict_proba(X)

    assert_array_equal(proba(np.random.RandomState(3)), proba(np.random.RandomState(3)))
    np.random.seed(5)  # None follows NumPy's global state, as the seed's notebook expects
    first = proba(None)
    np.random.seed(5)
    assert_array_equal(first, proba(None))


# ----------------------------------------------------------------------
# Labels and probabilities
# ----------------------------------------------------------------------

def test_string_labels_round_trip():
    X, y = blobs()
    names = np.array(["dog", "cat", "fish"])[y]
    clf = CatternClassifier(**FAST).fit(X, names)
    assert_array_equal(clf.classes_, ["cat", "dog", "fish"])  # sorted
    pred = clf.predict(X)
    assert pred.dtype == names.dtype
    assert set(pred) <= {"cat", "dog", "fish"}
    assert clf.score(X, names) > 0.9
    # Column j of predict_proba is the probability of classes_[j].
    assert_array_equal(clf.classes_[clf.predict_proba(X).argmax(axis=1)], pred)


def test_predict_proba_rows_are_distributions():
    X, y = blobs()
    clf = CatternClassifier(**FAST).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_predict_proba_is_stable_for_huge_scores():
    X, y = blobs()
    clf = CatternClassifier(**FAST).fit(X, y)
    clf.net_.params["W2"] *= 1e6  # scores near 1e7: a naive exp() would overflow to inf/inf
    with np.errstate(over="raise", invalid="raise"):
        proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(proba.argmax(axis=1), clf.net_.predict(X))


# ----------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------

def test_one_class_is_refused():
    X, _ = blobs(n=20)
    with pytest.raises(ValueError, match="only one class"):
        CatternClassifier(**FAST).fit(X, np.full(20, "a"))


@pytest.mark.parametrize("params, match", [
    (dict(dtype="float16"), r"dtype must be one of \['float32', 'float64'\]; got 'float16'"),
    (dict(dtype="banana"), "dtype must be"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(num_iters=2.5), "num_iters"),
    (dict(hidden_size=0), "hidden_size"),
    (dict(update_rule="sgd_typo"), "sgd_typo"),
    (dict(random_state="seven"), "seven"),
    (dict(dropout=0.5), "dropout=0.5: these options belong to the fc model"),
    (dict(model="fc", dropout=1.5), r"dropout must be in \[0, 1\)"),
    (dict(ema_decay=1.0), r"ema_decay must be in \[0, 1\)"),
])
def test_bad_hyperparameters_raise_at_fit(params, match):
    X, y = blobs(n=20)
    clf = CatternClassifier(**params)  # __init__ accepts anything, as scikit-learn requires
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_mixed_label_types_are_a_clear_error():
    X, _ = blobs(n=20)
    y = np.array(["a", 1] * 10, dtype=object)
    with pytest.raises(ValueError, match=r"mixes labels of types \['number', 'str'\]"):
        CatternClassifier(**FAST).fit(X, y)


def test_divergence_raises():
    X, y = blobs(scale=100.0)
    with pytest.raises(DivergedError, match="smaller learning rate"):
        CatternClassifier(learning_rate=1e4, std=1.0, num_iters=50, random_state=0).fit(X, y)


def test_predict_checks_the_number_of_features():
    X, y = blobs()
    clf = CatternClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but CatternClassifier is expecting 4"):
        clf.predict(X[:, :3])


# ----------------------------------------------------------------------
# scikit-learn's tools
# ----------------------------------------------------------------------

def test_fixed_validation_split_is_one_split_train_then_val():
    X_all, y_all = blobs(n=42)
    X_train, y_train, X_val, y_val = X_all[:30], y_all[:30], X_all[30:], y_all[30:]
    X, y, cv = fixed_validation_split(X_train, y_train, X_val, y_val)
    assert X.shape == (42, 4) and y.shape == (42,)
    splits = list(cv.split(X, y))
    assert len(splits) == 1 and cv.get_n_splits() == 1
    train_idx, test_idx = splits[0]
    assert_array_equal(train_idx, np.arange(30))
    assert_array_equal(test_idx, np.arange(30, 42))
    assert_array_equal(X[test_idx], X_val)


def test_fixed_validation_split_refuses_mismatched_parts():
    X_train, y_train = blobs(n=30)
    with pytest.raises(ValueError, match="X_train has 4 features but X_val has 3"):
        fixed_validation_split(X_train, y_train, X_train[:5, :3], y_train[:5])
    with pytest.raises(ValueError, match="X_val must be"):
        fixed_validation_split(X_train, y_train, X_train[:5], y_train[:4])


def test_grid_search_on_the_fixed_validation_set():
    X_all, y_all = blobs(n=360)
    X_train, y_train, X_val, y_val = X_all[:240], y_all[:240], X_all[240:], y_all[240:]
    X, y, cv = fixed_validation_split(X_train, y_train, X_val, y_val)
    # 1e-5 barely moves weights that start at 1e-2: the search must reject it.
    grid = {"hidden_size": [4, 32], "learning_rate": [1e-5, 0.1]}
    search = GridSearchCV(CatternClassifier(**FAST), grid, cv=cv).fit(X, y)

    assert search.best_params_["learning_rate"] == 0.1
    # Each candidate's score is exactly that of a net trained on the training
    # rows alone and scored on the validation rows: the split is the fixed one.
    for params, score in zip(search.cv_results_["params"],
                             search.cv_results_["split0_test_score"]):
        alone = CatternClassifier(**FAST, **params).fit(X_train, y_train)
        assert score == alone.score(X_val, y_val)
    # refit=True retrains the best candidate on train + validation.
    refit = CatternClassifier(**FAST, **search.best_params_).fit(X, y)
    assert_array_equal(search.best_estimator_.predict_proba(X), refit.predict_proba(X))


def test_pipeline_with_standard_scaler():
    # Features in the thousands, far from zero: the scaler brings them to where the net trains.
    X, y = blobs(n=400, scale=300.0, offset=5000.0)
    pipe = make_pipeline(StandardScaler(), CatternClassifier(**FAST))
    pipe.fit(X[:300], y[:300])
    assert pipe.score(X[300:], y[300:]) > 0.9
    pipe.set_params(catternclassifier__hidden_size=8)
    assert clone(pipe).fit(X[:300], y[:300]).named_steps["catternclassifier"].net_.hidden_size == 8


def test_cross_val_score():
    X, y = blobs()
    scores = cross_val_score(CatternClassifier(**FAST), X, y, cv=3)
    assert scores.shape == (3,)
    assert (scores > 0.9).all()
