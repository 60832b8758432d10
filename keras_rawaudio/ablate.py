"""The paper's comparison of training strategies, on any dataset.

  python -m keras_rawaudio.ablate --data_dir=DATA --out=DIR --epochs=30 --finetune_epochs=10

Trains, with the same seed, data options and number of epochs in total:
  raw + none, raw + mixup (no fine-tuning, as mixup is used), raw + mix_training + fine-tune,
  logmel + mix_training + fine-tune;
evaluates each best model on the test split and writes DIR/ablation.md and DIR/ablation.json.
Finished runs are kept: run it again to resume or to rebuild the table.
"""

import json
import pathlib

from keras_rawaudio import cli
from keras_rawaudio.config import PRESETS
from keras_rawaudio.evaluate import evaluate
from keras_rawaudio.files import write_atomic
from keras_rawaudio.profiling import model_summary
from keras_rawaudio.train import Schedule, define_schedule_flags, schedule_from_flags, train


def runs(schedule: Schedule) -> dict:
    """{name: (model, schedule)}: each run trains schedule.epochs + finetune_epochs epochs in all."""
    total = schedule.epochs + schedule.finetune_epochs
    alone = lambda mix: schedule.replace(data=schedule.data.replace(mix=mix), epochs=total, finetune_epochs=0)  # noqa: E731
    mixed = schedule.replace(data=schedule.data.replace(mix="mix_training"))
    return {
        "raw_none": ("raw", alone("none")),
        "raw_mixup": ("raw", alone("mixup")),
        "raw_mix_training": ("raw", mixed),
        "logmel_mix_training": ("logmel", mixed),
    }


def ablate(data_dir, out, schedule: Schedule = Schedule(), preset="edge", split="test") -> dict:
    """Trains and evaluates every run of `runs(schedule)` into `out`; returns {name: results}."""
    out = pathlib.Path(out)
    results = {}
    for name, (model, plan) in runs(schedule).items():
        run = out / name
        print(f"== {name}", flush=True)
        best, history, seconds = train(data_dir, run, model, preset, plan, verbose=2)
        timing = run / "wall_seconds.json"  # a resumed run keeps the time of its first finish
        if not timing.exists():
            write_atomic(timing, json.dumps(seconds))
        metrics = evaluate(run / "best.keras", data_dir, split, reports=False)
        results[name] = {**metrics, **model_summary(best), "wall_seconds": json.loads(timing.read_text()),
                         "best_val_mAP": max(h.get("val_mAP", float("nan")) for h in history)}
    write_atomic(out / "ablation.json", json.dumps(results, indent=2))
    write_atomic(out / "ablation.md", table(results, data_dir, split, schedule, preset))
    return results


def table(results, data_dir, split, schedule: Schedule, preset) -> str:
    lines = [
        f"Ablation on {data_dir}, {split} split; preset {preset}; {schedule.epochs} + {schedule.finetune_epochs} epochs "
        "per run (mix-training runs: the second part is unmixed fine-tuning).",
        "",
        "| run | test mAP | AUC | d′ | accuracy | best val mAP | params | MMAC/s | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['mAP']:.4f} | {r['AUC']:.4f} | {r['d_prime']:.3f} | {r['accuracy']:.4f} | "
            f"{r['best_val_mAP']:.4f} | {r['parameters']:,} | {r['macs_per_second'] / 1e6:.1f} | {r['wall_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def define_flags():
    from absl import flags

    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords.", required=True)
    flags.DEFINE_string("out", None, "Output directory (one run directory per strategy).", required=True)
    flags.DEFINE_enum("preset", "edge", list(PRESETS), "Model size (see keras_rawaudio.config.PRESETS).")
    define_schedule_flags(mix=False)  # each run sets its own


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    ablate(FLAGS.data_dir, FLAGS.out, schedule_from_flags(FLAGS), FLAGS.preset)
    print((pathlib.Path(FLAGS.out) / "ablation.md").read_text())
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
