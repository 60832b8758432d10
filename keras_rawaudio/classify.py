"""Edge runner: classifies audio files, or a live stream, with an exported .tflite model.

  python -m keras_rawaudio.classify --model=OUT/model_int8.tflite a.wav b.flac
  arecord -f S16_LE -r 16000 -c 1 -t raw | python -m keras_rawaudio.classify --model=...
  --stream=stdin

The class names and the sample rate come from the model's metadata (written by the export);
--labels and --sample_rate are for files without it.

Imports only NumPy, soundfile, soxr, absl-py and ai-edge-litert — no TensorFlow — so it runs
on a Raspberry Pi after `pip install keras-rawaudio` (the base install is the edge tier). Any sample
rate and
channel count in. Windows of the model's input length every --hop_seconds (half a window by
default) are scored and combined per file (the max over its loud windows by default): the
scoring of `keras_rawaudio.scoring`, the same as evaluation and the export report.
"""

import json
import sys

import numpy as np

from keras_rawaudio import cli
from keras_rawaudio.audio_io import AudioError, resample
from keras_rawaudio.edge import EdgeClassifier, EdgeModelError, classify_file, model_labels, top
from keras_rawaudio.scoring import COMBINE, DEFAULT_COMBINE, Windowing


def show(result, as_json, with_windows):
    if as_json:
        print(json.dumps(result), flush=True)
        return
    line = ", ".join(f"{t['label']} {t['score']:.3f}" for t in result["top"])
    print(f"{result['file']}: {line}  ({len(result['windows'])} windows)", flush=True)
    if with_windows:
        for w in result["windows"]:
            print(
                f"  {w['start_seconds']:8.2f} s  "
                + ", ".join(f"{t['label']} {t['score']:.3f}" for t in w["top"])
            )


def pcm_chunks(source, rate, samples):
    """Yields float32 mono chunks of `samples` from stdin (raw s16le) or a microphone."""
    if source == "mic":
        try:
            import sounddevice
        except ImportError:
            raise EdgeModelError("--stream=mic needs `pip install sounddevice`") from None
        with sounddevice.RawInputStream(
            samplerate=rate, channels=1, dtype="int16", blocksize=samples
        ) as mic:
            while True:
                data, _ = mic.read(samples)
                yield np.frombuffer(data, np.int16).astype(np.float32) / 32768.0
    while data := sys.stdin.buffer.read(2 * samples):
        yield np.frombuffer(data[: len(data) // 2 * 2], np.int16).astype(np.float32) / 32768.0


def stream(
    model: EdgeClassifier,
    labels,
    windowing: Windowing,
    source,
    stream_rate,
    sample_rate,
    top_k,
    as_json,
):
    """Classifies a live stream: one result per hop once a window has been heard. A stream that
    ends before a whole window is an EdgeModelError: nothing was classified."""
    hop = windowing.hop_samples
    buffer = np.zeros(0, np.float32)
    heard, received = 0.0, 0
    for chunk in pcm_chunks(source, stream_rate, round(hop * stream_rate / sample_rate)):
        received += len(chunk)
        buffer = np.concatenate([buffer, resample(chunk, stream_rate, sample_rate)])
        while len(buffer) >= model.window_samples:
            scores = model.predict(buffer[None, : model.window_samples])[0]
            result = {
                "file": "<stream>",
                "start_seconds": round(heard, 3),
                "top": top(scores, labels, top_k),
                "windows": [],
            }
            show(result, as_json, False)
            buffer, heard = buffer[hop:], heard + hop / sample_rate
    if not heard:
        raise EdgeModelError(
            f"--stream={source} ended after {received / stream_rate:.2f} s of audio, less than one "
            f"window ({model.window_samples / sample_rate:g} s): nothing was classified"
        )


def define_flags():
    from absl import flags

    flags.DEFINE_string("model", None, "Exported .tflite file.", required=True)
    flags.DEFINE_string(
        "labels",
        None,
        "A labels.txt, one class per output (default: the labels packed in the model).",
    )
    flags.DEFINE_integer("top_k", 5, "Classes shown per file and window.", lower_bound=1)
    flags.DEFINE_float(
        "hop_seconds", None, "Hop between windows (default: half a window).", lower_bound=0.001
    )
    flags.DEFINE_enum(
        "combine",
        DEFAULT_COMBINE,
        COMBINE,
        "How window scores combine into a file's score "
        "(loud_max: the max over the windows with half the loudest one's energy).",
    )
    flags.DEFINE_integer(
        "sample_rate",
        None,
        "The model's sample rate (default: its metadata's, else 16000).",
        lower_bound=1000,
    )
    flags.DEFINE_bool("json", False, "One JSON object per file on stdout.")
    flags.DEFINE_bool("windows", False, "Also print each window's top-k (text mode).")
    flags.DEFINE_enum(
        "stream", None, ["stdin", "mic"], "Classify raw s16le mono PCM from stdin, or a microphone."
    )
    flags.DEFINE_integer("stream_rate", 16000, "Sample rate of the stream.", lower_bound=1000)
    flags.DEFINE_integer("threads", None, "Interpreter threads.", lower_bound=1)


@cli.positional
def main(argv) -> int:
    """Classifies the files named after the flags (or the stream); 1 if any file failed."""
    from absl import flags

    FLAGS = flags.FLAGS
    files = argv[1:]
    if bool(files) == bool(FLAGS.stream):
        raise EdgeModelError("give audio files or --stream" + (", not both" if files else ""))
    model = EdgeClassifier(FLAGS.model, num_threads=FLAGS.threads)
    labels = model_labels(model, FLAGS.labels)
    sample_rate = FLAGS.sample_rate or (
        model.description.sample_rate if model.description else 16000
    )
    hop = None if FLAGS.hop_seconds is None else max(1, round(FLAGS.hop_seconds * sample_rate))
    windowing = Windowing(model.window_samples, hop, FLAGS.combine)
    if FLAGS.stream:
        stream(
            model,
            labels,
            windowing,
            FLAGS.stream,
            FLAGS.stream_rate,
            sample_rate,
            FLAGS.top_k,
            FLAGS.json,
        )
        return 0
    failed = 0
    for path in files:
        try:
            show(
                classify_file(path, model, labels, windowing, sample_rate, FLAGS.top_k),
                FLAGS.json,
                FLAGS.windows,
            )
        except AudioError as error:
            failed += 1
            print(f"classify: {path}: {error}", file=sys.stderr)
    return 1 if failed else 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
