"""Edge latency: each export mode of a preset against a YAMNet-architecture reference.

Prints milliseconds of 1-thread LiteRT inference per second of audio for model_<mode>.tflite
of a preset (random weights: latency does not depend on them) and for YAMNet's architecture
(log-mel 96×64 patches into MobileNetV1, from its published layer table) exported the same
way: min / median / max over --repeats timings of --runs invocations each, the files taking
turns so that a busy machine slows all of them alike; and, from the medians, the ratios of
the integer files to the float32 file (goal <= 0.6) and to YAMNet-arch float32 (goal <= 0.35).
Then the real-time factor of `classify --stream` with the int8 file on one thread (seconds of
work per second of audio: reading PCM, the model, the event detector), over --stream_seconds of
noise with tone bursts, min / median / max of --repeats.

  python bench/latency_bench.py [--preset=edge] [--runs=200] [--repeats=3]
"""

import pathlib
import tempfile
import time

import numpy as np
from absl import flags

from keras_rawaudio import cli


def define_flags():
    flags.DEFINE_string("preset", "edge", "Preset of the raw-waveform model.")
    flags.DEFINE_float(
        "window_seconds", 1.0, "Input window of the exported raw model.", lower_bound=1.0
    )
    flags.DEFINE_integer("runs", 200, "Timed invocations per timing.", lower_bound=1)
    flags.DEFINE_integer("repeats", 3, "Timings per file (min / median / max).", lower_bound=1)
    flags.DEFINE_float(
        "stream_seconds", 60.0, "Audio streamed for the real-time factor.", lower_bound=1.0
    )


# YAMNet's layer table (tensorflow/models research/audioset/yamnet/yamnet.py): (kind, stride,
# filters).
YAMNET_LAYERS = (
    [
        ("conv", 2, 32),
        ("separable", 1, 64),
        ("separable", 2, 128),
        ("separable", 1, 128),
        ("separable", 2, 256),
        ("separable", 1, 256),
        ("separable", 2, 512),
    ]
    + [("separable", 1, 512)] * 5
    + [("separable", 2, 1024), ("separable", 1, 1024)]
)


def yamnet_reference(num_classes=521):
    """YAMNet's architecture on one 0.975 s patch: waveform (1, 15600) → 96×64 log-mel →
    MobileNetV1."""
    import keras
    from keras import layers

    from keras_rawaudio.models.layers import LogMelSpectrogram

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


def timer(tflite_bytes, directory, name, seconds, runs):
    """A function that times `runs` 1-thread invocations of the file: ms per second of audio."""
    from keras_rawaudio.edge import EdgeClassifier

    path = pathlib.Path(directory) / f"{name}.tflite"
    path.write_bytes(tflite_bytes)
    runner = EdgeClassifier(path, num_threads=1)
    x = np.random.default_rng(0).uniform(-0.3, 0.3, (1, runner.window_samples)).astype(np.float32)
    for _ in range(10):
        runner.predict(x)

    def time_runs():
        start = time.perf_counter()
        for _ in range(runs):
            runner.predict(x)
        return (time.perf_counter() - start) / runs * 1000 / seconds

    return time_runs, path.stat().st_size


def stream_real_time_factor(path, seconds, num_classes) -> float:
    """Seconds `classify --stream=stdin` takes per second of audio with the file at `path` on
    one thread: `seconds` of pink noise at -45 dBFS with a 1 kHz burst every 3 s, as s16le PCM
    on stdin, events printed to a buffer."""
    import contextlib
    import io
    import sys

    from keras_rawaudio.classify import stream
    from keras_rawaudio.edge import EdgeClassifier
    from keras_rawaudio.events import EventRule
    from keras_rawaudio.soundscapes import background

    rng = np.random.default_rng(0)
    audio = background("pink_-45dBFS", round(seconds * 16000), rng)
    t = np.arange(3200) / 16000
    for start in range(16000, len(audio) - 3200, 48000):
        audio[start : start + 3200] += 0.3 * np.sin(2 * np.pi * 1000 * t)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    runner = EdgeClassifier(path, num_threads=1)
    labels = [f"class {k}" for k in range(num_classes)]
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(pcm))
    try:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            stream(
                runner,
                labels,
                EventRule.uniform(num_classes),
                runner.window_samples,
                "stdin",
                16000,
                16000,
                3,
                False,
                False,
            )
        return (time.perf_counter() - start) / seconds
    finally:
        sys.stdin = stdin


def main(argv) -> int:
    from keras_rawaudio import RawWaveformClassifier, model_summary
    from keras_rawaudio.export import MODES, convert

    FLAGS = flags.FLAGS

    window = round(FLAGS.window_seconds * 16000)
    model = RawWaveformClassifier.from_preset(FLAGS.preset, num_classes=10, input_samples=window)
    calibration = np.random.default_rng(1).uniform(-0.3, 0.3, (32, window)).astype(np.float32)
    yamnet = yamnet_reference()
    timers, converted, yamnet_converted = {}, {}, {}
    with tempfile.TemporaryDirectory() as directory:
        for mode in MODES:
            timers[f"{FLAGS.preset} {mode}"] = timer(
                convert(model, mode, calibration, converted=converted),
                directory,
                mode,
                FLAGS.window_seconds,
                FLAGS.runs,
            )
        for mode in ("float32", "int8"):
            timers[f"YAMNet-arch {mode}"] = timer(
                convert(yamnet, mode, calibration[:, :15600], converted=yamnet_converted),
                directory,
                f"yamnet_{mode}",
                0.975,
                FLAGS.runs,
            )
        timings = {name: [] for name in timers}
        for _ in range(FLAGS.repeats):
            for name, (time_runs, _) in timers.items():
                timings[name].append(time_runs())
        int8_file = pathlib.Path(directory) / "int8.tflite"
        factors = [
            stream_real_time_factor(int8_file, FLAGS.stream_seconds, 10)
            for _ in range(FLAGS.repeats)
        ]
    print(
        f"{FLAGS.preset}: {model_summary(model)['macs_per_second'] / 1e6:.1f} MMAC/s; 1 LiteRT "
        f"thread, "
        f"{FLAGS.repeats} × {FLAGS.runs} runs"
    )
    print(f"{'model':<24}{'ms per s of audio: min / median / max':>40}{'KiB':>8}")
    for name, values in timings.items():
        low, middle, high = np.min(values), np.median(values), np.max(values)
        print(f"{name:<24}{low:>18.3f} /{middle:>8.3f} /{high:>8.3f}{timers[name][1] / 1024:>8.0f}")
    median = {name: float(np.median(values)) for name, values in timings.items()}
    for mode in ("int8", "int8_pcm16"):
        print(
            f"ratio {FLAGS.preset} {mode} / {FLAGS.preset} float32 = "
            f"{median[f'{FLAGS.preset} {mode}'] / median[f'{FLAGS.preset} float32']:.2f} (goal <= "
            f"0.6); "
            "/ YAMNet-arch float32 = "
            f"{median[f'{FLAGS.preset} {mode}'] / median['YAMNet-arch float32']:.2f} (goal <= 0.35)"
        )
    print(
        f"classify --stream, {FLAGS.preset} int8, 1 thread, {FLAGS.stream_seconds:g} s of audio: "
        f"real-time factor {min(factors):.4f} / {np.median(factors):.4f} / {max(factors):.4f} "
        "(min / median / max; below 1 keeps up)"
    )
    return 0


if __name__ == "__main__":
    cli.run(main, define_flags)
