"""Learning-rate schedules: each formula at hand-worked steps, and warmup."""
import math

import pytest

from cattern import schedules
from cattern.schedules import Constant, Cosine, Exponential, ExponentialPerEpoch, Step, Warmup, build_schedule

IPE = 10  # iterations per epoch


def test_step_decays_by_gamma_every_step_epochs():
    s = Step(1.0, step_epochs=2, gamma=0.5)
    # epochs 0-1: 1.0 ; epochs 2-3: 0.5 ; epoch 4: 0.25
    assert [s(it, IPE) for it in (0, 19, 20, 39, 40)] == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_exponential_is_smooth_and_agrees_with_the_staircase_at_epoch_starts():
    s, stairs = Exponential(1.0, 0.5), ExponentialPerEpoch(1.0, 0.5)
    assert s(5, IPE) == pytest.approx(0.5 ** 0.5)   # half an epoch: one square root of the decay
    assert stairs(5, IPE) == 1.0
    assert s(20, IPE) == pytest.approx(stairs(20, IPE)) == pytest.approx(0.25)


def test_cosine_endpoints_middle_and_after_the_end():
    s = Cosine(1.0, total_iters=100, min_learning_rate=0.1)
    assert s(0, IPE) == pytest.approx(1.0)
    assert s(50, IPE) == pytest.approx(0.55)        # 0.1 + 0.5 * 0.9 * (1 + cos(pi/2))
    assert s(25, IPE) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi / 4)))
    assert s(100, IPE) == pytest.approx(0.1)
    assert s(150, IPE) == pytest.approx(0.1)


def test_warmup_climbs_linearly_then_follows_the_schedule():
    s = Warmup(Constant(2.0), warmup_epochs=0.5)   # W = 5 steps
    # (it + 1) / 5 * 2 for it < 4; from it = 4 on, the wrapped rate.
    assert [s(it, IPE) for it in range(6)] == pytest.approx([0.4, 0.8, 1.2, 1.6, 2.0, 2.0])
    inner = Step(1.0, 1, 0.1)
    assert Warmup(inner, 0.5)(25, IPE) == inner(25, IPE)


def test_schedules_are_pure():
    s = Warmup(Cosine(0.3, 1000), 1.0)
    assert [s(it, IPE) for it in (7, 500, 7)] == [s(7, IPE), s(500, IPE), s(7, IPE)]


def test_build_schedule_by_name():
    assert build_schedule("cosine", 0.1, num_iters=50) == Cosine(0.1, 50, 0.0)
    assert build_schedule("step", 0.1, num_iters=50, step_epochs=3, gamma=0.2) == Step(0.1, 3, 0.2)
    assert build_schedule("exponential_per_epoch", 0.1, num_iters=50, decay=0.9) == ExponentialPerEpoch(0.1, 0.9)
    warm = build_schedule("constant", 0.1, num_iters=50, warmup_epochs=2)
    assert warm == Warmup(Constant(0.1), 2)
    for name in schedules.SCHEDULES:
        assert build_schedule(name, 0.1, num_iters=50)(0, IPE) > 0


def test_build_schedule_refuses_unknown_names_and_negative_warmup():
    with pytest.raises(ValueError, match=r"unknown learning-rate schedule 'linear'; choose one of \["):
        build_schedule("linear", 0.1, num_iters=10)
    with pytest.raises(ValueError, match="warmup_epochs must be >= 0; got -1"):
        build_schedule("constant", 0.1, num_iters=10, warmup_epochs=-1)
