"""Edge runner: classifies audio files, or a live stream, with an exported .tflite model.

  python export/classify.py --model=OUT/model_int8.tflite --labels=OUT/labels.txt a.wav b.flac
  arecord -f S16_LE -r 16000 -c 1 -t raw | python export/classify.py --model=... --labels=... --stream

Imports only NumPy, soundfile, soxr and ai-edge-litert — no TensorFlow — so it runs on a
Raspberry Pi after `pip install -r export/requirements-edge.txt`. Any sample rate and channel
count in; overlapping windows every --hop_seconds; per-window top-k and a clip result.
"""

import argparse
import json
import os
import pathlib
import sys

os.environ["KERAS_RAWAUDIO_IO_ONLY"] = "1"  # keras_rawaudio's TensorFlow-free modules only
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from keras_rawaudio.audio_io import AudioError, load_audio, resample  # noqa: E402
from keras_rawaudio.edge import EdgeClassifier, EdgeModelError, sliding_windows  # noqa: E402

COMBINE = {"max": np.max, "mean": np.mean}


def top(scores, labels, k):
    order = np.argsort(-scores)[:k]
    return [{"label": labels[i], "score": round(float(scores[i]), 4)} for i in order]


def classify_file(path, model, labels, args):
    """One file → {'file', 'top', 'windows'}; raises AudioError for unusable audio."""
    waveform, _ = load_audio(path, args.sample_rate)
    hop = max(1, round(args.hop_seconds * args.sample_rate))
    scores = model.predict(sliding_windows(waveform, model.window_samples, hop))
    windows = [{"start_seconds": round(i * hop / args.sample_rate, 3), "top": top(s, labels, args.top_k)} for i, s in enumerate(scores)]
    return {"file": str(path), "top": top(COMBINE[args.combine](scores, axis=0), labels, args.top_k), "windows": windows}


def show(result, args):
    if args.json:
        print(json.dumps(result), flush=True)
        return
    line = ", ".join(f"{t['label']} {t['score']:.3f}" for t in result["top"])
    print(f"{result['file']}: {line}  ({len(result['windows'])} windows)", flush=True)
    if args.windows:
        for w in result["windows"]:
            print(f"  {w['start_seconds']:8.2f} s  " + ", ".join(f"{t['label']} {t['score']:.3f}" for t in w["top"]))


def pcm_chunks(source, rate, samples):
    """Yields float32 mono chunks of `samples` from stdin (raw s16le) or a microphone."""
    if source == "mic":
        try:
            import sounddevice
        except ImportError:
            raise SystemExit("classify: error: --stream=mic needs `pip install sounddevice`") from None
        with sounddevice.RawInputStream(samplerate=rate, channels=1, dtype="int16", blocksize=samples) as mic:
            while True:
                data, _ = mic.read(samples)
                yield np.frombuffer(data, np.int16).astype(np.float32) / 32768.0
    while data := sys.stdin.buffer.read(2 * samples):
        yield np.frombuffer(data[: len(data) // 2 * 2], np.int16).astype(np.float32) / 32768.0


def stream(model, labels, args):
    """Classifies a live stream: one result per hop once a window has been heard."""
    hop = max(1, round(args.hop_seconds * args.sample_rate))
    buffer = np.zeros(0, np.float32)
    heard = 0.0
    for chunk in pcm_chunks(args.stream, args.stream_rate, round(args.hop_seconds * args.stream_rate)):
        buffer = np.concatenate([buffer, resample(chunk, args.stream_rate, args.sample_rate)])
        while len(buffer) >= model.window_samples:
            scores = model.predict(buffer[None, : model.window_samples])[0]
            show({"file": "<stream>", "start_seconds": round(heard, 3), "top": top(scores, labels, args.top_k), "windows": []}, args)
            buffer, heard = buffer[hop:], heard + hop / args.sample_rate


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="audio files (WAV, FLAC, OGG, MP3, ...)")
    parser.add_argument("--model", required=True, help="exported .tflite file")
    parser.add_argument("--labels", required=True, help="labels.txt written by export_tflite.py")
    parser.add_argument("--top_k", type=int, default=5)
    parser.add_argument("--hop_seconds", type=float, default=0.5, help="window hop")
    parser.add_argument("--combine", choices=sorted(COMBINE), default="max", help="window scores → clip score")
    parser.add_argument("--sample_rate", type=int, default=16000, help="the model's sample rate")
    parser.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    parser.add_argument("--windows", action="store_true", help="also print each window's top-k (text mode)")
    parser.add_argument("--stream", nargs="?", const="stdin", choices=["stdin", "mic"], help="classify raw s16le mono PCM from stdin, or a microphone")
    parser.add_argument("--stream_rate", type=int, default=16000, help="sample rate of the stream")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads")
    args = parser.parse_args(argv)
    if not args.files and not args.stream:
        parser.error("give audio files or --stream")
    if args.top_k < 1 or args.hop_seconds <= 0:
        parser.error("--top_k must be >= 1 and --hop_seconds > 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        model = EdgeClassifier(args.model, num_threads=args.threads)
        labels = [line.strip() for line in pathlib.Path(args.labels).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (EdgeModelError, OSError) as error:
        print(f"classify: error: {error}", file=sys.stderr)
        return 2
    if len(labels) != model.num_classes:
        print(f"classify: error: {args.labels} has {len(labels)} labels but {args.model} outputs {model.num_classes} classes", file=sys.stderr)
        return 2
    if args.stream:
        stream(model, labels, args)
        return 0
    failed = 0
    for path in args.files:
        try:
            show(classify_file(path, model, labels, args), args)
        except AudioError as error:
            failed += 1
            print(f"classify: {path}: {error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
