"""Augmentation: exact translations, rotations against np.rot90, seeding, and the mean offset."""
import numpy as np
import pytest

from cattern.augment import Augmenter, affine_coordinates, sample_bilinear, thicken, translate


def _digits(n=5, seed=0):
    """(n, 28, 28) float32 'digits': random blobs kept away from the border."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.float32)
    images[:, 6:22, 8:20] = rng.random((n, 16, 12), dtype=np.float32)
    return images


def test_translate_is_the_shifted_image():
    images = _digits(3)
    out = translate(images, np.array([2, -1, 0]), np.array([0, 2, -2]))
    # The blobs stay inside the frame, so a shift is np.roll.
    np.testing.assert_array_equal(out[0], np.roll(images[0], 2, axis=0))
    np.testing.assert_array_equal(out[1], np.roll(np.roll(images[1], -1, axis=0), 2, axis=1))
    np.testing.assert_array_equal(out[2], np.roll(images[2], -2, axis=1))


def test_translate_fills_with_blank():
    images = np.ones((1, 4, 4), np.float32)
    out = translate(images, np.array([1]), np.array([-1]))
    # Row 0 came from outside (blank), and so did the last column.
    expected = np.ones((4, 4), np.float32)
    expected[0, :] = 0
    expected[:, -1] = 0
    np.testing.assert_array_equal(out[0], expected)


def test_bilinear_identity_and_whole_pixel_shift_match_translate():
    images = _digits(4)
    shifts = np.array([[0, 0], [1, -2], [-2, 2], [2, 1]])
    src_y, src_x = affine_coordinates(np.tile(np.eye(2), (4, 1, 1)), shifts, (28, 28))
    np.testing.assert_allclose(sample_bilinear(images, src_y, src_x),
                               translate(images, shifts[:, 0], shifts[:, 1]), atol=1e-6)


def test_rotation_by_90_degrees_is_rot90():
    images = _digits(2)
    A = np.array([[0.0, 1.0], [-1.0, 0.0]])  # R(-90 degrees), the inverse map of a +90 rotation
    src_y, src_x = affine_coordinates(np.tile(A, (2, 1, 1)), np.zeros((2, 2)), (28, 28))
    out = sample_bilinear(images, src_y, src_x)
    np.testing.assert_allclose(out, np.rot90(images, axes=(1, 2)), atol=1e-6)


def test_half_pixel_shift_averages_neighbours():
    images = np.zeros((1, 3, 3))
    images[0, 1, 1] = 1.0
    src_y, src_x = affine_coordinates(np.eye(2)[None], np.array([[0.0, 0.5]]), (3, 3))
    out = sample_bilinear(images, src_y, src_x)
    # Moving right by half a pixel splits the dot between columns 1 and 2.
    np.testing.assert_allclose(out[0, 1], [0, 0.5, 0.5])


@pytest.mark.parametrize("aug", [
    Augmenter(max_shift=2),
    Augmenter(max_shift=1, max_rotation=10, max_scale=0.1),
    Augmenter(max_shift=1, max_rotation=10, max_scale=0.1, scale_each_axis=True),
    Augmenter(max_shift=1, elastic_alpha=34, elastic_sigma=4),
])
def test_shapes_dtype_and_seeded_reproducibility(aug):
    X = _digits(8).reshape(8, 784)
    before = X.copy()
    a = aug(X, np.random.default_rng(7))
    b = aug(X, np.random.default_rng(7))
    c = aug(X, np.random.default_rng(8))
    assert a.shape == (8, 784) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(X, before)  # the input batch is left alone
    # A mild distortion keeps most of the ink.
    assert abs(a.sum() / X.sum() - 1) < 0.25


def test_mean_offset_moves_the_digit_not_the_mean():
    raw = _digits(6).reshape(6, 784)
    mean = raw.mean(axis=0)
    aug = Augmenter(max_shift=2, offset=mean)
    plain = Augmenter(max_shift=2)
    centred = aug(raw - mean, np.random.default_rng(1))
    # The same draws on raw pixels, then centred: identical.
    np.testing.assert_allclose(centred, plain(raw, np.random.default_rng(1)) - mean, atol=1e-6)


def test_shifts_cover_the_range():
    X = np.zeros((2000, 784), np.float32)
    X[:, 14 * 28 + 14] = 1.0  # one dot in the middle
    out = Augmenter(max_shift=2)(X, np.random.default_rng(0))
    rows, cols = np.divmod(out.argmax(axis=1), 28)
    assert set(rows - 14) == {-2, -1, 0, 1, 2} and set(cols - 14) == {-2, -1, 0, 1, 2}


def _spreads(images):
    """Each image's intensity-weighted standard deviation along rows and along columns: (N,), (N,)."""
    rows, cols = np.mgrid[:28, :28]
    mass = images.sum(axis=(1, 2))

    def sd(coord):
        mean = (images * coord).sum(axis=(1, 2)) / mass
        return np.sqrt((images * (coord - mean[:, None, None]) ** 2).sum(axis=(1, 2)) / mass)

    return sd(rows), sd(cols)


@pytest.mark.parametrize("each_axis", [False, True])
def test_scaling_stretches_both_axes_alike_or_each_apart(each_axis):
    # A round, smooth blob (sd 3 pixels) at the centre: a scaling by sy down and sx across
    # makes its spreads 3 sy and 3 sx, so their ratio is the aspect ratio the draw gave it.
    rows, cols = np.mgrid[:28, :28]
    blob = np.exp(-((rows - 13.5) ** 2 + (cols - 13.5) ** 2) / (2 * 3.0 ** 2)).astype(np.float32)
    X = np.tile(blob.reshape(1, 784), (400, 1))
    out = Augmenter(max_shift=0, max_scale=0.2, scale_each_axis=each_axis)(X, np.random.default_rng(3))
    sd_rows, sd_cols = _spreads(out.reshape(400, 28, 28))
    sd0 = _spreads(blob[None])[0][0]
    # Each axis is scaled by a factor within [0.8, 1.2] (bilinear sampling widens a little).
    for sd in (sd_rows, sd_cols):
        assert 0.8 * 0.98 < (sd / sd0).min() and (sd / sd0).max() < 1.2 * 1.02
        assert (sd / sd0).min() < 0.85 and (sd / sd0).max() > 1.15  # the range is used
    aspect = sd_cols / sd_rows
    if each_axis:
        # Apart, the width ranges over the height: up to 1.2 / 0.8 = 1.5 either way.
        assert aspect.min() < 0.8 and aspect.max() > 1.25 and aspect.max() < 1.5 * 1.02
        assert abs(np.corrcoef(sd_rows, sd_cols)[0, 1]) < 0.2  # two independent draws
    else:
        np.testing.assert_allclose(aspect, 1.0, atol=0.01)  # one factor for both


def test_one_factor_scaling_draws_as_it_always_has():
    # The presets' numbers depend on the order and shape of the draws: a shift pair, an
    # angle, then ONE scale factor per image. Rebuilt here by hand from affine_coordinates,
    # so a change that drew differently with scale_each_axis off would fail.
    X = _digits(16).reshape(16, 784)
    out = Augmenter(max_shift=1, max_rotation=15, max_scale=0.15)(X, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    shifts = rng.integers(-1, 2, size=(16, 2))
    theta = np.deg2rad(rng.uniform(-15, 15, size=16))
    scale = rng.uniform(0.85, 1.15, size=16)
    cos, sin = np.cos(theta) / scale, np.sin(theta) / scale
    A = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
    src_y, src_x = affine_coordinates(A, shifts, (28, 28))
    expected = sample_bilinear(X.reshape(16, 28, 28), src_y, src_x).reshape(16, 784)
    np.testing.assert_array_equal(out, expected)


def test_thicken_is_scipys_grey_dilation_or_erosion_blended_in():
    # An independent reference: scipy.ndimage's grey morphology with a plus-shaped
    # footprint and blank (0) outside the image.
    from scipy import ndimage
    images = _digits(6, seed=2)
    images[:, 6, 8] = 1.0  # a pixel on the blob's corner, so both operations change something
    cross = ndimage.generate_binary_structure(2, 1)
    dilated = np.stack([ndimage.grey_dilation(x, footprint=cross, mode="constant", cval=0) for x in images])
    eroded = np.stack([ndimage.grey_erosion(x, footprint=cross, mode="constant", cval=0) for x in images])
    amounts = np.array([1.0, -1.0, 0.0, 0.25, -0.5, 0.8])
    out = thicken(images, amounts)
    assert out.dtype == np.float32 and out.shape == images.shape
    np.testing.assert_array_equal(out[0], dilated[0])
    np.testing.assert_array_equal(out[1], eroded[1])
    np.testing.assert_array_equal(out[2], images[2])
    for n, target in ((3, dilated), (4, eroded), (5, dilated)):
        a = abs(amounts[n])
        np.testing.assert_allclose(out[n], (1 - a) * images[n] + a * target[n], atol=1e-6)
    assert not np.array_equal(dilated, images) and not np.array_equal(eroded, images)


def test_thicken_widens_or_narrows_a_stroke_by_a_pixel_a_side():
    line = np.zeros((3, 9, 9), np.float32)
    line[:, 1:8, 3:6] = 1.0  # a vertical stroke three pixels wide
    out = thicken(line, np.array([1.0, -1.0, 0.5]))
    widths = out[:, 4].sum(axis=1)  # ink across the middle row
    np.testing.assert_allclose(widths, [5.0, 1.0, 4.0])
    assert out[0, 4, 2] == 1 and out[0, 4, 1] == 0  # grown by exactly one pixel each side
    assert out[1, 0].sum() == 0 and out[1, 1].sum() == 0  # the stroke's end shortened too


def test_thickness_is_drawn_per_image_before_the_other_distortions():
    X = _digits(16).reshape(16, 784)
    before = X.copy()
    mean = np.full(784, 0.1, np.float32)
    out = Augmenter(max_shift=1, max_thickness=0.5, offset=mean)(X - mean, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    amounts = rng.uniform(-0.5, 0.5, size=16)
    shifts = rng.integers(-1, 2, size=(16, 2))
    thick = thicken(X.reshape(16, 28, 28), amounts)
    expected = translate(thick, shifts[:, 0], shifts[:, 1]).reshape(16, 784) - mean
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_array_equal(X, before)  # the input is left alone
    # Off (the default), nothing is drawn for it: the presets' batches stay as they were.
    plain = Augmenter(max_shift=1)(X, np.random.default_rng(5))
    again = Augmenter(max_shift=1, max_thickness=0.0)(X, np.random.default_rng(5))
    np.testing.assert_array_equal(plain, again)


def test_augment_thickness_alone_turns_augmentation_on():
    from cattern.experiment import ExperimentConfig
    assert ExperimentConfig().augmenter(None) is None
    assert ExperimentConfig(augment_thickness=0.3).augmenter(None).max_thickness == 0.3


@pytest.mark.parametrize("field,value,match", [
    ("augment_thickness", 1.5, "augment_thickness must be a fraction in"),
    ("augment_scale", 1.0, "augment_scale must be < 1"),
    ("augment_shift", -1, "augment_shift must be a whole number"),
    ("augment_rotation", -2.0, "augment_rotation must be a finite number >= 0"),
    ("elastic_sigma", 0.0, "elastic_sigma must be > 0"),  # refused even while elastic_alpha is 0
])
def test_config_errors_name_the_config_field(field, value, match):
    from cattern.experiment import ExperimentConfig
    with pytest.raises(ValueError, match=match):
        ExperimentConfig(**{field: value})


def test_scale_each_axis_needs_a_scaling():
    from cattern.experiment import ExperimentConfig
    with pytest.raises(ValueError, match="augment_scale_each_axis=True draws the two axes' scalings apart"):
        ExperimentConfig(augment_scale_each_axis=True)
    assert ExperimentConfig(augment_scale=0.1, augment_scale_each_axis=True).augmenter(None).scale_each_axis


@pytest.mark.parametrize("kwargs,match", [
    (dict(max_shift=1.5), "max_shift must be a whole number"),
    (dict(max_rotation=-1), "max_rotation must be a finite number >= 0"),
    (dict(max_scale=1.0), "max_scale must be < 1"),
    (dict(max_thickness=-0.1), "max_thickness must be a fraction in"),
    (dict(max_thickness=float("nan")), "max_thickness must be a fraction in"),
    (dict(elastic_sigma=0), "elastic_sigma must be > 0"),
    (dict(max_scale=0.1, scale_each_axis="yes"), "scale_each_axis must be True or False"),
    (dict(offset=np.zeros(10)), r"offset must have shape \(784,\)"),
])
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Augmenter(**kwargs)


def test_wrong_row_width_is_refused():
    with pytest.raises(ValueError, match="X has 100 features per row"):
        Augmenter()(np.zeros((2, 100), np.float32), np.random.default_rng(0))


def test_gaussian_matrix_matches_scipy_constant_mode():
    from scipy.ndimage import gaussian_filter

    from cattern.augment import gaussian_matrix
    rng = np.random.default_rng(0)
    image = rng.random((28, 28))
    G = gaussian_matrix(28, 4.0)
    np.testing.assert_allclose(G @ image @ G.T, gaussian_filter(image, 4.0, mode="constant"), atol=1e-12)


@pytest.mark.parametrize("sigma", [4.0, 6.0])
def test_elastic_basis_has_the_filtered_uniform_fields_covariance(sigma):
    from cattern.augment import elastic_basis, gaussian_matrix
    # Simard's field G U G.T, U uniform in [-1, 1] (variance 1/3), has covariance
    # (G G.T kron G G.T) / 3 over the flattened pixels; z @ B, z standard normal, has B.T @ B.
    G = gaussian_matrix(28, sigma)
    target = np.kron(G @ G.T, G @ G.T) / 3
    B = elastic_basis((28, 28), sigma).astype(np.float64)
    assert B.shape[0] < 50  # a few dozen fields, not 784
    assert np.linalg.norm(B.T @ B - target) < 1e-3 * np.linalg.norm(target)


def test_elastic_fields_match_filtered_uniform_noise_in_spread():
    from cattern.augment import elastic_displacement, gaussian_matrix
    rng = np.random.default_rng(0)
    ddy, ddx = elastic_displacement(rng, 4000, (28, 28), 34.0, 4.0)
    assert ddy.shape == ddx.shape == (4000, 28, 28) and ddy.dtype == np.float32
    G = gaussian_matrix(28, 4.0)
    uniform = G @ rng.uniform(-1, 1, (4000, 28, 28)) @ (34.0 * G.T)  # Simard's recipe, as written
    np.testing.assert_allclose(ddy.std(axis=0), uniform.std(axis=0), rtol=0.06)
    np.testing.assert_allclose(ddx.std(axis=0), uniform.std(axis=0), rtol=0.06)
    assert abs(ddy.mean()) < 0.02 and abs(np.corrcoef(ddy[:, 14, 14], ddx[:, 14, 14])[0, 1]) < 0.05
