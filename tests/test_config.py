import pytest

from keras_rawaudio.config import ModelConfig, Stage
from keras_rawaudio.presets import PRESETS, preset_config


def test_presets_are_configs_that_round_trip_through_json():
    for name in PRESETS:
        config = preset_config(name, num_classes=7)
        assert ModelConfig.from_dict(config.to_dict()) == config
        assert (
            ModelConfig.from_dict(__import__("json").loads(config.to_json())) == config
        )  # lists back to tuples


def test_derived_sizes():
    cnn = preset_config("edge", num_classes=2, frontend="cnn")
    assert cnn.hop_samples == 4 * 2 * 4 * 5 == 160  # 10 ms at 16 kHz
    assert cnn.frequency_bands == 64
    assert cnn.replace(frontend_stages=(Stage(8, 3, 2, 2),)).hop_samples == 8
    gabor = preset_config("edge", num_classes=2)
    assert (gabor.frontend, gabor.hop_samples, gabor.frequency_bands) == ("gabor", 160, 64)
    assert (
        preset_config("paper", num_classes=2).frontend
        == preset_config("tiny", num_classes=2).frontend
        == "cnn"
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"num_classes": 0}, "num_classes must be >= 1"),
        ({"num_heads": 5}, r"num_heads must be in \[1, 4\]"),
        ({"input_samples": 8000}, "input_samples=8000 is shorter than min_samples=16000"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 0.95\], got 1.0"),
        (
            {"level_frame_ms": 0.5},
            r"level_frame_ms must be 0 \(the whole window\) or in \[1, 1000\] \(the shortest "
            r"input\), got 0.5",
        ),
        ({"level_frame_ms": 1500.0}, r"level_frame_ms must be in \[0, 1000\], got 1500.0"),
        (
            {"mel_min_hz": 200.0, "mel_max_hz": 100.0},
            r"mel_min_hz < mel_max_hz <= 8000 \(half the sample rate\), got 200-100",
        ),
        ({"mel_max_hz": 11025.0}, r"the mel range must satisfy .* got 50-11025 Hz"),
        (
            {"gabor_learning_rate_scale": -0.1},
            r"gabor_learning_rate_scale must be in \[0, 1\], got -0.1",
        ),
        ({"filter_augment_db": -1.0}, "filter_augment_db must be >= 0, got -1"),
        (
            {"filter_augment_db": 6.0, "frontend_compression": "pcen"},
            "filter_augment_db adds gains in log units: it "
            "needs frontend_compression='log', got 'pcen'",
        ),
    ],
)
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


def test_level_normalisation_sets_the_loudest_50_ms_and_0_means_the_whole_window():
    config = preset_config("edge", num_classes=3)
    assert (config.level_frame_ms, config.level_frame_samples) == (50.0, 800)
    assert config.replace(level_frame_ms=0).level_frame_samples is None


@pytest.mark.parametrize("saved_value", ["absent", None])
def test_a_config_saved_before_0_3_10_keeps_its_whole_window_level_normalisation(saved_value):
    saved = preset_config("edge", num_classes=3).to_dict()
    if saved_value == "absent":  # as keras_rawaudio 0.3.8 wrote it
        del saved["level_frame_ms"]
    else:  # as 0.3.9 wrote it
        saved["level_frame_ms"] = saved_value
    assert ModelConfig.from_dict(saved) == preset_config("edge", num_classes=3, level_frame_ms=0)


def test_a_config_saved_before_0_3_13_keeps_learning_its_gabor_filters_at_the_full_rate():
    saved = preset_config("edge", num_classes=3).to_dict()
    del saved["gabor_learning_rate_scale"]  # as keras_rawaudio 0.3.12 wrote it
    assert ModelConfig.from_dict(saved) == preset_config(
        "edge", num_classes=3, gabor_learning_rate_scale=1.0
    )


def test_separable_stages_round_trip_and_a_config_saved_before_them_has_full_convolutions():
    stages = (Stage(16, 3, (2, 2), 2, separable=True), Stage(32, 3, (2, 2)))
    config = preset_config("edge", num_classes=3, resnet_stages=stages)
    assert ModelConfig.from_dict(__import__("json").loads(config.to_json())) == config
    saved = preset_config("edge", num_classes=3).to_dict()
    for stage in saved["resnet_stages"] + saved["frontend_stages"]:
        del stage["separable"]  # as keras_rawaudio 0.3.17 wrote it
    assert ModelConfig.from_dict(saved) == preset_config("edge", num_classes=3)
