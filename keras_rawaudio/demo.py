"""`make demo`: the main job, end to end, on an embedded default dataset.

  python -m keras_rawaudio.demo                              # generated multi-label sound events
  python -m keras_rawaudio.demo --data=FOLDER --out=DIR      # your own folder of classes

Generates the data (or takes yours), converts it to TFRecords, trains the `edge` raw model
with mix-training then fine-tuning, evaluates it on the test split, exports it to TFLite at
its training window and classifies a test clip on the TensorFlow-free edge runner, printing
each stage's result. Everything lands in --out (default: demo_run in the current directory);
running again reuses what is finished.
"""

import json
import pathlib
import time

from keras_rawaudio import cli, layouts
from keras_rawaudio.errors import RunError, check_choices
from keras_rawaudio.files import check_directory

STAGES = 6


def define_flags():
    from absl import flags

    from keras_rawaudio.export import MODES

    flags.DEFINE_string(
        "data", None, "A folder of classes (<class>/<audio files>); default: generated data."
    )
    flags.DEFINE_string("out", "demo_run", "Working directory.")
    flags.DEFINE_integer("clips", 600, "Generated clips.", lower_bound=30)
    flags.DEFINE_float(
        "clip_seconds",
        1.0,
        "Length of the generated clips, and the training and export window.",
        lower_bound=1.0,
    )
    flags.DEFINE_integer("epochs", 16, "Mix-training epochs.", lower_bound=0)
    flags.DEFINE_integer("finetune_epochs", 6, "Fine-tuning epochs.", lower_bound=0)
    flags.DEFINE_integer(
        "frontend_pretraining_epochs",
        10,
        "Epochs fitting the front-end to a log-mel image before training.",
        lower_bound=0,
    )
    flags.DEFINE_list("quantize", list(MODES), "Export modes.")


def stage(number, title):
    print(f"\n== {number}/{STAGES} {title}", flush=True)
    return time.perf_counter()


def done(start, message):
    print(f"   {message} [{time.perf_counter() - start:.0f} s]", flush=True)


def make_records(out: pathlib.Path, data, clips, clip_seconds) -> tuple[pathlib.Path, pathlib.Path]:
    """Stages 1-2: (TFRecord directory, a test audio file)."""
    from keras_rawaudio.data.writer import WriteOptions, make_tfrecords, summary
    from keras_rawaudio.synthetic import CLASSES, write_dataset

    records = out / "records"
    start = stage(1, "generate data" if data is None else f"list {data}")
    if data is None:
        meta = out / "audio" / "meta.csv"
        if not meta.exists():
            write_dataset(out / "audio", clips, clip_seconds)
        listing = layouts.list_csv(out / "audio", meta)
        done(
            start,
            f"{clips} clips of {clip_seconds:g} s of synthetic sound events "
            f"({', '.join(CLASSES)}): {meta}",
        )
    else:
        listing = layouts.list_folders(data, flag="--data")
        done(start, f"{len(listing.items)} files of {len(listing.vocabulary)} classes")
    start = stage(2, "make_tfrecords")
    info = make_tfrecords(
        listing, records, WriteOptions(clip_seconds=10.0), description={"layout": "demo"}
    )
    done(start, summary(info, records))
    test_file = next(pathlib.Path(item.path) for item in listing.items if item.split == "test")
    return records, test_file


def run_demo(
    out,
    data=None,
    clips=600,
    clip_seconds=1.0,
    epochs=16,
    finetune_epochs=6,
    quantize=None,
    frontend_pretraining_epochs=10,
) -> dict:
    """Runs every stage into `out`; returns {'history', 'test', 'export', 'classify'}.

    Every argument is checked before anything is written. `quantize`: export modes (None:
    every mode of `keras_rawaudio.export.MODES`)."""
    from keras_rawaudio.data.options import DataOptions
    from keras_rawaudio.edge import EdgeClassifier, classify_file, model_labels
    from keras_rawaudio.evaluate import evaluate
    from keras_rawaudio.export import MODES, ExportError, export, report_markdown
    from keras_rawaudio.models import model_summary
    from keras_rawaudio.scoring import Windowing
    from keras_rawaudio.train import Schedule, best_epoch, train

    out = check_directory(out, "out")
    modes = MODES if quantize is None else tuple(quantize)
    check_choices("quantize", modes, MODES, "modes")
    schedule = Schedule(
        DataOptions(mix="mix_training", clip_seconds=clip_seconds, cache=True, seed=0),
        epochs=epochs,
        finetune_epochs=finetune_epochs,
        learning_rate=3e-3,
        frontend_pretraining_epochs=frontend_pretraining_epochs,
    )
    records, test_file = make_records(out, data, clips, clip_seconds)

    start = stage(
        3,
        f"train the edge raw-waveform model: {epochs} epochs mix-training + {finetune_epochs} "
        f"fine-tuning",
    )
    best, history, _ = train(records, out / "run", "raw", "edge", schedule, verbose=2)
    summary, top = model_summary(best), best_epoch(history)
    done(
        start,
        f"best val mAP {top['val_mAP']:.4f} ({top['phase']} epoch {top['epoch']}); "
        f"{summary['parameters']:,} parameters, {summary['macs_per_second'] / 1e6:.1f} MMAC/s; "
        f"{out / 'run' / 'best.keras'}",
    )

    start = stage(4, "evaluate on the test split")
    metrics = evaluate(out / "run" / "best.keras", records, "test")
    reports = metrics.pop("reports")
    done(
        start,
        json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()})
        + f"\n   reports: {', '.join(reports)}",
    )

    start = stage(5, f"export to TFLite ({', '.join(modes)}) at the training window")
    try:
        report = export(out / "run" / "best.keras", records, out / "tflite", modes)
    except ExportError as error:  # the files that passed their checks are kept
        print(f"   {error}")
        report = json.loads((out / "tflite" / "export_report.json").read_text())
    done(start, "\n   ".join(report_markdown(report).strip().splitlines()))

    start = stage(6, "classify a test clip on the edge runner (no TensorFlow)")
    mode = next(
        (m for m in ("int8", "dynamic", "float32", "float16") if m in report["files"]), None
    )
    if mode is None:
        raise RunError(
            f"no exported file passed its checks (see {out / 'tflite' / 'export_report.md'})"
        )
    runner = EdgeClassifier(out / "tflite" / f"model_{mode}.tflite")
    result = classify_file(
        test_file, runner, model_labels(runner), Windowing(runner.window_samples), top_k=3
    )
    line = ", ".join(f"{t['label']} {t['score']:.3f}" for t in result["top"])
    done(start, f"{test_file}: {line}  (model_{mode}.tflite)")
    return {"history": history, "test": metrics, "export": report, "classify": result}


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    run_demo(
        FLAGS.out,
        FLAGS.data,
        FLAGS.clips,
        FLAGS.clip_seconds,
        FLAGS.epochs,
        FLAGS.finetune_epochs,
        FLAGS.quantize,
        FLAGS.frontend_pretraining_epochs,
    )
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
