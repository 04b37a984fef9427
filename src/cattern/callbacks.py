"""Callbacks that watch the training loop: printing and progress bars."""
from tqdm.auto import tqdm

from cattern.trainer import Callback


class PrintLoss(Callback):
    """Print ``iteration i / N: loss L`` every ``every`` iterations, as the seed does."""

    def __init__(self, every=100, file=None):
        self.every = every
        self.file = file

    def on_iteration_end(self, trainer, iteration, loss):
        if iteration % self.every == 0:
            total = trainer.config.num_iters
            print(f"iteration {iteration} / {total}: loss {loss:f}", file=self.file)


class ProgressBar(Callback):
    """A tqdm bar over the iterations, showing the loss and the last validation accuracy."""

    def __init__(self, desc="train", leave=False, **tqdm_kwargs):
        self.desc = desc
        self.leave = leave
        self.tqdm_kwargs = tqdm_kwargs
        self.bar = None

    def on_train_begin(self, trainer):
        self.bar = tqdm(total=trainer.config.num_iters, desc=self.desc,
                        leave=self.leave, unit="it", **self.tqdm_kwargs)

    def on_iteration_end(self, trainer, iteration, loss):
        self.bar.update(1)
        if iteration % 20 == 0:  # refreshing the text every step would cost more than the step
            self.bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)

    def on_epoch_end(self, trainer, epoch):
        if trainer.history["val_acc_history"]:
            self.bar.set_postfix_str(
                f"loss {trainer.history['loss_history'][-1]:.4f} "
                f"val {trainer.history['val_acc_history'][-1]:.4f}", refresh=False)

    def on_train_end(self, trainer):
        self.bar.close()
