import json

import keras
import numpy as np
import pytest

from keras_rawaudio import __version__
from keras_rawaudio.edge import EdgeClassifier
from keras_rawaudio.errors import InputError
from keras_rawaudio.evaluate import evaluate
from keras_rawaudio.events import read_rule
from keras_rawaudio.export import ExportError, export, fixed_window_model
from keras_rawaudio.export.quantize import activation_range
from keras_rawaudio.train import best_epoch


def test_one_val_map_in_history_evaluate_and_export_report(
    exported, trained_run, synthetic_records
):
    _, report, _ = exported
    history = json.loads((trained_run / "history.json").read_text())
    evaluated = evaluate(trained_run / "best.keras", synthetic_records, "val", reports=False)["mAP"]
    keras_map = report["keras"]["val_mAP"]
    assert keras_map == pytest.approx(best_epoch(history)["val_mAP"], abs=1e-3)
    assert keras_map == pytest.approx(evaluated, abs=1e-3)
    assert report["files"]["float32"]["val_mAP"] == pytest.approx(keras_map, abs=1e-3)
    assert report["window_samples"] == 16000  # the run's training window
    assert report["scoring"] == {"window": 16000, "hop": 8000, "combine": "loud_max"}


def test_every_mode_converts_runs_and_matches_keras(exported, trained_run):
    out, report, error = exported
    assert {"float32", "float16", "dynamic"} <= set(report["files"]), error
    keras_model = fixed_window_model(keras.saving.load_model(trained_run / "best.keras"), 16000)
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (4, 16000)).astype(np.float32)
    expected = keras_model.predict(x, verbose=0)
    difference = {
        m: np.abs(EdgeClassifier(out / f"model_{m}.tflite").predict(x) - expected).max()
        for m in report["files"]
    }
    assert difference["float32"] < 1e-5
    assert difference["float16"] < 1e-2
    keras_map = report["keras"]["val_mAP"]
    assert abs(report["files"]["dynamic"]["val_mAP"] - keras_map) <= 0.01
    assert out.joinpath("labels.txt").read_text() == (trained_run / "labels.txt").read_text()


def test_int8_is_integer_after_the_float_gabor_front_end_and_keeps_map_within_001_of_keras(
    exported,
):
    out, report, error = exported
    assert error is None, error
    int8, keras_map = report["files"]["int8"], report["keras"]["val_mAP"]
    assert (
        abs(int8["val_mAP"] - keras_map) <= 0.01 and keras_map > 0.8
    )  # a trained model, 60 validation clips
    assert "QUANTIZE" in int8["ops"]
    runner = EdgeClassifier(out / "model_int8.tflite")
    float_layers = report["int8"]["float_layers"]
    assert {
        "frontend_gabor",
        "resnet_stem_conv",
        "head1_attention",
        "head2_attention",
        "clipwise",
    } <= set(float_layers)
    assert runner.float_ops(float_layers) == []  # the ResNet's stages are int8
    # The filters, the log and the attention heads' softmax over time and sigmoid are float32.
    assert {"CONV_2D", "LOG", "SOFTMAX", "LOGISTIC"} <= set(runner.float_ops())
    assert (
        report["int8"]["calibration_percentile"] == 100.0
    )  # min/max ranges after a float front-end
    assert int8["bytes"] < 0.4 * report["files"]["float32"]["bytes"]
    # The waveform is never quantised: no 8-bit floor, no clipping of loud input.
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(out / "model_int8.tflite"))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    waveform = interpreter.get_input_details()[0]["index"]
    consumers = [op for op in interpreter._get_ops_details() if waveform in op["inputs"]]
    assert consumers and all(
        tensors[o]["dtype"] == np.float32 for op in consumers for o in op["outputs"]
    )


def test_int8_pcm16_takes_int16_samples_exactly_and_scores_as_the_int8_file(exported):
    from ai_edge_litert.interpreter import Interpreter

    out, report, error = exported
    assert error is None, error
    assert abs(report["files"]["int8_pcm16"]["val_mAP"] - report["keras"]["val_mAP"]) <= 0.01
    pcm16, int8 = (
        EdgeClassifier(out / "model_int8_pcm16.tflite"),
        EdgeClassifier(out / "model_int8.tflite"),
    )
    assert pcm16.input["dtype"] == np.int16 and pcm16.input["quantization"] == (1 / 32768, 0)
    interpreter = Interpreter(str(out / "model_int8_pcm16.tflite"))
    first = interpreter._get_ops_details()[0]
    assert first["op_name"] == "DEQUANTIZE" and first["inputs"].tolist() == [pcm16.input["index"]]
    samples = (
        np.random.default_rng(4).integers(-32768, 32768, (3, 16000)).astype(np.int16)
    )  # full scale
    samples[0] //= 256  # and a quiet clip, 48 dB down
    scores = pcm16.predict(samples)
    np.testing.assert_array_equal(scores, pcm16.predict(samples / np.float32(32768)))
    np.testing.assert_array_equal(
        scores, int8.predict(samples / np.float32(32768))
    )  # the same body, no clipping
    with pytest.raises(
        InputError, match="takes windows of 16000 samples; got an array of shape \\(2, 8000\\)"
    ):
        pcm16.predict(samples[:2, :8000])


def test_every_convolution_kernel_is_a_constant_so_xnnpack_takes_it(exported):
    """The Gabor kernels are computed from two weights per band; the files must hold them as
    float32 constants (a kernel computed at run time keeps the convolution off XNNPACK, 2-3x
    slower; int8 taps lose the quiet bands)."""
    from ai_edge_litert import schema_py_generated as schema

    out = exported[0]
    for mode in ("float32", "dynamic", "int8"):
        model = schema.ModelT.InitFromPackedBuf(
            bytearray((out / f"model_{mode}.tflite").read_bytes()), 0
        )
        subgraph, codes = model.subgraphs[0], model.operatorCodes
        produced = {o for op in subgraph.operators for o in op.outputs}
        convolutions = [
            op
            for op in subgraph.operators
            if codes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.CONV_2D
        ]
        assert len(convolutions) >= 2
        assert all(op.inputs[1] not in produced for op in convolutions), mode
        gabor = [subgraph.tensors[op.inputs[1]] for op in convolutions[:2]]
        assert all(
            b"frontend_gabor" in t.name and t.type == schema.TensorType.FLOAT32 for t in gabor
        ), mode  # never int8


def test_int8_that_fails_its_check_is_named_and_not_written(
    trained_run, synthetic_records, tmp_path
):
    # Ranges cut at each activation's median clip most of the signal: the file must be refused.
    (tmp_path / ".tmp-model_dynamic.tflite").write_bytes(b"half a file from a killed export")
    (tmp_path / ".notes.tmp").write_text("the user's, not the export's")
    with pytest.raises(
        ExportError, match=r"^int8: the exported file fails its checks: validation mAP"
    ) as failure:
        export(
            trained_run / "best.keras",
            synthetic_records,
            tmp_path,
            ["int8"],
            calibration_windows_count=16,
            latency_runs=1,
            calibration_percentile=50.0,
        )
    assert "most of it in class '" in str(failure.value)  # names the class that lost the most AP
    assert not list(tmp_path.glob("*.tflite")) and [p.name for p in tmp_path.glob(".*")] == [
        ".notes.tmp"
    ]
    assert "int8" not in json.loads((tmp_path / "export_report.json").read_text())["files"]


def test_activation_range_ignores_rare_peaks():
    rng = np.random.default_rng(0)
    relu = np.maximum(rng.normal(size=1_000_000), 0)
    relu[:10] = 50.0  # ten loud frames in a million values
    low, high = activation_range(relu, 0.0, 50.0, 99.99)
    assert low == 0.0 and 2.5 < high < 4.5  # the normal's 99.99th percentile: ≈ 3.7
    signed = rng.normal(size=1_000_000)
    low, high = activation_range(signed, signed.min(), signed.max(), 99.9)
    assert -3.3 < low < -2.9 and 2.9 < high < 3.3
    assert activation_range(relu, 0.0, 50.0, 100.0) == (0.0, 50.0)
    assert activation_range(relu, 0.0, 50.0, 45.0) == (
        0.0,
        50.0,
    )  # most of a ReLU output is 0: no range


def test_report_lists_builtin_ops_and_fixed_tensors(exported, trained_run):
    out, report, _ = exported
    saved = json.loads((out / "export_report.json").read_text())
    assert saved["files"].keys() == report["files"].keys()
    for mode, entry in saved["files"].items():
        assert entry["input"]["shape"] == [1, 16000]
        assert entry["input"]["dtype"] == ("int16" if mode == "int8_pcm16" else "float32")
        assert entry["output"]["shape"] == [1, 5]
        assert not [
            op for op in entry["ops"] if op.startswith("Flex") or op in ("SHAPE", "CUSTOM")
        ], entry["ops"]
        assert (
            entry["bytes"] == (out / entry["file"]).stat().st_size
            and entry["latency_ms"]["1_threads"] > 0
        )
    assert "QUANTIZE" not in saved["files"]["float32"]["ops"]
    assert saved["files"]["dynamic"]["bytes"] < 0.4 * saved["files"]["float32"]["bytes"]
    assert "| model_dynamic.tflite |" in (out / "export_report.md").read_text()
    labels = (out / "labels.txt").read_text().split()
    for mode, entry in saved["files"].items():  # described for MediaPipe, read back from each file
        assert entry["signatures"] == {
            "serving_default": {"inputs": ["waveform"], "outputs": ["scores"]}
        }
        assert entry["metadata"] | {"description": ""} == {
            "name": "run0",
            "description": "",
            "version": "1",
            "sample_rate": 16000,
            "channels": 1,
            "input_name": "waveform",
            "output_name": "scores",
            "labels_file": "labels.txt",
            "labels_count": 5,
            # The run's event rule, packed beside the labels.
            "event_rule": json.loads(read_rule(trained_run, 5).to_json()),
        }
        samples = "int16 PCM samples" if mode == "int8_pcm16" else "mono audio in [-1, 1]"
        assert (
            f"keras_rawaudio {__version__}, {mode}): 1 s of 16000 Hz {samples}"
            in entry["metadata"]["description"]
        )
        assert EdgeClassifier(out / entry["file"]).labels == labels


def test_mediapipe_audio_classifier_runs_the_files_as_they_are(exported):
    """MediaPipe Tasks (the client of Android and web apps) gives the runner's scores."""
    from mediapipe.tasks.python.audio import audio_classifier
    from mediapipe.tasks.python.components.containers import audio_data
    from mediapipe.tasks.python.core import base_options

    out, report, error = exported
    assert {"float32", "int8"} <= set(report["files"]), error
    rng = np.random.default_rng(0)
    t = (
        np.arange(16000 * 3 + 5000) / 16000
    )  # three windows and a part, which MediaPipe pads with zeros
    clip = (0.3 * np.sin(2 * np.pi * 440 * t) * (t > 1) + rng.normal(0, 0.05, t.size)).astype(
        np.float32
    )
    windows = np.zeros((4, 16000), np.float32)
    windows.reshape(-1)[: clip.size] = clip
    for mode in ("float32", "int8"):
        path = out / f"model_{mode}.tflite"
        options = audio_classifier.AudioClassifierOptions(
            base_options=base_options.BaseOptions(model_asset_path=str(path))
        )
        with audio_classifier.AudioClassifier.create_from_options(options) as classifier:
            results = classifier.classify(audio_data.AudioData.create_from_array(clip, 16000))
        runner = EdgeClassifier(path)
        assert [r.timestamp_ms for r in results] == [0, 1000, 2000, 3000]
        scores = np.zeros((4, runner.num_classes), np.float32)
        for i, result in enumerate(results):
            for category in result.classifications[0].categories:
                assert category.category_name == runner.labels[category.index]
                scores[i, category.index] = category.score
        np.testing.assert_allclose(scores, runner.predict(windows), atol=1e-5, err_msg=mode)


def test_the_int8_export_keeps_the_gabor_front_end_stem_and_every_head_in_float():
    from keras_rawaudio import LogMelClassifier, RawWaveformClassifier
    from keras_rawaudio.export.quantize import float_layers

    gabor = float_layers(RawWaveformClassifier.from_preset("edge", num_classes=4, num_heads=3))
    assert {
        "frontend_gabor",
        "frontend_compression",
        "level_normalization",
        "resnet_stem_conv",
        "head1_attention",
        "head3_attention",
        "clipwise",
    } <= set(gabor)
    assert "head4_attention" not in gabor and not any(
        name.startswith("resnet_stage") for name in gabor
    )
    assert (
        float_layers(RawWaveformClassifier.from_preset("tiny", num_classes=4)) == ()
    )  # the CNN's is full-integer
    assert float_layers(LogMelClassifier.from_preset("edge", num_classes=4)) == ()
