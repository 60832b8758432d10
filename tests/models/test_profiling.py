import pytest

from keras_rawaudio import LogMelClassifier, RawWaveformClassifier, macs_per_second, model_summary
from keras_rawaudio.config import Stage


@pytest.mark.parametrize("cls", [RawWaveformClassifier, LogMelClassifier])
def test_presets_within_budgets(cls):
    edge = cls.from_preset("edge", num_classes=10)
    assert edge.count_params() <= 1_000_000
    assert macs_per_second(edge) <= 75e6
    paper = cls.from_preset("paper", num_classes=527)
    assert paper.count_params() > 5 * edge.count_params()
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        cls.from_preset("huge", num_classes=2)


def test_macs_count_convolutions_exactly(tiny_config):
    # Only the stem kernel differs: the difference is frames × filters × extra taps.
    wide = macs_per_second(RawWaveformClassifier(tiny_config.replace(stem_kernel=7)))
    narrow = macs_per_second(RawWaveformClassifier(tiny_config.replace(stem_kernel=3)))
    assert wide - narrow == 16000 // 4 * 16 * (7 - 3)


def test_summary_counts_parameters_and_a_fixed_input_is_measured_at_its_length(tiny_config):
    model = RawWaveformClassifier(tiny_config)
    summary = model_summary(model)
    assert summary == {
        "parameters": model.count_params(),
        "macs_per_second": macs_per_second(model),
    }
    fixed = RawWaveformClassifier(tiny_config.replace(input_samples=32000))
    assert macs_per_second(fixed) == pytest.approx(
        summary["macs_per_second"], rel=0.02
    )  # per second, either way


def test_macs_count_depthwise_separable_convolutions_exactly(tiny_config):
    # The tiny image is 16 × 100; its first ResNet stage (8 filters, stride 2) works on 8 × 50
    # positions, with 8 channels in and out. Made separable, each of its two 3×3 convolutions
    # (8 · 8 · 9 MACs a position) becomes a depthwise one (8 · 9) and a 1×1 one (8 · 8).
    full = macs_per_second(RawWaveformClassifier(tiny_config))
    stages = (Stage(8, 3, (2, 2), separable=True),) + tiny_config.resnet_stages[1:]
    separable = macs_per_second(RawWaveformClassifier(tiny_config.replace(resnet_stages=stages)))
    assert full - separable == 8 * 50 * 2 * (8 * 8 * 9 - (8 * 9 + 8 * 8))
