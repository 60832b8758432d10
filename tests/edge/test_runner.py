import numpy as np
import pytest

from keras_rawaudio.edge import EdgeClassifier, EdgeModelError


def test_float_and_int8_files_score_windows(exported):
    out, report, _ = exported
    windows = np.random.default_rng(0).uniform(-0.3, 0.3, (3, 16000)).astype(np.float32)
    float32, int8 = (
        EdgeClassifier(out / "model_float32.tflite"),
        EdgeClassifier(out / "model_int8.tflite"),
    )
    assert (float32.window_samples, float32.num_classes) == (16000, 5)
    float_scores, int8_scores = float32.predict(windows), int8.predict(windows)
    assert float_scores.shape == int8_scores.shape == (3, 5)
    np.testing.assert_allclose(
        int8_scores, float_scores, atol=0.1
    )  # int8 scale and zero point applied
    np.testing.assert_array_equal(
        float32.predict(windows[1]), float_scores[1:2]
    )  # one window, any shape
    assert float32.float_ops() and not int8.float_ops(report["int8"]["float_layers"])
    assert "QUANTIZE" in int8.ops() and "QUANTIZE" not in float32.ops()


def test_files_that_are_not_classifiers_are_refused(tmp_path):
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(EdgeModelError, match="is not a loadable .tflite file"):
        EdgeClassifier(tmp_path / "junk.tflite")


def test_converted_tensor_names_are_matched_to_their_keras_layers():
    from keras_rawaudio.edge import in_layers

    fused = (
        "raw_waveform_classifier_1/frontend_compression_1/Relu;"
        "raw_waveform_classifier_1/frontend_gabor_1/add"
    )
    assert in_layers(fused, ("frontend_gabor",)) and in_layers(fused, ("frontend_compression",))
    assert in_layers("model/level_normalization/Rsqrt", ("level_normalization",))
    assert not in_layers(
        "model/frontend_stem_conv_1/convolution", ("frontend_stem",)
    )  # another layer's prefix
    assert not in_layers("model/resnet_stem_conv_1/convolution", ())
