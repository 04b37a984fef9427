"""The training loop: the trainer owns the loop, the model owns the loss.

The trainer draws minibatches, asks the model for the loss and gradients,
steps the update rule with the rate the schedule gives, records the history,
and calls the callbacks (progress bars, printing, plots). It knows nothing of
layers; a model only needs:

- ``params``: a dict of arrays, updated in place;
- ``batch_loss(X, y, reg) -> (loss, grads)`` on data already checked, with
  ``grads`` keyed like ``params``;
- ``check_data(X, y) -> (X, y)``: validate and convert a whole data set once;
- ``predict(X) -> labels``.
"""
import math
from dataclasses import dataclass

import numpy as np

from cattern import optim, schedules
from cattern.checks import check_nonnegative, check_positive_int
from cattern.errors import DivergedError


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run, besides the model and the data.

    - num_iters: number of parameter updates
    - batch_size: examples per update (the last batch of an epoch may be
      smaller when batch_size does not divide N)
    - learning_rate: the starting rate
    - learning_rate_decay: factor applied once per epoch (1.0 keeps it fixed)
    - update_rule: a name in :data:`cattern.optim.RULES`
    - momentum: for the momentum rules
    - reg: L2 strength; the model's loss adds 0.5 * reg * sum(W**2) per weight
    - train_acc_size: train accuracy is measured on a fixed random subset of
      this many training examples, so that logging costs little
    - seed: seeds the batch order and the subset; None draws a seed from
      NumPy's global random state, so ``np.random.seed`` makes runs repeatable
    """

    num_iters: int = 100
    batch_size: int = 200
    learning_rate: float = 1e-3
    learning_rate_decay: float = 0.95
    update_rule: str = "sgd_momentum"
    momentum: float = 0.9
    reg: float = 0.0
    train_acc_size: int = 1000
    seed: int | None = None

    def __post_init__(self):
        check_positive_int("num_iters", self.num_iters)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("train_acc_size", self.train_acc_size)
        check_nonnegative("reg", self.reg)
        check_nonnegative("momentum", self.momentum)
        if check_nonnegative("learning_rate", self.learning_rate) == 0:
            raise ValueError("learning_rate must be > 0; got 0")
        if not 0 < check_nonnegative("learning_rate_decay", self.learning_rate_decay) <= 1:
            raise ValueError(
                f"learning_rate_decay must be in (0, 1]; got {self.learning_rate_decay!r}"
            )
        optim.get_rule(self.update_rule)  # raises, listing the valid names

    def schedule(self):
        """The learning-rate schedule this config describes."""
        return schedules.ExponentialPerEpoch(self.learning_rate, self.learning_rate_decay)

    def rule_config(self):
        """A fresh per-parameter config dict for the update rule."""
        return {"learning_rate": self.learning_rate, "momentum": self.momentum}


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
    the validation set.
    """

    def __init__(self, model, config=TrainConfig(), callbacks=()):
        self.model = model
        self.config = config
        self.callbacks = list(callbacks)
        seed = config.seed
        if seed is None:
            seed = np.random.randint(0, 2**31 - 1)  # from the global state, see TrainConfig
        self.rng = np.random.default_rng(seed)
        self.history = {"loss_history": [], "train_acc_history": [], "val_acc_history": []}
        self.best_val_acc = -1.0
        self.best_params = None
        self.iteration = 0
        self.epoch = 0
        self.learning_rate = config.learning_rate

    def fit(self, X, y, X_val=None, y_val=None):
        """Train on (X, y), measuring accuracy on (X_val, y_val) once per epoch.

        Inputs:
        - X: (N, D) training inputs; y: (N,) integer labels
        - X_val: (N_val, D) validation inputs; y_val: (N_val,) labels; optional

        Returns the history dict. Raises :class:`DivergedError` when the loss
        becomes NaN or infinite.
        """
        cfg, model = self.config, self.model
        X, y = model.check_data(X, y)
        if X_val is not None:
            X_val, y_val = model.check_data(X_val, y_val)
        n = X.shape[0]
        batch = min(cfg.batch_size, n)
        self.iterations_per_epoch = math.ceil(n / batch)
        schedule = cfg.schedule()
        update = optim.get_rule(cfg.update_rule)
        rule_configs = {name: cfg.rule_config() for name in model.params}

        # A fixed subset for train accuracy: cheap, and comparable across epochs.
        subset = np.sort(self.rng.choice(n, size=min(n, cfg.train_acc_size), replace=False))
        X_sub, y_sub = X[subset], y[subset]

        X_batch = np.empty((batch,) + X.shape[1:], dtype=X.dtype)  # reused every step

        for cb in self.callbacks:
            cb.on_train_begin(self)
        # A diverging run overflows on its way to a NaN loss; the finiteness
        # check turns that into one DivergedError instead of a screen of warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            for it in range(cfg.num_iters):
                self.iteration = it
                # Each epoch walks a fresh permutation, so every example is seen once.
                pos = it % self.iterations_per_epoch
                if pos == 0:
                    order = self.rng.permutation(n)
                idx = order[pos * batch:(pos + 1) * batch]
                xb = np.take(X, idx, axis=0, out=X_batch[:len(idx)])

                loss, grads = model.batch_loss(xb, y[idx], cfg.reg)
                self.learning_rate = schedule(it, self.iterations_per_epoch)
                if not np.isfinite(loss):
                    raise DivergedError(it, float(loss), self.learning_rate)
                for name, w in model.params.items():
                    rule_configs[name]["learning_rate"] = self.learning_rate
                    update(w, grads[name], rule_configs[name])
                self.history["loss_history"].append(float(loss))
                for cb in self.callbacks:
                    cb.on_iteration_end(self, it, float(loss))

                if (it + 1) % self.iterations_per_epoch == 0 or it == cfg.num_iters - 1:
                    self._record_epoch(X_sub, y_sub, X_val, y_val)
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def _record_epoch(self, X_sub, y_sub, X_val, y_val):
        model = self.model
        self.history["train_acc_history"].append(float((model.predict(X_sub) == y_sub).mean()))
        if X_val is not None:
            val_acc = float((model.predict(X_val) == y_val).mean())
            self.history["val_acc_history"].append(val_acc)
            if val_acc > self.best_val_acc:
                self.best_val_acc = val_acc
                self.best_params = {k: v.copy() for k, v in model.params.items()}
        for cb in self.callbacks:
            cb.on_epoch_end(self, self.epoch)
        self.epoch += 1
