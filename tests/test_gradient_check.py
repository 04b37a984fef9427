import numpy as np

from cattern.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)


def test_numerical_gradient_of_a_quadratic_and_x_is_restored():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    grad = eval_numerical_gradient(lambda v: np.sum(v ** 2), x, verbose=False)
    np.testing.assert_allclose(grad, 2 * before, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_array_contracts_with_df():
    x = np.array([1.0, 2.0, 3.0])
    df = np.array([1.0, 10.0, 100.0])
    grad = eval_numerical_gradient_array(lambda v: 3 * v, x, df)
    np.testing.assert_allclose(grad, 3 * df, rtol=1e-8)


def test_verbose_prints_each_entry(capsys):
    eval_numerical_gradient(lambda v: float(v.sum()), np.zeros(2))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["(0,)", "(1,)"]
    assert [float(line.split()[1]) for line in lines] == [1.0, 1.0]


def test_grad_check_sparse_finds_a_wrong_gradient():
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    f = lambda v: np.sum(v ** 3)  # noqa: E731
    assert max(grad_check_sparse(f, x, 3 * x ** 2, num_checks=5, seed=0, verbose=False)) < 1e-7
    assert min(grad_check_sparse(f, x, 3 * x ** 2 + 0.5, num_checks=5, seed=0, verbose=False)) > 1e-3


def test_rel_error_is_finite_at_zero():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(0.0, 1e-12) < 1e-3
