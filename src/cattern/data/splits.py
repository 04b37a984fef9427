"""The data a run trains on and is judged on: MNIST split three ways, preprocessed in one place.

Every subcommand, the lab, the notebook and the web page get their data here:

- :func:`load_raw` reads the images as they are stored (uint8, 0..255), split
  into training, validation (the FIRST ``validation_size`` training images)
  and test sets, with a fingerprint of the training and validation data;
- :class:`Preprocessing` is the seed's preprocessing, a pixel scale then the
  mean training image subtracted: fit on the training images, applied to any
  images, and stored in every model file (:mod:`cattern.model_io`);
- :func:`prepare` makes a :class:`Split`: training and validation rows ready
  for a net, and the test set held back in a :class:`TestSet`, which allows
  one use; :func:`load_split` is both steps at once. For the final run of a
  recipe chosen on validation, ``train_on_validation`` puts the validation
  images into the training rows, and leaves none to validate on.

The pixel scale is the value of a white pixel in what the net sees: 1.0 for
pixels in [0, 1], 255.0 for the raw 0..255 the seed's notebook trained on
(see :mod:`mnist_data.load_mnist`). Images given to :meth:`Preprocessing.transform`
are uint8 0..255 or floats in [0, 1]; anything else is refused, so no image
can reach a net on the wrong scale.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cattern.data.deskew import deskew_rows
from cattern.data.mnist import read_data_sets, scale_pixels

# The seed's loader reads ./mnist_data when it is there, else the cache.
DEFAULT_DATA_DIR = "mnist_data"


@dataclass(frozen=True)
class RawData:
    """Images as stored, (N, rows, cols, 1) uint8 0..255, with int64 labels, in three sets.

    ``fingerprint`` identifies the training and validation data (a SHA-256
    of their images, labels and sizes): results measured on other data never
    pass for these (see :mod:`cattern.tuning.results`). The test arrays are
    not part of it, and nothing here reads them.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str
    fingerprint: str


def load_raw(data_dir=None, *, validation_size=5000, verify=True, verbose=True):
    """MNIST as stored, split train / validation / test: a :class:`RawData`.

    Inputs:
    - data_dir: a folder holding the four MNIST files (gzip or plain idx),
      read first; missing files come from the verified cache. None means the
      seed's ``mnist_data``, which need not exist; a folder named explicitly
      must exist.
    - validation_size: the first V training images validate (5000: the
      seed's 55000 / 5000 / 10000)
    - verify: hash-check files found in data_dir (off for another data set
      in MNIST's format and file names)
    - verbose: print the seed's ``Extracting ...`` lines and download progress
    """
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ValueError(f"the data folder {data_dir} does not exist; give a folder holding MNIST's four "
                         "files (--data-dir on the command line), or leave it out to use the cache")
    folder = DEFAULT_DATA_DIR if data_dir is None else str(data_dir)
    arrays = read_data_sets(folder, validation_size=validation_size, raw=True, verbose=verbose,
                            verify=verify)
    X_train, y_train, X_val, y_val = arrays[:4]
    if len(X_train) == 0 or len(X_val) == 0:
        raise ValueError(f"validation_size={validation_size} leaves {len(X_train)} training and "
                         f"{len(X_val)} validation images; both need at least one "
                         f"(--validation-size from 1 to {len(X_train) + len(X_val) - 1})")
    return RawData(*arrays, source=folder, fingerprint=fingerprint(X_train, y_train, X_val, y_val))


def fingerprint(X_train, y_train, X_val, y_val):
    """A SHA-256 of the training and validation images and labels, and of their shapes."""
    digest = hashlib.sha256()
    for array in (X_train, y_train, X_val, y_val):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.data)
    return digest.hexdigest()


@dataclass(frozen=True)
class Preprocessing:
    """The seed's preprocessing: ``rows = images * pixel_scale - mean_image``, each image
    first deskewed when ``deskew`` is set.

    - pixel_scale: the value of a white pixel in the net's inputs (1.0 or 255.0)
    - mean_image: (D,) float32, the mean training image on that scale
    - deskew: shear each digit upright first (:mod:`cattern.data.deskew`);
      False is the seed's preprocessing

    A model file stores all three (:mod:`cattern.model_io`), so a saved net
    preprocesses new images exactly as its training images were.
    """

    pixel_scale: float
    mean_image: np.ndarray
    deskew: bool = False

    @classmethod
    def fit(cls, images, pixel_scale, deskew=False):
        """The preprocessing of training ``images`` (N, ...): their mean image at ``pixel_scale``.

        Returns (preprocessing, rows): rows (N, D) float32 are the images
        preprocessed, computed once here rather than again by transform.
        """
        rows = to_rows(images, pixel_scale, deskew=deskew)
        mean_image = rows.mean(axis=0, dtype=np.float64).astype(np.float32)  # (D,)
        rows -= mean_image
        return cls(float(pixel_scale), mean_image, bool(deskew)), rows

    def transform(self, images):
        """Images (N, ...) as uint8 0..255 or floats in [0, 1] -> net inputs (N, D) float32."""
        rows = to_rows(images, self.pixel_scale, deskew=self.deskew)
        if rows.shape[1] != self.mean_image.shape[0]:
            raise ValueError(f"each image has {rows.shape[1]} pixels but the model takes "
                             f"{self.mean_image.shape[0]}; got images of shape {np.shape(images)}")
        rows -= self.mean_image
        return rows


def to_rows(images, pixel_scale, deskew=False):
    """Images (N, ...) as uint8 0..255 or floats in [0, 1] -> (N, D) float32 rows on ``pixel_scale``.

    uint8 pixels go through :func:`cattern.data.mnist.scale_pixels`, as the
    loader scales them; floats must lie in [0, 1] (the unit of every float
    image cattern hands out), and anything else is refused, naming the fix.
    With ``deskew`` each image is deskewed (:func:`cattern.data.deskew.deskew`)
    in [0, 1], then scaled.
    """
    images = np.asarray(images)
    if deskew:
        rows = to_rows(images, 1.0)
        shape = images.shape[1:3] if images.ndim >= 3 else None  # (N, rows, cols[, 1]); rows: square
        rows = deskew_rows(rows, shape)
        return rows * np.float32(pixel_scale) if pixel_scale != 1 else rows
    if images.ndim < 2 or images.shape[0] == 0:
        raise ValueError(f"images must be N >= 1 images, (N, D) or (N, rows, cols[, 1]); got shape {images.shape}")
    if images.dtype == np.uint8:
        rows = scale_pixels(images, pixel_scale)
    elif np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer):
        low, high = float(np.min(images)), float(np.max(images))
        if not (0 <= low and high <= 1):  # NaN fails this too
            raise ValueError(f"pixels must be uint8 0..255 or floats in [0, 1]; got {images.dtype} values in "
                             f"[{low:g}, {high:g}]. Divide 0..255 values by 255 (or pass them as uint8)")
        rows = np.asarray(images, dtype=np.float32)
        rows = rows * np.float32(pixel_scale) if pixel_scale != 1 else rows.copy()
    else:
        raise ValueError(f"pixels must be uint8 0..255 or floats in [0, 1]; got dtype {images.dtype}")
    return rows.reshape(len(rows), -1)


class TestSet:
    """The test set, held back: it can be used ``max_uses`` times (once), and counts its uses.

    Choosing anything (a run, a hyperparameter) on the test set would make
    its accuracy an optimistic estimate; the lab and ``cattern train`` choose
    on validation and call :meth:`accuracy` once, at the end, on the chosen net.
    The images are preprocessed only then, so nothing reads them before.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, images, labels, preprocessing, max_uses=1):
        # images: (N, ...) as loaded; preprocessing: a Preprocessing, applied at use.
        self._images, self._labels = images, labels
        self.preprocessing = preprocessing
        self.max_uses = max_uses
        self.uses = 0

    @property
    def shape(self):
        """The test inputs' shape as rows (N, D); looking at it is not a use."""
        return (len(self._images), int(np.prod(np.shape(self._images)[1:])))

    def predict(self, model):
        """(y_pred, y_true) of ``model`` on the test set; counts as one use."""
        if self.uses >= self.max_uses:
            raise RuntimeError(f"the test set has been used {self.uses} time(s) already "
                               f"(allowed: {self.max_uses}); choose models on the validation set")
        self.uses += 1
        return model.predict(self.preprocessing.transform(self._images)), np.asarray(self._labels)

    def accuracy(self, model):
        """Accuracy of ``model`` on the test set; counts as one use."""
        y_pred, y_true = self.predict(model)
        return float(np.mean(y_pred == y_true))


@dataclass
class Split:
    """Training and validation rows ready for a net, and the test set held back.

    - X_train: (N, D) float32, preprocessed; y_train: (N,) int64
    - X_val: (N_val, D) float32, preprocessed; y_val: (N_val,) int64; both
      None when the validation images are among the training rows
      (``prepare(..., train_on_validation=True)``)
    - preprocessing: the :class:`Preprocessing` fit on the training images
    - test: the :class:`TestSet`, preprocessed only when it is used
    - raw: the :class:`RawData` the split was made from
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    preprocessing: Preprocessing
    test: TestSet
    raw: RawData

    @property
    def fingerprint(self):
        """The data's fingerprint with the pixel scale: what a search's results were measured on."""
        p = self.preprocessing
        return (f"{self.raw.fingerprint}:pixel_scale={p.pixel_scale:g}" + (":deskew" if p.deskew else "")
                + (":train_on_validation" if self.X_val is None else ""))


def prepare(raw, pixel_scale, deskew=False, train_on_validation=False):
    """A :class:`Split` of ``raw`` (a :class:`RawData`) on ``pixel_scale``: the seed's preprocessing,
    after deskewing every image when ``deskew`` is set.

    With ``train_on_validation`` the training rows are all the training file's
    images in its order, the validation images first (the mean image is
    theirs), and the split has no validation rows: the recipe was chosen on
    them already.
    """
    images, labels = raw.X_train, raw.y_train
    if train_on_validation:
        images, labels = np.concatenate([raw.X_val, images]), np.concatenate([raw.y_val, labels])
    preprocessing, X_train = Preprocessing.fit(images, pixel_scale, deskew)
    X_val, y_val = (None, None) if train_on_validation else (preprocessing.transform(raw.X_val), raw.y_val)
    return Split(X_train, labels, X_val, y_val, preprocessing, TestSet(raw.X_test, raw.y_test, preprocessing), raw)


def load_split(data_dir=None, *, pixel_scale, deskew=False, train_on_validation=False, validation_size=5000,
               verify=True, verbose=True):
    """:func:`load_raw` then :func:`prepare`: MNIST ready for a net on ``pixel_scale``."""
    return prepare(load_raw(data_dir, validation_size=validation_size, verify=verify, verbose=verbose),
                   pixel_scale, deskew, train_on_validation)
