"""How good a saved model is on a labelled set: overall, per class, per half, and its confusions."""
import numpy as np


def evaluate(saved, X, y):
    """Evaluate a :class:`cattern.model_io.SavedModel` on raw images X with labels y.

    Inputs:
    - saved: a loaded model (it applies its own preprocessing)
    - X: (N, D) or (N, 28, 28[, 1]) raw images, uint8 0..255 or floats in
      [0, 1]; y: (N,) int labels

    Returns a dict of JSON-safe values:
    - accuracy: fraction correct
    - per_class_accuracy: C values, the accuracy on the examples of each
      true class (None for a class with no examples)
    - half_accuracy: [first half, second half] of the set in its order (the
      halves of MNIST's test set come from different pools of writers, so
      their accuracies differ; a gap says how much the estimate depends on
      who wrote the digits)
    - confusion_matrix: C x C counts, row = true class, column = predicted
    - num_examples: N
    - predicted: N predicted labels (a list)
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X) or len(y) < 2:
        raise ValueError(f"need at least 2 images with one label each; got X of {len(X)} rows "
                         f"and y of shape {y.shape}")
    predicted = saved.predict(X)
    if y.min() < 0 or y.max() >= saved.num_classes:
        raise ValueError(f"labels must be in 0..{saved.num_classes - 1} for this model; "
                         f"found {y.min()}..{y.max()}")
    num_classes = saved.num_classes
    correct = predicted == y
    half = len(y) // 2
    per_class = [float(correct[y == c].mean()) if np.any(y == c) else None for c in range(num_classes)]
    return {
        "accuracy": float(correct.mean()),
        "per_class_accuracy": per_class,
        "half_accuracy": [float(correct[:half].mean()), float(correct[half:].mean())],
        "confusion_matrix": confusion_matrix(y, predicted, num_classes).tolist(),
        "num_examples": int(len(y)),
        "predicted": predicted.tolist(),
    }


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts (C, C): row = true class, column = predicted class."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts
