import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rawaudio import LogMelClassifier, RawWaveformClassifier
from keras_rawaudio.models.classifiers import PREDICT_BATCH, keras_predict
from keras_rawaudio.train import TrainingError

MODELS = [RawWaveformClassifier, LogMelClassifier]


def noise(batch, samples, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (batch, samples)).astype("float32")


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("samples", [16000, 24001, 48000])
def test_clip_probabilities_for_any_length(cls, samples, tiny_config):
    model = cls(tiny_config)
    probabilities = model.predict(noise(2, samples), verbose=0)
    assert probabilities.shape == (2, 3)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


@pytest.mark.parametrize("cls", MODELS)
def test_levels_and_attention(cls, tiny_config):
    model = cls(tiny_config.replace(num_heads=2))
    outputs = model.multi_output_model()(noise(2, 32000))
    assert len(outputs["levels"]) == 2
    np.testing.assert_allclose(np.mean(outputs["levels"], axis=0), outputs["clipwise"], atol=1e-6)
    for framewise, attention in zip(outputs["framewise"], outputs["attention"]):
        assert framewise.shape == attention.shape and framewise.shape[-1] == 3
        np.testing.assert_allclose(np.sum(attention, axis=1), 1.0, atol=1e-5)
        assert np.all((framewise.numpy() >= 0) & (framewise.numpy() <= 1))
    # A finer level has at least as many frames as a coarser one.
    assert outputs["framewise"][0].shape[1] > outputs["framewise"][1].shape[1]


def test_raw_frontend_hop_gives_10ms_frames(tiny_config):
    model = RawWaveformClassifier(tiny_config)
    frames = keras.Model(model.input, model.get_layer("to_image").output)(noise(1, 16000))
    assert tiny_config.hop_samples == 160
    assert frames.shape == (1, 16, 100, 1)


@pytest.mark.parametrize("cls", MODELS)
def test_keras_file_round_trip(cls, tiny_config, tmp_path):
    model = cls(tiny_config)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls and loaded.config == model.config
    x = noise(2, 20000)
    np.testing.assert_array_equal(model(x), loaded(x))


def test_the_gabor_frontend_builds_an_image_of_its_bands_and_round_trips(tiny_config, tmp_path):
    model = RawWaveformClassifier(
        tiny_config.replace(frontend="gabor", gabor_learning_rate_scale=0.1)
    )
    assert [k.shape for k in model.get_layer("frontend_gabor").kernels()] == [(400, 1, 16)] * 2
    image = keras.Model(model.input, model.get_layer("to_image").output)(noise(1, 16000))
    assert image.shape == (1, 16, 100, 1)
    model.save(tmp_path / "gabor.keras")
    loaded = keras.saving.load_model(tmp_path / "gabor.keras")
    x = noise(2, 20000)
    np.testing.assert_array_equal(model(x), loaded(x))


def test_training_a_small_stem_is_refused_while_onednn_is_on(tiny_config, monkeypatch):
    from keras_rawaudio.train.loop import check_onednn

    config = tiny_config.replace(stem_filters=8)  # a valid config, whatever the shell
    with pytest.raises(TrainingError, match="fewer than 16 filters"):
        check_onednn(config)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    check_onednn(config)


def test_training_step_reaches_the_stem(tiny_config):
    model = RawWaveformClassifier(tiny_config)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    stem = model.get_layer("frontend_stem_conv")
    before = stem.kernel.numpy().copy()
    labels = np.eye(3, dtype="float32")[[0, 1]]
    model.train_on_batch(noise(2, 16000), labels)
    assert np.abs(stem.kernel.numpy() - before).max() > 1e-4


def test_fit_traces_its_training_step_once(tiny_config):
    """`compile` builds the optimizer, so `fit` does not create its slots inside the traced step
    and then trace the step again (seconds of tracing per `fit`, whatever its number of steps)."""
    model = RawWaveformClassifier(tiny_config)
    model.compile()
    traces, step = [], model.train_step
    model.train_step = lambda data: traces.append(data) or step(data)
    model.fit(
        noise(4, 16000), np.eye(3, dtype="float32")[[0, 1, 2, 0]], batch_size=2, epochs=2, verbose=0
    )
    assert len(traces) == 1 and model.optimizer.iterations.numpy() == 4


@pytest.mark.parametrize(
    "waveform, message",
    [
        (np.zeros((1, 2, 16000), "float32"), "shape"),
        (np.zeros((1, 8000), "float32"), "fewer than the minimum of 16000"),
        (np.zeros((1, 16000), "int16"), "floating point"),
        (np.full((1, 16000), np.nan, "float32"), "16000 NaN or Inf"),
        (np.float32(0.5), "got shape"),
        (np.zeros((0, 16000), "float32"), "an empty batch"),
        ("tensor", "16000 NaN or Inf"),  # a tf.Tensor is checked too
    ],
)
def test_bad_waveforms_raise_clear_errors(waveform, message, tiny_config):
    if isinstance(waveform, str):
        waveform = tf.fill((1, 16000), float("nan"))
    model = RawWaveformClassifier(tiny_config)
    with pytest.raises(ValueError, match=message):
        model.predict(waveform, verbose=0)


def test_fixed_input_length(tiny_config):
    model = RawWaveformClassifier(tiny_config.replace(input_samples=16000))
    assert model.input_shape == (None, 16000)
    with pytest.raises(ValueError, match="exactly 16000 samples"):
        model.predict(noise(1, 20000), verbose=0)


def test_a_level_normalised_model_does_not_hear_the_gain(tiny_config, tmp_path):
    model = RawWaveformClassifier(
        tiny_config.replace(level_normalization=True, level_floor_dbfs=-100.0)
    )
    x = noise(2, 16000) * 0.1
    np.testing.assert_allclose(
        model.predict(4 * x, verbose=0), model.predict(x, verbose=0), atol=1e-5
    )
    # Below the floor a window is not raised: a faint hiss stays fainter than a sound.
    floored = RawWaveformClassifier(tiny_config.replace(level_floor_dbfs=-40.0))
    level = floored.get_layer("level_normalization")
    faint, loud = (np.asarray(level(g * x)).std() for g in (1e-4, 1.0))
    assert faint < 0.05 * loud
    model.save(tmp_path / "level.keras")
    assert keras.saving.load_model(tmp_path / "level.keras").config.level_normalization


@pytest.mark.parametrize("compression", ["log", "pcen"])
def test_compression_and_band_normalization_build_save_and_load(compression, tiny_config, tmp_path):
    config = tiny_config.replace(frontend_compression=compression, band_normalization=True)
    model = RawWaveformClassifier(config)
    names = [layer.name for layer in model.layers]
    assert (
        names.index("frontend_compression")
        < names.index("band_normalization")
        < names.index("to_image")
    )
    model.save(tmp_path / "compressed.keras")
    loaded = keras.saving.load_model(tmp_path / "compressed.keras")
    x = np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="frontend_compression must be one of none, log, pcen"):
        tiny_config.replace(frontend_compression="root")


def test_pcen_model_converts_to_builtin_tflite_that_scores_as_keras(tiny_config, tmp_path):
    """PCEN's smoother is a depthwise convolution computed from one weight per band: the file
    must hold its kernel as a constant (folded), and score as the Keras model does."""
    from ai_edge_litert import schema_py_generated as schema

    from keras_rawaudio.edge import EdgeClassifier
    from keras_rawaudio.export import convert

    model = RawWaveformClassifier(
        tiny_config.replace(frontend_compression="pcen", input_samples=16000)
    )
    assert (
        model.get_layer("frontend_compression").context_frames == 16000 // model.config.hop_samples
    )
    flatbuffer = convert(model, "float32")
    (tmp_path / "pcen.tflite").write_bytes(flatbuffer)
    x = np.random.default_rng(1).normal(0, 0.1, (3, 16000)).astype("float32")
    scores = EdgeClassifier(tmp_path / "pcen.tflite").predict(x)
    np.testing.assert_allclose(scores, model.predict(x, verbose=0), atol=1e-5)
    parsed = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    subgraph, codes = parsed.subgraphs[0], parsed.operatorCodes
    produced = {o for op in subgraph.operators for o in op.outputs}
    smoothers = [
        op
        for op in subgraph.operators
        if codes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.DEPTHWISE_CONV_2D
    ]
    assert smoothers and all(op.inputs[1] not in produced for op in smoothers)


def decayed_by_one_step(model) -> dict:
    """{variable name: the factors by which one AdamW step with zero gradients scaled it}."""
    variables = model.trainable_variables
    for v in variables:
        v.assign(np.full(v.shape, 0.5, "float32"))
    model.optimizer.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in variables])
    scales = {}
    for v in variables:
        scales.setdefault(v.name, set()).update(
            np.round(v.numpy().astype("float64").ravel() / 0.5, 6).tolist()
        )
    return scales


def test_weight_decay_shrinks_only_the_kernels_also_after_loading(tiny_config, tmp_path):
    model = RawWaveformClassifier(
        tiny_config.replace(frontend="gabor", gabor_learning_rate_scale=1.0)
    )
    model.compile(learning_rate=0.1, weight_decay=0.5)
    model.save(tmp_path / "compiled.keras")
    # Each step shrinks a kernel by learning rate x weight decay = 5 %; the Gabor centres and
    # widths, the compression gains, biases and BatchNorm parameters keep their values.
    expected = {
        "kernel": {0.95},
        "centre": {1.0},
        "log_width": {1.0},
        "log_gain": {1.0},
        "gamma": {1.0},
        "beta": {1.0},
        "bias": {1.0},
    }
    assert decayed_by_one_step(model) == expected
    assert decayed_by_one_step(keras.saving.load_model(tmp_path / "compiled.keras")) == expected


def test_an_optimizer_given_by_name_also_decays_the_kernels_only(tiny_config):
    model = RawWaveformClassifier(
        tiny_config.replace(frontend="gabor", gabor_learning_rate_scale=1.0)
    )
    model.compile(optimizer="adamw")  # Keras' AdamW: learning rate 1e-3, weight decay 0.004
    scales = decayed_by_one_step(model)
    assert scales["kernel"] == {round(1 - 1e-3 * 0.004, 6)} and scales["centre"] == scales[
        "gamma"
    ] == {1.0}


def test_keras_predict_scores_windows_in_batches_as_predict_does(small_config):
    model = RawWaveformClassifier(small_config)
    windows = (
        np.random.default_rng(0).normal(0, 0.1, (PREDICT_BATCH + 44, 16000)).astype(np.float32)
    )
    scores = keras_predict(model)(windows)  # a full batch, then a partial one
    assert scores.shape == (len(windows), 5)
    np.testing.assert_allclose(scores, model.predict(windows, batch_size=64, verbose=0), atol=1e-5)
