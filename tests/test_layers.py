import numpy as np
import tensorflow as tf

from keras_rawaudio.layers import AttentionPooling, LogMelSpectrogram, mel_weight_matrix


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


def test_attention_pooling_config_round_trip():
    layer = AttentionPooling(num_classes=4, attention_clip=5.0, name="pool")
    clone = AttentionPooling.from_config(layer.get_config())
    assert (clone.num_classes, clone.attention_clip, clone.name) == (4, 5.0, "pool")


def test_mel_matrix_matches_tf_signal():
    ours = mel_weight_matrix(64, 257, 16000, 125.0, 7500.0)
    theirs = tf.signal.linear_to_mel_weight_matrix(64, 257, 16000, 125.0, 7500.0).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_log_mel_matches_numpy_reference():
    rng = np.random.default_rng(1)
    t = np.arange(16000 + 123) / 16000
    waveform = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.normal(size=t.size)).astype("float32")
    layer = LogMelSpectrogram(mel_bins=64)
    ours = layer(waveform[None])[0].numpy()

    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic Hann
    starts = np.arange(0, waveform.size - 400 + 1, 160)
    frames = np.stack([waveform[s : s + 400] for s in starts]).astype(np.float64) * window
    magnitude = np.abs(np.fft.rfft(frames, n=512))
    reference = np.log(magnitude @ mel_weight_matrix(64, 257, 16000, 125.0, 7500.0) + 1e-3)

    assert ours.shape == reference.shape == (1 + (16123 - 400) // 160, 64)
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    assert layer.compute_output_shape((None, 16123)) == (None, ours.shape[0], 64)


def test_level_normalization_removes_the_gain_and_keeps_silence_quiet():
    from keras_rawaudio.layers import LevelNormalization

    layer = LevelNormalization(target_rms=0.1, floor=1e-3)
    x = np.random.default_rng(2).normal(0, 0.05, (2, 16000)).astype("float32")
    y = layer(x).numpy()
    np.testing.assert_allclose(np.sqrt((y**2).mean(axis=1)), 0.1, rtol=1e-3)
    np.testing.assert_allclose(layer(4 * x).numpy(), y, rtol=1e-3)  # +12 dB in, the same out
    assert np.abs(layer(np.zeros((1, 100), "float32")).numpy()).max() == 0.0
    assert LevelNormalization.from_config(layer.get_config()).get_config() == layer.get_config()


def test_log_compression_is_log1p_of_the_gained_frames_and_learns_its_gain():
    from keras_rawaudio.layers import LogCompression

    layer = LogCompression(initial_gain=10.0)
    frames = np.abs(np.random.default_rng(3).normal(size=(2, 5, 4))).astype("float32")
    np.testing.assert_allclose(layer(frames).numpy(), np.log1p(10.0 * frames), rtol=1e-5)
    assert layer(-frames).numpy().max() == 0.0  # negative inputs (none after a ReLU) are cut at 0
    # Far above 1/g, a gain of the input only shifts each band: log(g·c·x) = log(g·x) + log(c).
    loud = 100.0 * frames + 100.0  # g·x >= 1000
    np.testing.assert_allclose(layer(4 * loud).numpy() - layer(loud).numpy(), np.log(4.0), atol=1e-3)
    assert [w.name for w in layer.trainable_weights] == ["log_gain"]
    assert LogCompression.from_config(layer.get_config()).get_config() == layer.get_config()
