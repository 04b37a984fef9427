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
        self.signals = None
        super().__init__(
            f"training diverged: the loss became {loss} at iteration {iteration} "
            f"(learning rate {learning_rate:g}); try a smaller learning rate"
        )
