"""The project's own exceptions, so callers can catch exactly what they mean."""


class DivergedError(FloatingPointError):
    """Training produced a NaN or infinite loss.

    A search catches this to record the run as diverged and go on. When a
    training doctor watched the run, the search puts its record of the run
    until then in ``signals`` (:meth:`cattern.diagnosis.TrainingDoctor.signals`).
    """

    def __init__(self, iteration, loss, learning_rate):
        self.iteration = iteration
        self.loss = loss
        self.learning_rate = learning_rate
        self.signals = None  # the training doctor's record up to the divergence, if it watched
        super().__init__(f"{self.reason()}; try a smaller learning rate")

    def reason(self):
        """What happened, without the advice (the command line names its option instead)."""
        return (f"training diverged: the loss became {self.loss} at iteration {self.iteration} "
                f"(learning rate {self.learning_rate:g})")


class NetTooLargeError(MemoryError):
    """A net would need more memory than the machine has to spare; refused before allocating."""
