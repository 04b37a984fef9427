"""Numerical gradients by centered differences, to check analytic backward passes.

The centered difference ``(f(x + h) - f(x - h)) / 2h`` has error O(h**2), so in
float64 with h = 1e-5 it agrees with a correct analytic gradient to about
1e-8 relative error, away from kinks such as ReLU's at zero.

:func:`check_gradients`, re-exported from :mod:`cattern.diagnosis`, checks a
whole model and says what is wrong: per term of the loss and per parameter
array, a verdict, and the shape of the bug.
"""
import numpy as np

from cattern.diagnosis import ArrayCheck, GradCheckReport, check_gradients  # noqa: F401 (re-exported)


def rel_error(x, y):
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``.

    The floor of 1e-8 keeps it finite where both values are zero.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def norm_rel_error(x, y):
    """Relative error of a gradient as a whole: ``||x - y|| / max(1e-8, ||x|| + ||y||)``.

    Use it rather than :func:`rel_error` on random inputs. An entry that is 1e-5
    only because larger terms cancel cannot be resolved by a centered difference
    better than its own error, about 1e-10 (round-off, 1e-16 * loss / h, plus
    the h**2 term), so its *elementwise* relative error can reach 1e-6 for a
    correct gradient. Over the whole array a correct gradient stays near 1e-10,
    and a wrong one still gives an error near 1e-1.

    The floor of 1e-8 is for a gradient that is exactly zero (b2's, when the
    batch's softmax errors cancel): the analytic one then comes out as round-off,
    about 1e-17, and the numerical one as 0, which must pass; with the floor, any
    difference above 1e-15 still fails.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.linalg.norm(x - y) / max(1e-8, np.linalg.norm(x) + np.linalg.norm(y)))


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numerical gradient of a scalar function at x.

    Inputs:
    - f: a function called as ``f(x)``, returning a scalar; it may ignore its
      argument and read x itself, as the seed's ``f = lambda W: net.loss(X, y)[0]``
      does (x is then one of ``net.params``, perturbed in place)
    - x: the array to differentiate with respect to, any shape; it is perturbed
      in place one entry at a time and restored exactly afterwards
    - verbose: print each entry's index and gradient
    - h: the step

    Returns grad, an array of x's shape.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)  # f(x + h)
        x[ix] = old - h
        fxmh = f(x)  # f(x - h)
        x[ix] = old  # restore
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of an array-valued function, contracted with ``df``.

    For ``out = f(x)`` and an upstream gradient ``df`` of out's shape, returns
    d(sum(out * df))/dx, the quantity a layer's backward pass computes.

    Inputs:
    - f: function of x returning an array
    - x: array of any shape, perturbed in place and restored
    - df: upstream gradient, shape of f(x)
    - h: the step

    Returns grad, an array of x's shape.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), copy=True)
        x[ix] = old - h
        neg = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None, verbose=True):
    """Compare the analytic gradient with the numerical one at a few random entries.

    Inputs:
    - f: function of x returning a scalar
    - x: array of any shape, perturbed in place and restored
    - analytic_grad: the gradient to check, x's shape
    - num_checks: how many random entries
    - h: the step
    - seed: int or Generator choosing the entries
    - verbose: print each comparison

    Returns the list of relative errors, one per check.
    """
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(m)) for m in x.shape)
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        err = rel_error(grad_numerical, grad_analytic)
        errors.append(err)
        if verbose:
            print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, "
                  f"relative error: {err:e}")
    return errors
