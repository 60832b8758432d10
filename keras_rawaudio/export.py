"""Exports a trained keras_rawaudio model to TFLite for Android and Raspberry Pi.

  python -m keras_rawaudio.export --model=RUN/best.keras --data_dir=DATA --output_dir=OUT \
      --quantize=float32,float16,dynamic,int8,int8_pcm16

Writes OUT/model_<mode>.tflite, OUT/labels.txt and OUT/export_report.{json,md}. Every file
uses TFLite builtin ops only, has a fixed (1, window) input (the run's training window unless
--window_seconds says otherwise: float32 in [-1, 1], or for int8_pcm16 the int8 file's body
behind an int16 PCM input), a `serving_default` signature (`waveform` → `scores`)
and TFLite Model Metadata (name, description, version, the input as 16 kHz mono audio, the
labels packed in), so MediaPipe Tasks' AudioClassifier loads it as it is. Each file is checked
before it is kept: its metadata and signature must read back as written, and on silence, noise,
a sine and validation clips it must agree with the Keras model (float32 ≤ 1e-4, float16 ≤ 2e-2
max abs difference), and every mode must keep validation mAP within 0.01 of the Keras model's. Validation mAP is scored the one way `keras_rawaudio.scoring` defines, for the Keras
model and every file alike. int8 is integer, each activation's range set to the central
99.99 % of its calibration values, or to their min/max after a Gabor front-end
(--calibration_percentile); with the Gabor front-end the front-end (level normalisation,
filters, power, log), the 2D stem and the attention heads stay float32, as
`backbone.float_layers` says why.
"""

import dataclasses
import json
import os
import pathlib
import time
import warnings

import numpy as np

from keras_rawaudio import __version__, cli
from keras_rawaudio import backbone
from keras_rawaudio.data import DataOptions, load_dataset, reading_shards, shard_files
from keras_rawaudio.edge import PCM16_SCALE, EdgeClassifier, EdgeModelError, in_layers
from keras_rawaudio.errors import InputError, RunError, check_choices
from keras_rawaudio.evaluate import check_labels, model_windowing, score_split
from keras_rawaudio.files import check_directory, remove_partial_files, write_atomic
from keras_rawaudio.metrics import clip_metrics, per_class_average_precision
from keras_rawaudio.models import RawWaveformClassifier, keras_predict, load_classifier
from keras_rawaudio.scoring import COMBINE, DEFAULT_COMBINE, Windowing
from keras_rawaudio.tflite_metadata import ModelDescription, describe, pack_model

MODES = ("float32", "float16", "dynamic", "int8", "int8_pcm16")
INTEGER_MODES = ("int8", "int8_pcm16")
MAX_DIFFERENCE = {"float32": 1e-4, "float16": 2e-2}  # parity with Keras, max abs
MAX_MAP_DROP = 0.01
# The central percentage of its calibration values that an int8 activation range covers
# (`activation_range`). A full-integer file (the CNN front-end) quantises the front-end's
# heavy-tailed activations (max ≈ 50× std), where 99.99 % ranges kept every model's mAP and
# min/max ranges did not; after the Gabor model's float32 front-end, clipping cost more than it
# saved: min/max ranges had the smallest score errors on five drums16k models (BENCHMARKS.md).
FULL_INTEGER_PERCENTILE = 99.99
FLOAT_FRONTEND_PERCENTILE = 100.0


class ExportError(RunError):
    """An export that cannot be made or fails its checks; the message says which and why."""


@dataclasses.dataclass
class Reference:
    """What every exported file is checked against: the Keras model on the same inputs."""

    model: object  # the Keras model with a fixed (batch, window) input
    data_dir: str
    windowing: Windowing
    probes: np.ndarray  # (n, window): silence, noise, a sine, validation windows
    probe_scores: np.ndarray  # Keras scores of the probes
    val_labels: np.ndarray  # (recordings, K)
    val_scores: np.ndarray  # (recordings, K) Keras scores
    class_names: list
    val_metrics: dict  # Keras clip metrics on the validation split
    name: str = "keras_rawaudio"  # the exported files' model name
    version: str = "1"

    def description(self, mode) -> ModelDescription:
        """The metadata of the file of `mode`."""
        sample_rate = self.model.config.sample_rate
        samples = "int16 PCM samples" if mode == "int8_pcm16" else "mono audio in [-1, 1]"
        return ModelDescription(
            name=self.name, version=self.version, sample_rate=sample_rate, labels=tuple(self.class_names),
            description=f"Sound-event classifier ({type(self.model).__name__}, keras_rawaudio {__version__}, {mode}): "
                        f"{self.windowing.window / sample_rate:g} s of {sample_rate} Hz {samples} → "
                        f"{len(self.class_names)} independent per-class probabilities (sigmoid).")


def fixed_window_model(model, window_samples):
    """A copy of `model` with a fixed (batch, window_samples) input, sharing its weights' values."""
    fixed = type(model)(model.config.replace(input_samples=window_samples))
    fixed.set_weights(model.get_weights())
    return fixed


def float_layers(model) -> tuple[str, ...]:
    """The layers of `model` that its int8 file keeps in float32 (`backbone.float_layers`)."""
    return backbone.float_layers(model.config) if isinstance(model, RawWaveformClassifier) else ()


def default_percentile(model) -> float:
    """The central percentage of calibration values that `model`'s int8 ranges cover by default:
    `FULL_INTEGER_PERCENTILE` for a full-integer file, `FLOAT_FRONTEND_PERCENTILE` after a float
    front-end (see their comment)."""
    return FLOAT_FRONTEND_PERCENTILE if float_layers(model) else FULL_INTEGER_PERCENTILE


def convert(model, mode, calibration=None, percentile=None, converted=None) -> bytes:
    """TFLite flatbuffer of a fixed-input waveform model (batch 1) in `mode`; builtin ops only.

    calibration: (n, window) float32 windows, for the integer modes. percentile: see
    `activation_range` (None: `default_percentile(model)`). converted: a dict kept across the
    calls for one model, so that int8 and int8_pcm16 (the int8 file with an int16 PCM input,
    `pcm16_input`) are calibrated once.
    """
    converted = {} if converted is None else converted
    percentile = default_percentile(model) if percentile is None else percentile
    if mode == "int8_pcm16":
        return pcm16_input(convert(model, "int8", calibration, percentile, converted))
    if mode in converted:
        return converted[mode]
    import tensorflow as tf

    window = model.input_shape[1]
    signature = [tf.TensorSpec([1, window], tf.float32, name="waveform")]
    function = tf.function(lambda waveform: model(waveform, training=False), input_signature=signature)
    # Without a trackable object the converter freezes the weights into constants. With one
    # (TF 2.21, Keras 3) every weight stays an uninitialised resource variable: NaN outputs.
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    try:
        if mode == "int8":
            converted[mode] = quantize_int8(converter, calibration, percentile, float_layers(model))
        elif mode == "dynamic" and float_layers(model):
            converted[mode] = float_weights(converter.convert(), convert(model, "float32", converted=converted),
                                            float_layers(model))
        else:
            converted[mode] = converter.convert()
    except Exception as error:  # noqa: BLE001 - the converter raises many types
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise ExportError(f"{mode}: the converter needs ops outside the TFLite builtins ({first})") from None
    return converted[mode]


def activation_range(values, low, high, percentile):
    """Quantisation range (low, high) of one activation tensor from sampled calibration `values`.

    Keeps the central `percentile` % of the values (the lower bound stays at `low` for a
    non-negative tensor such as a ReLU output); 100 keeps the observed [low, high], and so
    does a percentile range of width 0 (a mostly-zero ReLU output), which no kernel can use.
    """
    if percentile >= 100:
        return float(low), float(high)
    central_low = np.percentile(values, 100 - percentile) if low < 0 else low
    central_high = np.percentile(values, percentile)
    if central_high <= central_low:
        return float(low), float(high)
    return float(central_low), float(central_high)


def float_nodes(flatbuffer, layers) -> set:
    """Names of the ops (their output tensors, as the quantizer names them) of Keras `layers`."""
    subgraph = flatbuffer.subgraphs[0]
    names = {subgraph.tensors[output].name.decode() for op in subgraph.operators for output in op.outputs}
    return {name for name in names if in_layers(name, layers)}


def quantize_int8(converter, calibration, percentile, float_layers=(), samples_per_window=2048):
    """Integer int8 flatbuffer (float32 input and output tensors), calibrated on `calibration`.

    The ops of `float_layers` (Keras layer names) stay float32; every other op is int8.

    TFLite's calibrator sets every activation range to the min/max seen, and audio activations
    are heavy-tailed (max ≈ 50× std): a few loud frames of the calibration set would decide
    the resolution of every tensor. So the range of each tensor is set by `activation_range`
    over values sampled from all calibration windows, then the model is quantised with the
    same calibrate-then-quantise steps as tf.lite's QuantizationDebugger.
    """
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.lite.python import convert as lite_convert
    from tensorflow.lite.tools import flatbuffer_utils

    converter.representative_dataset = lambda: ([w[None]] for w in calibration)
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True  # float model with min/max per tensor
    with warnings.catch_warnings():
        # Calibration asks for input statistics that a float input does not use, and keeping
        # every tensor is "for debugging purposes only": here it is the point.
        warnings.simplefilter("ignore", UserWarning)
        calibrated = converter.convert()
        interpreter = Interpreter(model_content=bytes(calibrated), experimental_preserve_all_tensors=True)
    flatbuffer = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    tensors = flatbuffer.subgraphs[0].tensors
    ranged = [i for i, t in enumerate(tensors) if t.quantization is not None and t.quantization.min is not None
              and len(t.quantization.min) == 1]
    interpreter.allocate_tensors()
    waveform = interpreter.get_input_details()[0]["index"]
    rng = np.random.default_rng(0)
    samples = {i: [] for i in ranged}
    for window in calibration:
        interpreter.set_tensor(waveform, window[None])
        interpreter.invoke()
        for i in ranged:
            values = interpreter.get_tensor(i).ravel()
            samples[i].append(values if values.size <= samples_per_window else rng.choice(values, samples_per_window))
    for i in ranged:
        q = tensors[i].quantization
        q.min[0], q.max[0] = activation_range(np.concatenate(samples[i]), q.min[0], q.max[0], percentile)
    waveform_range = tensors[flatbuffer.subgraphs[0].inputs[0]].quantization
    waveform_range.min, waveform_range.max = [-1.0], [1.0]  # audio's full scale: loud input is never clipped
    ranged_model = bytes(flatbuffer_utils.convert_object_to_bytearray(flatbuffer))
    return lite_convert.mlir_quantize(ranged_model, input_data_type=tf.float32, output_data_type=tf.float32,
                                      denylisted_nodes=float_nodes(flatbuffer, float_layers) or None)


def float_weights(flatbuffer: bytes, float32: bytes, layers) -> bytes:
    """`flatbuffer` (a dynamic-range file) with the weights of Keras `layers` back in float32,
    as they are in `float32` (the float32 file of the same model).

    Weight-only int8 loses what int8 activations lose: a Gabor filter's int8 taps keep about
    48 dB of its envelope, and a drums16k model's validation mAP fell from 0.780 to 0.725.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    reference = schema.ModelT.InitFromPackedBuf(bytearray(float32), 0)
    originals = {t.name: t for t in reference.subgraphs[0].tensors if t.type == schema.TensorType.FLOAT32 and t.buffer}
    for tensor in model.subgraphs[0].tensors:
        original = originals.get(tensor.name)
        if original is not None and tensor.type == schema.TensorType.INT8 and in_layers(tensor.name.decode(), layers):
            tensor.type, tensor.quantization = schema.TensorType.FLOAT32, None
            model.buffers[tensor.buffer].data = reference.buffers[original.buffer].data
    return pack_model(model)


def pcm16_input(flatbuffer: bytes) -> bytes:
    """`flatbuffer` with its float32 waveform input replaced by an int16 PCM input.

    The new input (`PCM16_SCALE`, zero point 0: what Android's AudioRecord and ALSA deliver)
    feeds one DEQUANTIZE whose float32 output is the old input, so every 16-bit sample reaches
    the model exactly; there is no 8-bit step on the waveform before the float front-end.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    subgraph = model.subgraphs[0]
    waveform = subgraph.tensors[subgraph.inputs[0]]
    if waveform.type != schema.TensorType.FLOAT32:
        raise ExportError("int8_pcm16: the int8 file's input is not float32")
    pcm = schema.TensorT()
    pcm.name, pcm.shape, pcm.type, pcm.buffer = b"pcm16", waveform.shape, schema.TensorType.INT16, 0
    pcm.quantization = schema.QuantizationParametersT()
    pcm.quantization.scale, pcm.quantization.zeroPoint = [PCM16_SCALE], [0]
    subgraph.tensors.append(pcm)
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.DEQUANTIZE
    code.version = 3  # DEQUANTIZE of int16
    model.operatorCodes.append(code)
    dequantize = schema.OperatorT()
    dequantize.opcodeIndex, dequantize.inputs, dequantize.outputs = len(model.operatorCodes) - 1, [len(subgraph.tensors) - 1], [subgraph.inputs[0]]
    subgraph.operators.insert(0, dequantize)
    subgraph.inputs = [len(subgraph.tensors) - 1]
    return pack_model(model)


def probe_signals(window, sample_rate, rng):
    """Silence, white noise and a 1 kHz sine, as YAMNet's export checks: (3, window)."""
    t = np.arange(window) / sample_rate
    return np.stack([np.zeros(window), rng.uniform(-0.5, 0.5, window), 0.5 * np.sin(2 * np.pi * 1000 * t)]).astype(np.float32)


def latency_ms(path, window, threads, runs):
    runner = EdgeClassifier(path, num_threads=threads)
    x = np.zeros((1, window), np.float32)
    runner.predict(x)
    start = time.perf_counter()
    for _ in range(runs):
        runner.predict(x)
    return (time.perf_counter() - start) / runs * 1000


def build_reference(model_path, data_dir, window_seconds=None, hop_seconds=None, combine=DEFAULT_COMBINE, name=None,
                    version="1") -> Reference:
    """Loads the model, fixes its input to the scoring window and scores the validation split.

    The window is the run's training window unless `window_seconds` is given; `name` (default:
    the name of the model's run directory) and `version` go into the files' metadata.
    """
    model = load_classifier(model_path)
    labels = check_labels(model, model_path, data_dir)
    shard_files(data_dir, "train")  # calibration and checks need both splits
    windowing = model_windowing(model, model_path, data_dir, window_seconds, hop_seconds, combine)
    fixed = fixed_window_model(model, windowing.window)
    val_labels, val_scores = score_split(keras_predict(fixed), data_dir, "val", windowing)
    probes = probe_signals(windowing.window, model.config.sample_rate, np.random.default_rng(0))
    val_windows = next(iter(load_dataset(data_dir, "val", DataOptions(batch_size=16, clip_seconds=windowing.window
                                                                      / model.config.sample_rate))))[0].numpy()
    probes = np.concatenate([probes, val_windows])
    return Reference(fixed, str(data_dir), windowing, probes, keras_predict(fixed)(probes), val_labels, val_scores,
                     labels, clip_metrics(val_labels, val_scores), name or pathlib.Path(model_path).resolve().parent.name,
                     version)


def calibration_windows(data_dir, window_seconds, count) -> np.ndarray:
    """(count, window) random training windows (seed 0) that calibrate int8."""
    train = load_dataset(data_dir, "train", DataOptions(batch_size=1, clip_seconds=window_seconds, seed=0),
                         training=True, repeat=True)
    return np.concatenate([x.numpy() for x, _ in train.take(count)])


def export(model_path, data_dir, output_dir, modes=MODES, window_seconds=None, calibration_windows_count=200,
           latency_runs=50, calibration_percentile=None, hop_seconds=None, combine=DEFAULT_COMBINE,
           name=None, version="1"):
    """Converts, checks and reports every mode; returns the report dict.

    int8 is calibrated on `calibration_windows_count` random training windows, each
    activation's range covering its central `calibration_percentile` % (see `activation_range`;
    None: `default_percentile`).
    Files that pass their checks are kept and reported even when another mode fails; then
    ExportError names every failure.

    Example: `export("runs/esc50/best.keras", "data/esc50", "tflite", ["float32", "int8"])`.
    """
    check_choices("quantize", modes, MODES, "modes")
    for flag, value in (("name", name), ("version", version)):
        if value is not None and not value.strip():
            raise InputError(f"--{flag} is empty: the files' metadata needs one")
    output_dir = check_directory(output_dir, "output_dir")
    reference = build_reference(model_path, data_dir, window_seconds, hop_seconds, combine, name, version)
    window = reference.windowing.window
    sample_rate = reference.model.config.sample_rate
    with reading_shards(data_dir, "train"):
        calibration = (calibration_windows(data_dir, window / sample_rate, calibration_windows_count)
                       if set(modes) & set(INTEGER_MODES) else None)

    output_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_files(output_dir, (".model_*.tflite.tmp", ".labels.txt.tmp", ".export_report.*.tmp"))
    report = {"model": str(model_path), "window_samples": window, "sample_rate": sample_rate,
              "scoring": dataclasses.asdict(reference.windowing) | {"hop": reference.windowing.hop_samples},
              "keras": {"val_mAP": reference.val_metrics["mAP"], "val_accuracy": reference.val_metrics["accuracy"]},
              "files": {}}
    if calibration is not None:
        if calibration_percentile is None:
            calibration_percentile = default_percentile(reference.model)
        report["int8"] = {"calibration_percentile": calibration_percentile, "float_layers": list(float_layers(reference.model))}
    failures, converted = [], {}
    for mode in modes:
        print(f"{mode}: converting", flush=True)
        try:
            report["files"][mode] = export_mode(mode, reference, output_dir, calibration, calibration_percentile,
                                                latency_runs, converted)
        except ExportError as error:
            failures.append(str(error))
            print(f"{mode}: FAILED: {error}", flush=True)
    write_atomic(output_dir / "labels.txt", "".join(f"{name}\n" for name in reference.class_names))
    write_atomic(output_dir / "export_report.json", json.dumps(report, indent=2))
    write_atomic(output_dir / "export_report.md", report_markdown(report))
    if failures:
        raise ExportError(" | ".join(failures) + f" (the other files and the report are in {output_dir})")
    return report


def file_problems(runner: EdgeClassifier, mode, reference: Reference, probe_scores, val_scores) -> list[str]:
    """What is wrong with an exported file, checked against `reference` (empty: nothing)."""
    problems = []
    expected = reference.description(mode)
    if runner.description != expected:
        problems.append("its metadata does not read back as written")
    if runner.signatures != expected.signatures():
        problems.append(f"its signatures are not {expected.signatures()}")
    custom = [op for op in runner.ops() if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")]
    if custom:
        problems.append(f"non-builtin ops {custom}")
    float_ops = runner.float_ops(float_layers(reference.model)) if mode in INTEGER_MODES else []
    if float_ops:
        problems.append(f"ops left in float {float_ops}")
    if not np.all(np.isfinite(probe_scores)) or probe_scores.min() < 0 or probe_scores.max() > 1:
        problems.append("outputs outside [0, 1] on silence/noise/sine")
    difference = float(np.abs(probe_scores - reference.probe_scores).max())
    if mode in MAX_DIFFERENCE and difference > MAX_DIFFERENCE[mode]:
        problems.append(f"max abs difference from Keras {difference:.2g} > {MAX_DIFFERENCE[mode]}")
    keras_map, file_map = reference.val_metrics["mAP"], clip_metrics(reference.val_labels, val_scores)["mAP"]
    if keras_map - file_map > MAX_MAP_DROP:
        problems.append(f"validation mAP {file_map:.4f} is more than {MAX_MAP_DROP} below Keras {keras_map:.4f}"
                        f" ({largest_loss(reference, val_scores)})")
    return problems


def export_mode(mode, reference: Reference, output_dir, calibration=None, percentile=None,
                latency_runs=50, converted=None) -> dict:
    """Converts one mode (`converted` as `convert` says), checks it against `reference`, and keeps
    the file only if every check passes; returns its report entry."""
    final = output_dir / f"model_{mode}.tflite"
    temporary = output_dir / f".model_{mode}.tflite.tmp"
    temporary.write_bytes(describe(convert(reference.model, mode, calibration, percentile, converted),
                                   reference.description(mode)))
    try:
        runner = EdgeClassifier(temporary)
    except EdgeModelError as error:
        temporary.unlink()
        raise ExportError(f"{mode}: LiteRT cannot run the converted file: {error}") from None
    probe_scores = runner.predict(reference.probes)
    _, val_scores = score_split(runner.predict, reference.data_dir, "val", reference.windowing)
    problems = file_problems(runner, mode, reference, probe_scores, val_scores)
    if problems:
        temporary.unlink()
        raise ExportError(f"{mode}: the exported file fails its checks: {'; '.join(problems)}")
    os.replace(temporary, final)
    result = clip_metrics(reference.val_labels, val_scores)
    difference = float(np.abs(probe_scores - reference.probe_scores).max())
    print(f"{mode}: {final} ({final.stat().st_size / 1024:.0f} KiB), val mAP {result['mAP']:.4f} "
          f"(Keras {reference.val_metrics['mAP']:.4f}), max |Δ| {difference:.2g}", flush=True)
    return {
        "file": final.name,
        "bytes": final.stat().st_size,
        "ops": runner.ops(),
        "input": {"name": runner.input["name"], "shape": runner.input["shape"].tolist(), "dtype": runner.input["dtype"].__name__},
        "output": {"name": runner.output["name"], "shape": runner.output["shape"].tolist(), "dtype": runner.output["dtype"].__name__},
        "metadata": metadata_summary(runner.description),
        "signatures": runner.signatures,
        "max_abs_difference": difference,
        "val_mAP": result["mAP"],
        "val_accuracy": result["accuracy"],
        "latency_ms": {f"{n}_threads": latency_ms(final, reference.windowing.window, n, latency_runs) for n in (1, 2)},
    }


def metadata_summary(description: ModelDescription) -> dict:
    """What a file's metadata says, for the report (the labels as their count and file)."""
    summary = dataclasses.asdict(description)
    labels = summary.pop("labels")
    return summary | {"labels_count": len(labels)}


def largest_loss(reference: Reference, scores) -> str:
    """Names the class that lost the most validation AP, and how widely Keras' scores of it vary.

    A class the model barely separates has nearly equal scores on every clip; its AP then
    depends on differences below int8's resolution.
    """
    before = per_class_average_precision(reference.val_labels, reference.val_scores)
    after = per_class_average_precision(reference.val_labels, scores)
    k = int(np.nanargmax(before - after))
    return (f"most of it in class {reference.class_names[k]!r}: AP {before[k]:.3f} → {after[k]:.3f}; "
            f"its Keras scores have a standard deviation of {reference.val_scores[:, k].std():.3f} over the validation clips")


def report_markdown(report) -> str:
    seconds = report["window_samples"] / report["sample_rate"]
    lines = [
        f"Export of {report['model']}: fixed input (1, {report['window_samples']}) = {seconds:g} s at "
        f"{report['sample_rate']} Hz (float32 in [-1, 1]; int16 PCM for int8_pcm16); output (1, classes) "
        "float32 probabilities.",
        f"Keras model: val mAP {report['keras']['val_mAP']:.4f}, val accuracy {report['keras']['val_accuracy']:.4f}.",
        *([f"Integer files: activation ranges cover the central {report['int8']['calibration_percentile']:g} % of the "
           f"calibration values; layers kept in float32: {', '.join(report['int8']['float_layers']) or 'none'}."]
          if "int8" in report else []),
        "",
        "| file | size KiB | val mAP | val accuracy | max abs Δ vs Keras | ms/window 1 thread | 2 threads |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["files"].values():
        lines.append(
            f"| {r['file']} | {r['bytes'] / 1024:.0f} | {r['val_mAP']:.4f} | {r['val_accuracy']:.4f} | "
            f"{r['max_abs_difference']:.2g} | {r['latency_ms']['1_threads']:.2f} | {r['latency_ms']['2_threads']:.2f} |"
        )
    lines += ["", "Ops: " + ", ".join(sorted({op for r in report["files"].values() for op in r["ops"]}))]
    for r in report["files"].values():
        m = r["metadata"]
        lines.append(f"{r['file']}: metadata {m['name']!r} version {m['version']!r}, input `{m['input_name']}` "
                     f"{m['sample_rate']} Hz × {m['channels']}, output `{m['output_name']}` with {m['labels_file']} "
                     f"({m['labels_count']} labels) packed in; signatures {', '.join(r['signatures'])}")
    return "\n".join(lines) + "\n"


def define_flags():
    from absl import flags

    flags.DEFINE_string("model", None, "A keras_rawaudio .keras model (e.g. RUN/best.keras).", required=True)
    flags.DEFINE_string("data_dir", None, "Its TFRecord directory: train (calibration) and val (checks).", required=True)
    flags.DEFINE_string("output_dir", None, "Where the .tflite files and the report go.", required=True)
    flags.DEFINE_list("quantize", list(MODES), "Modes to export.")
    flags.DEFINE_float("window_seconds", None, "Fixed input window of the exported files (default: the run's "
                       "training window).", lower_bound=0.01)
    flags.DEFINE_float("hop_seconds", None, "Validation scoring: hop between windows (default: half a window).",
                       lower_bound=0.001)
    flags.DEFINE_enum("combine", DEFAULT_COMBINE, COMBINE, "Validation scoring: how window scores combine per recording.")
    flags.DEFINE_integer("calibration_windows", 200, "Training windows that calibrate int8.", lower_bound=1)
    flags.DEFINE_float("calibration_percentile", None, "int8 activation ranges cover this central "
                       "percentage of the calibration values (100: min to max; default: 99.99 for a full-integer "
                       "file, 100 after the Gabor front-end's float32 part).", lower_bound=50, upper_bound=100)
    flags.DEFINE_integer("latency_runs", 50, "Timed invocations per latency figure.", lower_bound=1)
    flags.DEFINE_string("name", None, "Model name in the files' metadata (default: the model's run directory name).")
    flags.DEFINE_string("version", "1", "Model version in the files' metadata.")


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    report = export(FLAGS.model, FLAGS.data_dir, FLAGS.output_dir, FLAGS.quantize, FLAGS.window_seconds,
                    FLAGS.calibration_windows, FLAGS.latency_runs, FLAGS.calibration_percentile, FLAGS.hop_seconds,
                    FLAGS.combine, FLAGS.name, FLAGS.version)
    print(report_markdown(report))
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
