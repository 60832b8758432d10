import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rawaudio.config import MEL_MAX_HZ, MEL_MIN_HZ
from keras_rawaudio.dsp import mel_weight_matrix
from keras_rawaudio.models.layers import AttentionPooling, LogMelSpectrogram


def test_attention_pooling_matches_definition():
    layer = AttentionPooling(num_classes=2, attention_clip=3.0)
    frames = np.random.default_rng(0).normal(size=(2, 7, 5)).astype("float32")
    clipwise, framewise, attention = (t.numpy() for t in layer(frames))
    weights = lambda dense: frames @ dense.kernel.numpy() + dense.bias.numpy()  # noqa: E731
    cla = 1 / (1 + np.exp(-weights(layer.classifier)))
    logits = np.clip(weights(layer.attention), -3.0, 3.0)
    att = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(framewise, cla, atol=1e-6)
    np.testing.assert_allclose(attention, att, atol=1e-6)
    np.testing.assert_allclose(clipwise, (att * cla).sum(axis=1), atol=1e-6)


def test_mel_matrix_matches_tf_signal():
    ours = mel_weight_matrix(64, 257, 16000, 125.0, 7500.0)
    theirs = tf.signal.linear_to_mel_weight_matrix(64, 257, 16000, 125.0, 7500.0).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_log_mel_matches_numpy_reference():
    rng = np.random.default_rng(1)
    t = np.arange(16000 + 123) / 16000
    waveform = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.normal(size=t.size)).astype(
        "float32"
    )
    layer = LogMelSpectrogram(mel_bins=64)
    ours = layer(waveform[None])[0].numpy()

    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic Hann
    starts = np.arange(0, waveform.size - 400 + 1, 160)
    frames = np.stack([waveform[s : s + 400] for s in starts]).astype(np.float64) * window
    magnitude = np.abs(np.fft.rfft(frames, n=512))
    reference = np.log(
        magnitude @ mel_weight_matrix(64, 257, 16000, MEL_MIN_HZ, MEL_MAX_HZ) + 1e-3
    )  # the defaults

    assert ours.shape == reference.shape == (1 + (16123 - 400) // 160, 64)
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    assert layer.compute_output_shape((None, 16123)) == (None, ours.shape[0], 64)


def test_level_normalization_removes_the_gain_and_keeps_silence_quiet():
    from keras_rawaudio.models.layers import LevelNormalization

    layer = LevelNormalization(target_rms=0.1, floor=1e-3)
    x = np.random.default_rng(2).normal(0, 0.05, (2, 16000)).astype("float32")
    y = layer(x).numpy()
    np.testing.assert_allclose(np.sqrt((y**2).mean(axis=1)), 0.1, rtol=1e-3)
    np.testing.assert_allclose(layer(4 * x).numpy(), y, rtol=1e-3)  # +12 dB in, the same out
    assert np.abs(layer(np.zeros((1, 100), "float32")).numpy()).max() == 0.0


def test_level_normalization_by_the_loudest_frame_sets_the_level_of_any_sound():
    import tensorflow as tf

    from keras_rawaudio.models.layers import LevelNormalization
    from keras_rawaudio.models.layers.level import loudest_frame_power

    layer = LevelNormalization(target_rms=0.1, floor=1e-3, frame_samples=800)
    t = np.arange(16000) / 16000
    short, long = np.zeros(16000, "float32"), np.zeros(16000, "float32")
    short[2000:2800] = 0.5 * np.sin(2 * np.pi * 440 * t[:800])  # 50 ms of a tone
    long[2000:14000] = 0.05 * np.sin(2 * np.pi * 440 * t[:12000])  # 750 ms, 20 dB quieter
    y = layer(np.stack([short, long])).numpy()
    # Both sounds come out at one level, measured as mixing measures it; a whole-window RMS
    # would have set the short one 11.8 dB louder than the long one.
    np.testing.assert_allclose(
        np.sqrt(loudest_frame_power(tf.constant(y), 800).numpy()[:, 0]), 0.1, rtol=2e-3
    )
    np.testing.assert_allclose(layer(8 * np.stack([short, long])).numpy(), y, rtol=1e-3, atol=1e-6)


def test_log_compression_is_log1p_of_the_gained_frames_and_learns_its_gain():
    from keras_rawaudio.models.layers import LogCompression

    layer = LogCompression(initial_gain=10.0)
    frames = np.abs(np.random.default_rng(3).normal(size=(2, 5, 4))).astype("float32")
    np.testing.assert_allclose(layer(frames).numpy(), np.log1p(10.0 * frames), rtol=1e-5)
    assert layer(-frames).numpy().max() == 0.0  # negative inputs (none after a ReLU) are cut at 0
    # Far above 1/g, a gain of the input only shifts each band: log(g·c·x) = log(g·x) + log(c).
    loud = 100.0 * frames + 100.0  # g·x >= 1000
    np.testing.assert_allclose(
        layer(4 * loud).numpy() - layer(loud).numpy(), np.log(4.0), atol=1e-3
    )
    assert [w.name for w in layer.trainable_weights] == ["log_gain"]


def pcen_reference(frames, context, s=0.04, alpha=0.96, delta=2.0, root=2.0, epsilon=1e-6):
    """PCEN written as its definition: each frame's weighted mean of the frames before it."""
    out = np.zeros_like(frames)
    for t in range(frames.shape[1]):
        lags = np.arange(min(t + 1, context))
        weights = s * (1 - s) ** lags
        history = (weights[:, None] * frames[:, t - lags, :]).sum(axis=1) / weights.sum()
        out[:, t] = (frames[:, t] / (epsilon + history) ** alpha + delta) ** (1 / root) - delta ** (
            1 / root
        )
    return out


def test_pcen_matches_its_definition_and_normalises_the_gain_of_each_band():
    from keras_rawaudio.models.layers import PerChannelEnergyNormalization

    layer = PerChannelEnergyNormalization(context_frames=5)
    frames = np.abs(np.random.default_rng(4).normal(size=(2, 12, 3))).astype("float32")
    np.testing.assert_allclose(
        layer(frames).numpy(), pcen_reference(frames, 5), rtol=1e-5, atol=1e-6
    )
    assert sorted(w.name for w in layer.trainable_weights) == [
        "alpha",
        "delta",
        "root",
        "smoothing",
    ]
    # Steady bands 80 dB apart end within 0.1 of each other (a log would put them 9.2 apart);
    # with alpha = 1 a gain of one band cancels.
    steady = np.ones((1, 12, 3), "float32") * np.array([1e-4, 1e-2, 1.0], "float32")
    assert np.ptp(layer(steady).numpy()[0, -1]) < 0.1
    layer.alpha.assign(np.ones(3, "float32"))
    gained = frames * np.array([1.0, 100.0, 0.01], "float32")
    np.testing.assert_allclose(layer(gained).numpy(), layer(frames).numpy(), rtol=1e-3, atol=1e-4)


def test_gabor_filters_start_as_a_mel_spaced_power_spectrogram():
    from keras_rawaudio.dsp import gabor_init
    from keras_rawaudio.models.layers import GaborFilterbank
    from keras_rawaudio.models.layers.gabor import GABOR_GAIN

    layer = GaborFilterbank(32, window_samples=400, hop_samples=160)
    centre, std = gabor_init(32, 400, 16000, MEL_MIN_HZ, MEL_MAX_HZ)  # the default range
    t = np.arange(16000) / 16000
    for band in (3, 16, 30):
        amplitude = 0.3
        sine = (amplitude * np.cos(2 * np.pi * centre[band] * t + 0.7)).astype("float32")
        power = layer(sine[None]).numpy()[0]
        assert power.shape == (100, 32)
        inner = power[5:-5]  # frames whose window lies inside the signal
        assert np.all(inner.argmax(axis=1) == band)
        np.testing.assert_allclose(np.sqrt(inner[:, band]), GABOR_GAIN * amplitude / 2, rtol=0.01)
    # The kernel is the NumPy definition: Gaussian envelopes summing to 1 times complex
    # exponentials.
    n = np.arange(400)[:, None] - 199.5
    envelope = np.exp(-0.5 * (n / std) ** 2)
    filters = envelope / envelope.sum(axis=0) * np.exp(2j * np.pi * centre / 16000 * n)
    real, imag = (kernel.numpy()[:, 0, :] / GABOR_GAIN for kernel in layer.kernels())
    np.testing.assert_allclose(real, filters.real, atol=1e-6)
    np.testing.assert_allclose(imag, filters.imag, atol=1e-6)
    # Where the window allows it, a band's magnitude response is as wide at half maximum as its mel
    # triangle.
    low_mel, high_mel = 1127 * np.log1p(np.array([MEL_MIN_HZ, MEL_MAX_HZ]) / 700)
    edges = 700 * np.expm1(np.linspace(low_mel, high_mel, 34) / 1127)
    response = np.abs(np.fft.fft(filters[:, 30], 16000 * 4)[: 8000 * 4])  # 0.25 Hz bins
    half_max = np.flatnonzero(response >= response.max() / 2) / 4
    np.testing.assert_allclose(half_max[-1] - half_max[0], (edges[32] - edges[30]) / 2, rtol=0.02)
    assert std.max() == 400 / 6  # the low bands are as narrow as the window allows


def test_gabor_filterbank_learns_its_centres_and_widths():
    from keras_rawaudio.models.layers import GaborFilterbank

    layer = GaborFilterbank(8, window_samples=400, hop_samples=160)
    x = np.random.default_rng(0).normal(size=(2, 3200)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(layer(x))
    gradients = tape.gradient(loss, layer.trainable_weights)
    assert [w.name for w in layer.trainable_weights] == ["centre", "log_width"]
    assert all(np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0) for g in gradients)


def test_a_gabor_learning_rate_scale_moves_the_filters_that_much_slower_from_the_same_start():
    from keras_rawaudio.models.layers import GaborFilterbank

    x = np.random.default_rng(0).normal(size=(2, 3200)).astype("float32")
    moved, start = {}, None
    for scale in (1.0, 0.1, 0.0):
        layer = GaborFilterbank(8, window_samples=400, hop_samples=160, learning_rate_scale=scale)
        layer.build(x.shape)
        if scale:
            assert [w.name for w in layer.trainable_weights] == ["centre", "log_width"]
        else:
            assert layer.trainable_weights == [] and [
                w.name for w in layer.non_trainable_weights
            ] == ["centre", "log_width"]
        before = [np.asarray(v) for v in layer.filters()]
        optimizer = keras.optimizers.Adam(1e-3)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(layer(x))
        if layer.trainable_weights:
            optimizer.apply_gradients(
                zip(tape.gradient(loss, layer.trainable_weights), layer.trainable_weights)
            )
        moved[scale] = [np.asarray(v) - b for v, b in zip(layer.filters(), before)]
        start = start or before
        for first, now in zip(start, before):
            np.testing.assert_allclose(
                now, first, rtol=1e-5
            )  # every scale starts from the same filters
        assert GaborFilterbank.from_config(layer.get_config()).learning_rate_scale == scale
    # Adam's first step moves each weight by the learning rate: the filters move 0.1 times as far,
    # or not at all.
    for full, slow, fixed in zip(moved[1.0], moved[0.1], moved[0.0]):
        assert np.all(np.abs(full) > 0)
        np.testing.assert_allclose(slow, 0.1 * full, rtol=0.02)
        assert np.all(fixed == 0)
    with pytest.raises(ValueError, match=r"learning_rate_scale must be in \[0, 1\], got 1.5"):
        GaborFilterbank(8, learning_rate_scale=1.5)


def test_time_frequency_masking_zeroes_one_run_of_bands_and_of_frames_in_training_only():
    from keras_rawaudio.models.layers import TimeFrequencyMasking

    keras.utils.set_random_seed(0)
    frames = np.random.default_rng(0).normal(1.0, 0.1, (256, 100, 64)).astype(np.float32)  # never 0
    layer = TimeFrequencyMasking(max_bands=8, max_frames=10)
    np.testing.assert_array_equal(np.asarray(layer(frames, training=False)), frames)
    zero = np.asarray(layer(frames, training=True)) == 0
    band_zero, frame_zero = zero.all(axis=1), zero.all(axis=2)  # (batch, bands), (batch, frames)
    assert np.array_equal(
        zero, band_zero[:, None, :] | frame_zero[:, :, None]
    )  # only whole bands and frames
    for runs, longest, size in ((band_zero, 8, 64), (frame_zero, 10, 100)):
        widths = runs.sum(axis=1)
        assert (
            widths.max() == longest and widths.min() == 0
        )  # widths uniform in 0..max over 256 examples
        assert 0.3 * longest < widths.mean() < 0.7 * longest
        for row in runs[widths > 0]:  # one run of consecutive positions
            where = np.flatnonzero(row)
            assert where[-1] - where[0] + 1 == where.size and where[-1] < size


def test_filter_augment_adds_a_piecewise_linear_gain_curve_of_bounded_db_in_training_only():
    from keras_rawaudio.models.layers import FilterAugment

    keras.utils.set_random_seed(0)
    frames = np.random.default_rng(0).normal(0.0, 1.0, (512, 20, 17)).astype(np.float32)
    layer = FilterAugment(max_db=6.0, points=5)
    np.testing.assert_array_equal(np.asarray(layer(frames, training=False)), frames)
    curve = (np.asarray(layer(frames, training=True)) - frames) * 10 / np.log(10)  # in dB
    # one gain per band, the same in every frame
    np.testing.assert_allclose(curve, np.broadcast_to(curve[:, :1, :], curve.shape), atol=1e-4)
    curve = curve[:, 0, :]  # (batch, 17 bands): control points at bands 0, 4, 8, 12 and 16
    points = curve[:, ::4]
    assert np.abs(points).max() <= 6.0 and np.abs(points).max() > 5.8 and abs(points.mean()) < 0.3
    assert 0.5 * 12**2 / 12 < points.var() < 1.5 * 12**2 / 12  # uniform in ±6 dB: variance 12² / 12
    between = np.stack(
        [points[:, :-1] + (points[:, 1:] - points[:, :-1]) * k / 4 for k in range(4)], -1
    )
    np.testing.assert_allclose(
        curve[:, :-1], between.reshape(512, 16), atol=1e-4
    )  # linear in between


def _layer_cases():
    """(layer class, init kwargs, input batch) of every registered layer."""
    from keras_rawaudio.models import layers

    rng = np.random.default_rng(0)
    waveform = rng.uniform(-0.5, 0.5, (2, 4000)).astype("float32")
    frames = rng.uniform(0.0, 1.0, (2, 20, 8)).astype("float32")
    cases = {
        layers.AttentionPooling: ({"num_classes": 3, "attention_clip": 5.0}, frames),
        layers.FilterAugment: ({"max_db": 6.0, "points": 3}, frames),
        layers.TimeFrequencyMasking: ({"max_bands": 2, "max_frames": 3}, frames),
        layers.LogCompression: ({"initial_gain": 10.0}, frames),
        layers.PerChannelEnergyNormalization: ({"context_frames": 10}, frames),
        layers.GaborFilterbank: ({"bands": 8, "window_samples": 400, "hop_samples": 160}, waveform),
        layers.LevelNormalization: ({"frame_samples": 800}, waveform),
        layers.LogMelSpectrogram: ({"mel_bins": 16}, waveform),
    }
    assert set(cases) == set(layers.LAYERS)  # a new layer needs a case here
    return [
        pytest.param(cls, kwargs, data, id=cls.__name__) for cls, (kwargs, data) in cases.items()
    ]


@pytest.mark.parametrize("layer_class, init_kwargs, input_data", _layer_cases())
def test_every_layer_round_trips_saves_and_converts(layer_class, init_kwargs, input_data, tmp_path):
    from layer_testing import run_layer_test

    run_layer_test(layer_class, init_kwargs, input_data, tmp_path)
