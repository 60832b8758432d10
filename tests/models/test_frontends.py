"""The front-end registry: a new front-end is one module and one line of `config.FRONTENDS`."""

import sys

import numpy as np
import pytest

from keras_rawaudio import config
from keras_rawaudio.errors import ConfigError

# A whole new front-end, as a user would write it: a strided Conv1D filterbank, rectified.
NEW_FRONTEND = """
import numpy as np
from keras import layers

from keras_rawaudio.models.frontends import Frontend

def build(waveform, config):
    x = layers.Reshape((-1, 1), name="frontend_channel")(waveform)
    x = layers.Conv1D(config.mel_bins, config.window_samples, strides=config.hop_samples,
                      padding="same", use_bias=False, name="frontend_conv")(x)
    return layers.ReLU(name="frontend_relu")(x)

def filter_taps(model):
    return np.asarray(model.get_layer("frontend_conv").kernel)[:, 0, :]

FRONTEND = Frontend(build=build, output_layer=lambda config: "frontend_relu",
                    filter_taps=filter_taps, filters_are_channels=True,
                    filter_title=lambda config: "convolution filters",
                    compression_gain=10.0, float_in_int8=False)
"""


@pytest.fixture
def new_frontend(tmp_path, monkeypatch):
    (tmp_path / "my_frontend.py").write_text(NEW_FRONTEND)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(config.FRONTENDS, "conv", "my_frontend")  # the one registry line
    yield "conv"
    sys.modules.pop("my_frontend", None)


def test_a_new_frontend_is_one_module_and_one_registry_line(new_frontend):
    from keras_rawaudio import RawWaveformClassifier
    from keras_rawaudio.explain import filter_responses, sweep_response
    from keras_rawaudio.export.quantize import float_layers
    from keras_rawaudio.train.pretraining import frontend_model

    model = RawWaveformClassifier.from_preset(
        "tiny", num_classes=3, frontend=new_frontend, mel_bins=16
    )
    waveforms = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 16000)).astype("float32")
    assert model.predict(waveforms, verbose=0).shape == (2, 3)
    assert model.get_layer("frontend_compression").initial_gain == 10.0  # the Frontend's gain
    assert frontend_model(model)(waveforms).shape == (2, 100, 16)  # pretraining finds its image
    frequencies, responses = filter_responses(model)  # explain reads its filters
    assert responses.shape == (16, len(frequencies)) and np.allclose(responses.max(axis=1), 1.0)
    assert sweep_response(model)[1].shape[0] == 16
    assert float_layers(model) == ()  # its int8 file is full-integer, as its Frontend says


def test_an_unregistered_frontend_is_refused_by_name():
    with pytest.raises(ConfigError, match="frontend must be one of cnn, gabor, got 'fft'"):
        config.ModelConfig(num_classes=2, frontend="fft")
