"""`make demo`: the main job, end to end, on an embedded default dataset.

  python -m keras_rawaudio.demo                 # generated multi-label sound events
  python -m keras_rawaudio.demo --data=FOLDER   # your own folder of classes

Generates the data (or takes yours), converts it with make_tfrecords, trains the `edge` raw
model with mix-training then fine-tuning, evaluates it on the test split, exports it to TFLite
and classifies a test clip with the int8 file, printing each stage's result. Everything lands in --out (default demo_run/); running again reuses what
is finished.
"""

import json
import pathlib
import subprocess
import sys
import time

from absl import app, flags

flags.DEFINE_string("data", None, "A folder of classes (<class>/<audio files>); default: generated data.")
flags.DEFINE_string("out", "demo_run", "Working directory.")
flags.DEFINE_integer("clips", 600, "Generated clips (2 s each).")
flags.DEFINE_integer("epochs", 16, "Mix-training epochs.")
flags.DEFINE_integer("finetune_epochs", 6, "Fine-tuning epochs.")
flags.DEFINE_float("clip_seconds", 2.0, "Training window in seconds.")
FLAGS = flags.FLAGS

ROOT = pathlib.Path(__file__).resolve().parents[1]


def stage(title):
    print(f"\n== {title}", flush=True)
    return time.perf_counter()


def done(start, message):
    print(f"   {message} [{time.perf_counter() - start:.0f} s]", flush=True)


def make_records(out: pathlib.Path) -> pathlib.Path:
    records = out / "records"
    if FLAGS.data:
        layout = ["--layout=folders", f"--input_dir={FLAGS.data}"]
    else:
        from keras_rawaudio.synthetic import CLASSES, write_dataset

        start = stage(f"1. generate {FLAGS.clips} clips of synthetic sound events ({', '.join(CLASSES)})")
        meta = out / "audio" / "meta.csv"
        if not meta.exists():
            write_dataset(out / "audio", FLAGS.clips)
        done(start, f"{meta}")
        layout = ["--layout=csv", f"--meta={meta}", f"--input_dir={out / 'audio'}"]
    start = stage("2. make_tfrecords")
    command = [sys.executable, str(ROOT / "data_prep" / "make_tfrecords.py"), *layout, f"--output_dir={records}", "--clip_seconds=10"]
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if result.returncode:
        raise SystemExit(f"demo: make_tfrecords failed (exit {result.returncode})")
    done(start, result.stdout.strip().splitlines()[-1])
    return records


def main(argv):
    del argv
    out = pathlib.Path(FLAGS.out)
    records = make_records(out)

    import keras

    from keras_rawaudio.evaluate import evaluate
    from keras_rawaudio.profiling import model_summary
    from keras_rawaudio.train import Schedule, train

    keras.utils.set_random_seed(0)
    start = stage(f"3. train the edge raw-waveform model: {FLAGS.epochs} epochs mix-training + {FLAGS.finetune_epochs} fine-tuning")
    schedule = Schedule(mix="mix_training", epochs=FLAGS.epochs, finetune_epochs=FLAGS.finetune_epochs,
                        learning_rate=3e-3, clip_seconds=FLAGS.clip_seconds, cache=True)
    best, history, _ = train(records, out / "run", "raw", "edge", schedule, verbose=2)
    summary = model_summary(best)
    top = max(history, key=lambda h: h.get("val_mAP", -1))
    done(start, f"best val mAP {top['val_mAP']:.3f} ({top['phase']} epoch {top['epoch']}); "
                f"{summary['parameters']:,} parameters, {summary['macs_per_second'] / 1e6:.1f} MMAC/s; {out / 'run' / 'best.keras'}")

    start = stage("4. evaluate on the test split")
    metrics = evaluate(out / "run" / "best.keras", records, "test")
    reports = metrics.pop("reports")
    done(start, json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}))
    print(f"   reports: {', '.join(reports)}")

    start = stage("5. export to TFLite (float32, float16, dynamic, int8; 1 s windows)")
    sys.path.insert(0, str(ROOT / "export"))
    from export_tflite import ExportError, export, report_markdown

    try:
        report = export(out / "run" / "best.keras", records, out / "tflite", ["float32", "float16", "dynamic", "int8"], 1.0)
    except ExportError as error:  # the files that passed their checks are kept
        print(f"   {error}")
        report = json.loads((out / "tflite" / "export_report.json").read_text())
    done(start, "\n   ".join(report_markdown(report).strip().splitlines()))

    start = stage("6. classify a test clip on the edge runner (no TensorFlow)")
    mode = next(m for m in ("int8", "dynamic", "float32") if m in report["files"])
    clip = _a_test_clip(out)
    command = [sys.executable, str(ROOT / "export" / "classify.py"), f"--model={out / 'tflite' / f'model_{mode}.tflite'}",
               f"--labels={out / 'tflite' / 'labels.txt'}", "--top_k=3", str(clip)]
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    done(start, f"{result.stdout.strip()}  (model_{mode}.tflite; true labels: {_labels_of(out, clip)})")


def _a_test_clip(out: pathlib.Path) -> pathlib.Path:
    """The first test clip of the generated data, or the first audio file of --data."""
    if FLAGS.data:
        return next(p for p in sorted(pathlib.Path(FLAGS.data).rglob("*")) if p.is_file())
    row = next(r for r in (out / "audio" / "meta.csv").read_text().splitlines()[1:] if r.endswith(",test"))
    return out / "audio" / row.split(",")[0]


def _labels_of(out: pathlib.Path, clip: pathlib.Path) -> str:
    if FLAGS.data:
        return clip.parent.name
    rows = (out / "audio" / "meta.csv").read_text().splitlines()[1:]
    return next(r.split(",")[1] for r in rows if clip.as_posix().endswith(r.split(",")[0]))


if __name__ == "__main__":
    app.run(main)
