import pytest

from keras_rawaudio.config import PRESETS, ModelConfig, Stage, preset_config


def test_presets_are_configs_that_round_trip_through_json():
    for name in PRESETS:
        config = preset_config(name, num_classes=7)
        assert ModelConfig.from_dict(config.to_dict()) == config
        assert ModelConfig.from_dict(__import__("json").loads(config.to_json())) == config  # lists back to tuples


def test_derived_sizes():
    cnn = preset_config("edge", num_classes=2, frontend="cnn")
    assert cnn.hop_samples == 4 * 2 * 4 * 5 == 160  # 10 ms at 16 kHz
    assert cnn.frequency_bands == 64
    assert cnn.replace(frontend_stages=(Stage(8, 3, 2, 2),)).hop_samples == 8
    gabor = preset_config("edge", num_classes=2)
    assert (gabor.frontend, gabor.hop_samples, gabor.frequency_bands) == ("gabor", 160, 64)
    assert preset_config("paper", num_classes=2).frontend == preset_config("tiny", num_classes=2).frontend == "cnn"


@pytest.mark.parametrize("changes, message", [
    ({"num_classes": 0}, "num_classes must be >= 1"),
    ({"num_heads": 5}, r"num_heads must be in \[1, 4\]"),
    ({"input_samples": 8000}, "input_samples=8000 is shorter than min_samples=16000"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ({"level_frame_ms": 0.0}, r"level_frame_ms must be in \(0, 1000\] \(the shortest input\), got 0.0"),
])
def test_impossible_configs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        preset_config("edge", **{"num_classes": 3, **changes})
    with pytest.raises(ValueError, match="unknown ModelConfig fields: \\['depth'\\]"):
        ModelConfig.from_dict({"num_classes": 2, "depth": 3})


def test_the_gabor_frontend_takes_the_log_mel_sizes():
    config = preset_config("edge", num_classes=2, frontend="gabor", mel_bins=40, hop_ms=20.0)
    assert (config.frequency_bands, config.hop_samples, config.window_samples) == (40, 320, 400)
    with pytest.raises(ValueError, match="frontend must be one of cnn, gabor, got 'fft'"):
        config.replace(frontend="fft")


def test_a_config_saved_before_the_frontend_field_is_the_cnn():
    saved = preset_config("edge", num_classes=3, frontend="cnn").to_dict()
    del saved["frontend"]  # as keras_rawaudio 0.2 wrote it
    assert ModelConfig.from_dict(saved) == preset_config("edge", num_classes=3, frontend="cnn")
