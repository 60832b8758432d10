"""Edge latency: each export mode of a preset against a YAMNet-architecture reference.

Prints, from one run, milliseconds of 1-thread LiteRT inference per second of audio for
model_<mode>.tflite of a preset (random weights: latency does not depend on them) and for
YAMNet's architecture (log-mel 96×64 patches into MobileNetV1, from its published layer
table) exported the same way; and the ratio edge int8 / YAMNet float32 (goal <= 0.5).

  python bench/latency_bench.py [--preset=edge] [--runs=200]
"""

import pathlib
import tempfile
import time

import numpy as np
from absl import flags

from keras_rawaudio import cli


def define_flags():
    flags.DEFINE_string("preset", "edge", "Preset of the raw-waveform model.")
    flags.DEFINE_float("window_seconds", 1.0, "Input window of the exported raw model.", lower_bound=1.0)
    flags.DEFINE_integer("runs", 200, "Timed invocations per figure.", lower_bound=1)


# YAMNet's layer table (tensorflow/models research/audioset/yamnet/yamnet.py): (kind, stride, filters).
YAMNET_LAYERS = [("conv", 2, 32), ("separable", 1, 64), ("separable", 2, 128), ("separable", 1, 128),
                 ("separable", 2, 256), ("separable", 1, 256), ("separable", 2, 512)] + \
                [("separable", 1, 512)] * 5 + [("separable", 2, 1024), ("separable", 1, 1024)]


def yamnet_reference(num_classes=521):
    """YAMNet's architecture on one 0.975 s patch: waveform (1, 15600) → 96×64 log-mel → MobileNetV1."""
    import keras
    from keras import layers

    from keras_rawaudio.layers import LogMelSpectrogram

    waveform = keras.Input((15600,), batch_size=1)
    x = LogMelSpectrogram(mel_bins=64)(waveform)  # (96, 64): 25 ms windows, 10 ms hop
    x = layers.Reshape((96, 64, 1))(x)
    for kind, stride, filters in YAMNET_LAYERS:
        if kind == "conv":
            x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        else:
            x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
            x = layers.Conv2D(filters, 1, use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(waveform, layers.Dense(num_classes, activation="sigmoid")(x))


def ms_per_second_of_audio(tflite_bytes, directory, name, seconds, runs):
    from keras_rawaudio.edge import EdgeClassifier

    path = pathlib.Path(directory) / f"{name}.tflite"
    path.write_bytes(tflite_bytes)
    runner = EdgeClassifier(path, num_threads=1)
    x = np.random.default_rng(0).uniform(-0.3, 0.3, (1, runner.window_samples)).astype(np.float32)
    for _ in range(10):
        runner.predict(x)
    start = time.perf_counter()
    for _ in range(runs):
        runner.predict(x)
    return (time.perf_counter() - start) / runs * 1000 / seconds, path.stat().st_size


def main(argv) -> int:
    from keras_rawaudio import RawWaveformClassifier, model_summary
    from keras_rawaudio.export import MODES, convert

    FLAGS = flags.FLAGS

    window = round(FLAGS.window_seconds * 16000)
    model = RawWaveformClassifier.from_preset(FLAGS.preset, num_classes=10, input_samples=window)
    calibration = np.random.default_rng(1).uniform(-0.3, 0.3, (32, window)).astype(np.float32)
    yamnet = yamnet_reference()
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for mode in MODES:
            results[f"{FLAGS.preset} {mode}"] = ms_per_second_of_audio(
                convert(model, mode, calibration), directory, mode, FLAGS.window_seconds, FLAGS.runs)
        yamnet_calibration = calibration[:, :15600]
        for mode in ("float32", "int8"):
            results[f"YAMNet-arch {mode}"] = ms_per_second_of_audio(
                convert(yamnet, mode, yamnet_calibration), directory, f"yamnet_{mode}", 0.975, FLAGS.runs)
    print(f"{FLAGS.preset}: {model_summary(model)['macs_per_second'] / 1e6:.1f} MMAC/s; 1 LiteRT thread, {FLAGS.runs} runs")
    print(f"{'model':<22}{'ms per s of audio':>20}{'KiB':>8}")
    for name, (ms, size) in results.items():
        print(f"{name:<22}{ms:>20.3f}{size / 1024:>8.0f}")
    ratio = results[f"{FLAGS.preset} int8"][0] / results["YAMNet-arch float32"][0]
    print(f"ratio {FLAGS.preset} int8 / YAMNet-arch float32 = {ratio:.2f} (goal <= 0.5)")
    return 0


if __name__ == "__main__":
    cli.run(main, define_flags)
