"""Edge runner: classifies audio files, or listens to a live stream, with an exported .tflite.

  python -m keras_rawaudio.classify --model=OUT/model_int8.tflite a.wav b.flac [--events]
  arecord -f S16_LE -r 16000 -c 1 -t raw | python -m keras_rawaudio.classify --model=... \
      --stream=stdin [--json]
  python -m keras_rawaudio.classify --model=... --stream=mic     # needs `pip install sounddevice`

A stream is cut into windows of the model's input one after another (as MediaPipe's
AUDIO_STREAM mode cuts it; --hop_seconds for overlapping ones), and each event is printed when it
has ended: "onset s - offset s  label score", or with --json one object per line
{"onset", "offset", "label", "score"} (seconds from the stream's start). Events come from the
one detector, `keras_rawaudio.events`, with the per-class thresholds packed in the model
(chosen on validation streams when it was trained); --threshold sets one for every class.

The class names and the sample rate come from the model's metadata (written by the export);
--labels and --sample_rate are for files without it.

Imports only NumPy, soundfile, soxr, absl-py and ai-edge-litert — no TensorFlow — so it runs
on a Raspberry Pi after `pip install keras-rawaudio` (the base install is the edge tier). Any
sample rate and channel count in. A file's windows of the model's input length every
--hop_seconds (half a window by default) are scored and combined (the max over its loud windows
by default): the scoring of `keras_rawaudio.scoring`, the same as evaluation and the export
report.
"""

import json
import sys

import numpy as np

from keras_rawaudio import cli
from keras_rawaudio.audio_io import AudioError, resample
from keras_rawaudio.edge import EdgeClassifier, EdgeModelError, classify_file, model_labels, top
from keras_rawaudio.errors import InputError
from keras_rawaudio.events import EventRule, EventTracker, loud_span
from keras_rawaudio.scoring import COMBINE, DEFAULT_COMBINE, Windowing


def show(result, as_json, with_windows):
    if as_json:
        print(json.dumps(result), flush=True)
        return
    line = ", ".join(f"{t['label']} {t['score']:.3f}" for t in result["top"])
    print(f"{result['file']}: {line}  ({len(result['windows'])} windows)", flush=True)
    for event in result.get("events", []):
        show_event(event, False, indent="  ")
    if with_windows:
        for w in result["windows"]:
            show_window(w)


def show_window(window):
    print(
        f"  {window['start_seconds']:8.2f} s  "
        + ", ".join(f"{t['label']} {t['score']:.3f}" for t in window["top"]),
        flush=True,
    )


def show_event(event: dict, as_json, indent=""):
    """One event: a JSON object (onset, offset, label, score), or a line of text."""
    if as_json:
        print(json.dumps(event), flush=True)
    else:
        print(
            f"{indent}{event['onset']:9.2f} s - {event['offset']:9.2f} s  {event['label']} "
            f"{event['score']:.3f}",
            flush=True,
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
    rule: EventRule,
    hop: int,
    source,
    stream_rate,
    sample_rate,
    top_k,
    as_json,
    with_windows,
):
    """Listens to a live stream: a window every `hop` samples once one has been heard, each
    window's scores into the event detector, each event printed as it ends (and, with
    `with_windows`, each window's top-k). A stream that ends before a whole window is an
    EdgeModelError: nothing was classified."""
    tracker = EventTracker(labels, rule)
    buffer = np.zeros(0, np.float32)
    heard, received = 0.0, 0
    try:
        for chunk in pcm_chunks(source, stream_rate, round(hop * stream_rate / sample_rate)):
            received += len(chunk)
            buffer = np.concatenate([buffer, resample(chunk, stream_rate, sample_rate)])
            while len(buffer) >= model.window_samples:
                window = buffer[: model.window_samples]
                scores = model.predict(window[None])[0]
                onset, offset = loud_span(window, sample_rate)
                for event in tracker.update(heard + onset, heard + offset, scores):
                    show_event(event.to_dict(), as_json)
                if with_windows and not as_json:
                    show_window({"start_seconds": heard, "top": top(scores, labels, top_k)})
                buffer, heard = buffer[hop:], heard + hop / sample_rate
    finally:  # the end of the stream, or Ctrl-C: the events still going end here
        for event in tracker.finish():
            show_event(event.to_dict(), as_json)
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
        "hop_seconds",
        None,
        "Hop between windows (default: half a window for a file's scores; one window for "
        "events and streams, as MediaPipe's AUDIO_STREAM mode).",
        lower_bound=0.001,
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
    flags.DEFINE_bool("events", False, "Also detect the events of each file (onset, offset, ...).")
    flags.DEFINE_float(
        "threshold",
        None,
        "Events: one threshold for every class (default: the model's per-class thresholds, "
        "else 0.5).",
        lower_bound=0.001,
        upper_bound=1,
    )
    flags.DEFINE_enum(
        "stream", None, ["stdin", "mic"], "Classify raw s16le mono PCM from stdin, or a microphone."
    )
    flags.DEFINE_integer("stream_rate", 16000, "Sample rate of the stream.", lower_bound=1000)
    flags.DEFINE_integer("threads", None, "Interpreter threads.", lower_bound=1)


# The flags of one mode only: a stream always detects events, window by window.
MODE_FLAGS = {"stream_rate": ("--stream",), "events": ("files",), "combine": ("files",)}


@cli.positional
def main(argv) -> int:
    """Classifies the files named after the flags (or the stream); 1 if any file failed."""
    from absl import flags

    FLAGS = flags.FLAGS
    files = argv[1:]
    if bool(files) == bool(FLAGS.stream):
        raise EdgeModelError("give audio files or --stream" + (", not both" if files else ""))
    mode = "--stream" if FLAGS.stream else "files"
    cli.check_flags_apply(MODE_FLAGS, mode, "--stream" if FLAGS.stream else "audio files")
    model = EdgeClassifier(FLAGS.model, num_threads=FLAGS.threads)
    labels = model_labels(model, FLAGS.labels)
    written_rate = model.description.sample_rate if model.description else None
    if FLAGS.sample_rate and written_rate and FLAGS.sample_rate != written_rate:
        raise InputError(
            f"--sample_rate={FLAGS.sample_rate} contradicts {FLAGS.model}, whose metadata says "
            f"{written_rate} Hz: leave the flag out"
        )
    sample_rate = FLAGS.sample_rate or written_rate or 16000
    hop = None if FLAGS.hop_seconds is None else max(1, round(FLAGS.hop_seconds * sample_rate))
    if hop is not None and hop > model.window_samples:
        raise InputError(
            f"--hop_seconds={FLAGS.hop_seconds:g} is longer than the model's window "
            f"({model.window_samples / sample_rate:g} s): the audio between windows would go "
            "unheard"
        )
    windowing = Windowing(model.window_samples, hop, FLAGS.combine)
    rule = model.event_rule or EventRule.uniform(len(labels))
    if FLAGS.threshold is not None:
        rule = rule.with_threshold(FLAGS.threshold)
    if FLAGS.stream:
        try:
            stream(
                model,
                labels,
                rule,
                hop or model.window_samples,
                FLAGS.stream,
                FLAGS.stream_rate,
                sample_rate,
                FLAGS.top_k,
                FLAGS.json,
                FLAGS.windows,
            )
        except KeyboardInterrupt:  # how a microphone stream is stopped
            return 130
        return 0
    failed = 0
    for path in files:
        try:
            show(
                classify_file(
                    path,
                    model,
                    labels,
                    windowing,
                    sample_rate,
                    FLAGS.top_k,
                    rule if FLAGS.events else None,
                    hop,
                ),
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
