"""The training loop: the trainer owns the loop, the model owns the loss.

The trainer draws minibatches, asks the model for the loss and gradients,
steps the update rule with the rate the schedule gives, records the history,
and calls the callbacks (progress bars, printing, plots). It knows nothing of
layers; a model only needs:

- ``params``: a dict of arrays, updated in place;
- ``batch_loss(X, y, reg, workspace) -> (loss, grads)`` on data already
  checked, with ``grads`` keyed like ``params`` (see :mod:`cattern.workspace`);
- ``check_data(X, y) -> (X, y)``: validate and convert a whole data set once;
- ``predict(X) -> labels``.
"""
import dataclasses
import math
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from cattern import optim, schedules
from cattern.checks import check_nonnegative, check_positive_int
from cattern.errors import DivergedError
from cattern.workspace import Workspace, row_blocks


SAMPLINGS = ("epochs", "with_replacement")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run, besides the model and the data.

    - num_iters: number of parameter updates
    - batch_size: examples per update (with "epochs" sampling the last batch
      of an epoch may be smaller when batch_size does not divide N)
    - sampling: how batches are drawn (:data:`SAMPLINGS`):

      - "epochs": each epoch walks a fresh permutation of the N examples in
        ceil(N / B) batches, so every example is seen once an epoch; the
        epoch ends after its last batch;
      - "with_replacement": each batch draws B indices with replacement, as
        the seed's (cs231n's) ``train`` does; an "epoch" is N / B iterations,
        and, as there, it ends after each iteration ``it`` with
        ``it % max(N / B, 1) == 0`` (iteration 0 included), where the
        accuracies are recorded, train accuracy on that batch. With seed
        None the indices come from NumPy's global state
        (``np.random.choice(N, B)``) and nothing else is drawn from it, so
        the seed's notebook, after its own ``np.random.seed``, gets its very
        batches.
    - learning_rate: the starting rate
    - learning_rate_decay: factor applied once per epoch (1.0 keeps it fixed)
    - update_rule: a name in :data:`cattern.optim.RULES`
    - momentum: for the momentum rules
    - reg: L2 strength; the model's loss adds 0.5 * reg * sum(W**2) per weight
    - train_acc_size: train accuracy is measured on a fixed random subset of
      this many training examples, so that logging costs little
    - seed: seeds the batch order and the subset; None draws a seed from
      NumPy's global random state, so ``np.random.seed`` makes runs repeatable
    - lr_schedule: a name in :data:`cattern.schedules.SCHEDULES`; the default,
      "exponential_per_epoch", is the seed's decay by learning_rate_decay
    - warmup_epochs: linear warmup in front of the schedule (0: none)
    - step_epochs, step_gamma: the "step" schedule's period and factor
    - min_learning_rate: where the "cosine" schedule ends, at num_iters
    - beta1, beta2, eps: Adam's and AdamW's moment decays and denominator floor
    - weight_decay: AdamW's decoupled decay, given to weight matrices only
      (parameters named ``W...``), never to biases or normalization scales
    - patience: early stopping: stop after this many epochs without a new best
      validation accuracy (0: never stop early, run all num_iters)
    - restore_best: at the end, put back the parameters (and buffers such as
      batch-norm statistics) of the best validation epoch
    - ema_decay: keep an exponential moving average of the parameters and
      buffers (Polyak averaging), ``avg += (1 - d) * (params - avg)`` after
      every update, with ``d = min(ema_decay, (1 + t) / (10 + t))`` at update
      t (TensorFlow's ExponentialMovingAverage with num_updates: the early
      average does not cling to the initial weights). The averaged net is the
      one measured each epoch, kept by restore_best, and left in the model at
      the end; the loss history is the trained net's. 0: off.
    - augment: None, or a callable ``augment(X_batch, rng) -> X_batch`` applied
      to every training batch (see :mod:`cattern.augment`), drawing from the
      trainer's seeded generator
    - clean_epochs: the last this many epochs of num_iters train on the
      batches as they are, not augmented (0: augment to the end), so that the
      last, small steps fit digits like the ones the net will be shown. A run
      shorter than that is all clean. (Measured on fc-deskew, 20 clean epochs
      cost 3.5 validation images: README, "Ending on digits as they are".)
    - catch_interrupt: Ctrl-C (KeyboardInterrupt) inside :meth:`Trainer.fit`
      ends training cleanly instead of propagating: the history is kept and
      marked ``history["interrupted"] = True``, and with restore_best the best
      parameters so far are put back. Off by default, so that Ctrl-C still
      stops a search that trains many models.
    """

    num_iters: int = 100
    batch_size: int = 200
    sampling: str = "epochs"
    learning_rate: float = 1e-3
    learning_rate_decay: float = 0.95
    update_rule: str = "sgd_momentum"
    momentum: float = 0.9
    reg: float = 0.0
    train_acc_size: int = 1000
    seed: int | None = None
    lr_schedule: str = "exponential_per_epoch"
    warmup_epochs: float = 0.0
    step_epochs: float = 10.0
    step_gamma: float = 0.1
    min_learning_rate: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    patience: int = 0
    restore_best: bool = False
    ema_decay: float = 0.0
    augment: Callable | None = None
    clean_epochs: float = 0.0
    catch_interrupt: bool = False

    def __post_init__(self):
        check_positive_int("num_iters", self.num_iters)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("train_acc_size", self.train_acc_size)
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {list(SAMPLINGS)}; got {self.sampling!r}")
        check_nonnegative("reg", self.reg)
        if not 0 <= check_nonnegative("momentum", self.momentum) < 1:
            # At 1 or above the velocity never decays: each step adds to all the earlier ones.
            raise ValueError(f"momentum must be in [0, 1) (0.9 is usual); got {self.momentum!r}")
        if check_nonnegative("learning_rate", self.learning_rate) == 0:
            raise ValueError("learning_rate must be > 0; got 0")
        if not 0 < check_nonnegative("learning_rate_decay", self.learning_rate_decay) <= 1:
            raise ValueError(
                f"learning_rate_decay must be in (0, 1]; got {self.learning_rate_decay!r}"
            )
        optim.get_rule(self.update_rule)  # raises, listing the valid names
        for name in ("beta1", "beta2"):
            if not 0 <= check_nonnegative(name, getattr(self, name)) < 1:
                raise ValueError(f"{name} must be in [0, 1); got {getattr(self, name)!r}")
        for name in ("eps", "weight_decay", "min_learning_rate", "clean_epochs"):
            check_nonnegative(name, getattr(self, name))
        if self.lr_schedule == "cosine" and self.min_learning_rate > self.learning_rate:
            raise ValueError(f"min_learning_rate must be at most the rate it decays from, "
                             f"learning_rate={self.learning_rate!r} (the cosine schedule); got {self.min_learning_rate!r}")
        # Checked whatever the schedule, as the other fields are: a value that could
        # never work is a mistake, and a negative period would make the rate grow.
        if check_nonnegative("step_epochs", self.step_epochs) == 0:
            raise ValueError("step_epochs must be > 0 (epochs between the step schedule's decays); got 0")
        if not 0 < check_nonnegative("step_gamma", self.step_gamma) <= 1:
            raise ValueError(f"step_gamma must be in (0, 1] (the step schedule's factor); got {self.step_gamma!r}")
        if not 0 <= check_nonnegative("ema_decay", self.ema_decay) < 1:
            raise ValueError(f"ema_decay must be in [0, 1) (0: no averaging; 0.999 averages over about "
                             f"the last 1000 updates); got {self.ema_decay!r}")
        if self.patience != 0:
            try:
                check_positive_int("patience", self.patience)
            except ValueError:
                raise ValueError(f"patience must be an integer >= 0 (0: no early stopping); "
                                 f"got {self.patience!r}") from None
        if self.augment is not None and not callable(self.augment):
            raise ValueError(f"augment must be None or a callable augment(X, rng); got {self.augment!r}")
        self.schedule()  # raises on an unknown schedule name or a negative warmup

    def schedule(self):
        """The learning-rate schedule this config describes."""
        return schedules.build_schedule(
            self.lr_schedule, self.learning_rate, num_iters=self.num_iters, decay=self.learning_rate_decay,
            step_epochs=self.step_epochs, gamma=self.step_gamma, min_learning_rate=self.min_learning_rate,
            warmup_epochs=self.warmup_epochs)

    def rule_config(self, name="W"):
        """A fresh config dict for the update rule of the parameter called ``name``."""
        return {"learning_rate": self.learning_rate, "momentum": self.momentum,
                "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                "weight_decay": self.weight_decay if name.startswith("W") else 0.0}


@contextmanager
def _interruptible(trainer, enabled):
    """Turn a KeyboardInterrupt in the body into a clean stop, if ``enabled``."""
    try:
        yield
    except KeyboardInterrupt:
        if not enabled:
            raise
        trainer.history["interrupted"] = True


class Callback:
    """Hooks into the loop; override the ones you need. The math never prints:
    progress bars, printing and live plots are callbacks."""

    def on_train_begin(self, trainer):
        pass

    def on_iteration_end(self, trainer, iteration, loss):
        pass

    def on_epoch_end(self, trainer, epoch):
        pass

    def on_train_end(self, trainer):
        pass


class Trainer:
    """Minibatch training of ``model`` as ``config`` says.

    After :meth:`fit`, ``history`` holds ``loss_history`` (one float per
    iteration), ``train_acc_history`` and ``val_acc_history`` (one per epoch,
    and one more at the end when training stops mid-epoch), and
    ``best_val_acc`` / ``best_params`` hold the parameters that scored best on
    the validation set (``best_buffers`` the model's non-trained arrays, such
    as batch-norm statistics, from the same epoch; ``best_epoch`` its index).

    A model may define ``constrain()``, called after every update (the
    max-norm projection of :class:`~cattern.models.FullyConnectedNet`), and
    ``buffers``, a dict of arrays saved and restored with the parameters.
    Early stopping (``config.patience``), or a callback setting
    ``trainer.stop_training = True``, ends training after the current epoch.

    A run can be paused and continued: ``steps_done`` counts the updates made,
    and after :meth:`extend` a new :meth:`fit` on the same data goes on from
    there, with the same velocities, batch order and rates, so a fit of 300
    iterations extended to 900 ends with the same parameters, bit for bit, as
    one fit of 900 (successive halving uses this). The exceptions are what
    looks at the run's end or its best epoch: the cosine schedule (its shape
    depends on ``num_iters``), ``restore_best`` and ``patience``; see
    :meth:`can_extend`.
    """

    def __init__(self, model, config=TrainConfig(), callbacks=()):
        self.model = model
        self.config = config
        self.callbacks = list(callbacks)
        self._rng = None  # made when first needed: see rng
        self.history = {"loss_history": [], "train_acc_history": [], "val_acc_history": []}
        self.best_val_acc = -1.0
        self.best_params = None
        self.best_buffers = None
        self.best_epoch = None
        self.stop_training = False
        self.iteration = 0
        self.steps_done = 0    # updates made so far; a later fit goes on from here
        self.epoch = 0
        self.learning_rate = config.learning_rate
        # State a continued fit needs, made by the first fit: the update rule's
        # configs (velocities), the train-accuracy subset and the epoch's order.
        self._slots = None
        self._subset = None
        self._order = None
        self._schedule = self._update = None  # set by fit, from the config
        # With ema_decay: the moving average of the model's params and buffers, and
        # whether the model holds it (between fits) instead of the trained arrays.
        self._average = None
        self._average_in_model = False

    @property
    def rng(self):
        """The run's ``np.random.Generator``: batch order, train-accuracy subset, augmentation.

        Seeded by ``config.seed``; with seed None, by a seed drawn from NumPy's
        global state, so ``np.random.seed`` repeats the run. Made on first use
        only: sampling "with_replacement" with seed None draws its batches from
        the global state itself, and must take nothing else from it.
        """
        if self._rng is None:
            seed = self.config.seed
            if seed is None:
                seed = np.random.randint(0, 2**31 - 1)
            self._rng = np.random.default_rng(seed)
        return self._rng

    def can_extend(self):
        """Whether :meth:`extend` then :meth:`fit` gives exactly the run one longer fit would."""
        cfg = self.config
        return cfg.lr_schedule != "cosine" and not cfg.restore_best and not cfg.patience and not cfg.clean_epochs

    def extend(self, num_iters):
        """Make the run ``num_iters`` updates long; the next :meth:`fit` trains the rest."""
        if num_iters < self.steps_done:
            raise ValueError(f"cannot shorten a run to {num_iters} iterations: {self.steps_done} are done")
        self.config = dataclasses.replace(self.config, num_iters=num_iters)

    def fit(self, X, y, X_val=None, y_val=None):
        """Train on (X, y), measuring accuracy on (X_val, y_val) once per epoch.

        Trains from update ``steps_done`` (0 for a new trainer) to
        ``config.num_iters``; a continued fit must get the same data.

        Inputs:
        - X: (N, D) training inputs; y: (N,) integer labels
        - X_val: (N_val, D) validation inputs; y_val: (N_val,) labels; optional

        Returns the history dict. Raises :class:`DivergedError` when the loss
        becomes NaN or infinite.
        """
        cfg, model = self.config, self.model
        X, y = model.check_data(X, y)  # once per run, not per step
        if X_val is not None:
            X_val, y_val = model.check_data(X_val, y_val)
        n = X.shape[0]
        replacement = cfg.sampling == "with_replacement"
        batch = cfg.batch_size if replacement else min(cfg.batch_size, n)
        # An epoch's length in iterations: where epochs end, and what the schedules count.
        # With replacement, the seed's max(N / B, 1) may be fractional: its epochs then end
        # at the whole multiples of it, every `numerator` iterations (137.5 -> every 275).
        self.iterations_per_epoch = (Fraction(max(Fraction(n, batch), 1)).numerator if replacement
                                     else math.ceil(n / batch))
        self._schedule, self._update = cfg.schedule(), optim.get_rule(cfg.update_rule)
        # Counted back from the end, as the schedule counts: the clean epochs are its last.
        clean_steps = min(cfg.clean_epochs * self.iterations_per_epoch, cfg.num_iters)  # no inf to round
        self._augment_until = cfg.num_iters - round(clean_steps)
        if self._slots is None:  # a continued fit keeps the first fit's velocities
            self._slots = [(name, rows, cfg.rule_config(name))
                           for name, w in model.params.items() for rows in row_blocks(w)]
        # A fixed subset for train accuracy: cheap, and comparable across epochs. (With
        # replacement, as the seed does, train accuracy is measured on the epoch's last batch.)
        if self._subset is None and not replacement:
            self._subset = np.sort(self.rng.choice(n, size=min(n, cfg.train_acc_size), replace=False))
        X_sub, y_sub = (None, None) if replacement else (X[self._subset], y[self._subset])
        if cfg.ema_decay and self._average is None:
            self._average = {k: v.copy() for k, v in self._averaged_arrays().items()}
        if self._average_in_model:
            self._swap_average()  # a continued fit goes on training the trained arrays
        workspace = Workspace()  # the step's arrays, reused from one step to the next
        X_batch = np.empty((batch,) + X.shape[1:], dtype=X.dtype)

        for cb in self.callbacks:
            cb.on_train_begin(self)
        # A diverging run overflows on its way to a NaN loss; the finiteness
        # check turns that into one DivergedError instead of a screen of warnings.
        with _interruptible(self, cfg.catch_interrupt), np.errstate(over="ignore", invalid="ignore"):
            for it in range(self.steps_done, cfg.num_iters):
                self.iteration = it
                xb, yb = self._next_batch(it, X, y, X_batch)
                loss = self._step(it, xb, yb, workspace)
                self.history["loss_history"].append(loss)
                for cb in self.callbacks:
                    cb.on_iteration_end(self, it, loss)
                if self._epoch_ends(it):
                    self._record_epoch(X_sub if X_sub is not None else xb, y_sub if y_sub is not None else yb,
                                       X_val, y_val)
                    if self.stop_training:
                        break
        if self._average is not None:
            self._swap_average()  # the run's net is the average
        if cfg.restore_best and self.best_params is not None:
            self.restore_best()
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def _epoch_ends(self, it):
        """Whether an epoch ends after iteration ``it`` (see TrainConfig's sampling)."""
        if self.config.sampling == "with_replacement":
            return it % self.iterations_per_epoch == 0  # the seed's check, iteration 0 included
        return (it + 1) % self.iterations_per_epoch == 0 or it == self.config.num_iters - 1

    def _next_batch(self, it, X, y, X_batch):
        """Batch ``it``'s examples: (B, D) inputs, gathered into ``X_batch`` and augmented, (B,) labels.

        "epochs" sampling walks a fresh permutation each epoch, so every example
        is seen once; "with_replacement" draws B indices, as the seed does.
        """
        batch = X_batch.shape[0]
        n = X.shape[0]
        if self.config.sampling == "with_replacement":
            if self.config.seed is None:
                idx = np.random.choice(np.arange(n), batch)  # the seed's own call, on the global state
            else:
                idx = self.rng.integers(0, n, size=batch)
        else:
            pos = it % self.iterations_per_epoch
            if pos == 0:
                self._order = self.rng.permutation(n)
            idx = self._order[pos * batch:(pos + 1) * batch]
        # mode='clip' lets take write straight into the buffer (the default
        # 'raise' buffers the output); a permutation's indices are in range.
        xb = np.take(X, idx, axis=0, out=X_batch[:len(idx)], mode="clip")
        if self.config.augment is not None and it < self._augment_until:
            xb = self.config.augment(xb, self.rng)
        return xb, y[idx]

    def _step(self, it, xb, yb, workspace):
        """One update on the batch (xb, yb); returns its loss, before the update, as a float."""
        loss, grads = self.model.batch_loss(xb, yb, self.config.reg, workspace)
        self.learning_rate = self._schedule(it, self.iterations_per_epoch)
        if not np.isfinite(loss):
            raise DivergedError(it, float(loss), self.learning_rate)
        # Each parameter is updated in row blocks that fit in the L2 cache, with a
        # rule config (and so a velocity) per block: the rules are elementwise, so
        # the math is the same, and the update's several passes over a block then
        # hit the cache instead of memory (1.7x faster on W1 at H=1024).
        for name, rows, rule_config in self._slots:
            rule_config["learning_rate"] = self.learning_rate
            self._update(self.model.params[name][rows], grads[name][rows], rule_config)
        constrain = getattr(self.model, "constrain", None)
        if constrain is not None:
            constrain()
        if self._average is not None:
            self._update_average(it, workspace)
        self.steps_done = it + 1
        return float(loss)

    def _averaged_arrays(self):
        """The arrays ema_decay averages: the model's params, then its buffers (batch-norm statistics)."""
        return {**self.model.params, **getattr(self.model, "buffers", {})}

    def _update_average(self, it, workspace):
        """Move the average a step towards the arrays after update ``it``: avg += (1 - d) * (x - avg),
        in cache-sized row blocks, as the update rules are applied."""
        decay = min(self.config.ema_decay, (1 + it) / (10 + it))
        arrays = self._averaged_arrays()
        for name, avg in self._average.items():
            for rows in row_blocks(avg):
                diff = np.subtract(arrays[name][rows], avg[rows], out=workspace("ema", avg[rows].shape, avg.dtype))
                diff *= 1 - decay
                avg[rows] += diff

    def _swap_average(self):
        """Exchange the model's arrays and their average, in place (so the model's own
        arrays, which its layers may hold, stay the same objects)."""
        arrays = self._averaged_arrays()
        for name, avg in self._average.items():
            held = arrays[name].copy()
            arrays[name][...] = avg
            avg[...] = held
        self._average_in_model = not self._average_in_model

    def _record_epoch(self, X_sub, y_sub, X_val, y_val):
        """Measure the epoch's net, keep it if best, and call the callbacks, which see that
        net too: with ema_decay it is the average, swapped into the model meanwhile."""
        if self._average is not None:
            self._swap_average()
        try:
            self._measure_epoch(X_sub, y_sub, X_val, y_val)
            for cb in self.callbacks:
                cb.on_epoch_end(self, self.epoch)
        finally:
            if self._average is not None:
                self._swap_average()
        self.epoch += 1

    def _measure_epoch(self, X_sub, y_sub, X_val, y_val):
        model = self.model
        self.history["train_acc_history"].append(float((model.predict(X_sub) == y_sub).mean()))
        if X_val is not None:
            val_acc = float((model.predict(X_val) == y_val).mean())
            self.history["val_acc_history"].append(val_acc)
            if val_acc > self.best_val_acc:
                self.best_val_acc = val_acc
                self.best_params = {k: v.copy() for k, v in model.params.items()}
                self.best_buffers = {k: v.copy() for k, v in getattr(model, "buffers", {}).items()}
                self.best_epoch = self.epoch
            patience = self.config.patience
            if patience and self.epoch - self.best_epoch >= patience:
                self.stop_training = True  # early stopping: no new best for `patience` epochs

    def restore_best(self):
        """Copy the best validation epoch's parameters and buffers back into the model, in place."""
        for k, v in self.best_params.items():
            self.model.params[k][...] = v
        for k, v in self.best_buffers.items():
            self.model.buffers[k][...] = v
