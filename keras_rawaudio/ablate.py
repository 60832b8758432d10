"""The paper's comparison of training strategies, on any dataset.

  python -m keras_rawaudio.ablate --data_dir=DATA --out=DIR --epochs=30 --finetune_epochs=10

Trains, with the same seed and the same number of epochs in total:
  raw + none, raw + mixup (no fine-tuning, as mixup is used), raw + mix_training + fine-tune,
  logmel + mix_training + fine-tune;
evaluates each best model on the test split and writes DIR/ablation.md and DIR/ablation.json.
Finished runs are kept: run it again to resume or to rebuild the table.
"""

import json
import pathlib
import sys

from keras_rawaudio.evaluate import evaluate
from keras_rawaudio.profiling import model_summary
from keras_rawaudio.train import Schedule, train


def runs(epochs, finetune_epochs):
    """(name, model, mix, phase-1 epochs, fine-tune epochs): each run trains epochs + finetune_epochs."""
    total = epochs + finetune_epochs
    return [
        ("raw_none", "raw", "none", total, 0),
        ("raw_mixup", "raw", "mixup", total, 0),
        ("raw_mix_training", "raw", "mix_training", epochs, finetune_epochs),
        ("logmel_mix_training", "logmel", "mix_training", epochs, finetune_epochs),
    ]


def ablate(data_dir, out, epochs, finetune_epochs, preset="edge", split="test", **schedule):
    out = pathlib.Path(out)
    results = {}
    for name, model, mix, phase1, phase2 in runs(epochs, finetune_epochs):
        run = out / name
        print(f"== {name}", flush=True)
        plan = Schedule(mix=mix, epochs=phase1, finetune_epochs=phase2, **schedule)
        best, history, seconds = train(data_dir, run, model, preset, plan, verbose=2)
        timing = run / "wall_seconds.json"  # a resumed run keeps the time of its first finish
        if not timing.exists():
            timing.write_text(json.dumps(seconds))
        metrics = evaluate(run / "best.keras", data_dir, split, reports=False)
        results[name] = {**metrics, **model_summary(best), "wall_seconds": json.loads(timing.read_text()),
                         "best_val_mAP": max(h.get("val_mAP", float("nan")) for h in history)}
    (out / "ablation.json").write_text(json.dumps(results, indent=2))
    (out / "ablation.md").write_text(table(results, data_dir, split, epochs, finetune_epochs, preset))
    return results


def table(results, data_dir, split, epochs, finetune_epochs, preset) -> str:
    lines = [
        f"Ablation on {data_dir}, {split} split; preset {preset}; {epochs} + {finetune_epochs} epochs per run "
        "(mix-training runs: the second part is unmixed fine-tuning).",
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


def main(argv):
    from absl import flags

    FLAGS = flags.FLAGS
    del argv
    results = ablate(
        FLAGS.data_dir, FLAGS.out, FLAGS.epochs, FLAGS.finetune_epochs, FLAGS.preset,
        batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate, clip_seconds=FLAGS.clip_seconds, seed=FLAGS.seed,
    )
    print((pathlib.Path(FLAGS.out) / "ablation.md").read_text())
    return 0 if results else 1


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords.py.", required=True)
    flags.DEFINE_string("out", None, "Output directory (one run directory per strategy).", required=True)
    flags.DEFINE_enum("preset", "edge", ["edge", "paper"], "Model size.")
    flags.DEFINE_integer("epochs", 30, "Phase-1 epochs (runs without fine-tuning get epochs + finetune_epochs).")
    flags.DEFINE_integer("finetune_epochs", 10, "Fine-tuning epochs of the mix-training runs.")
    flags.DEFINE_integer("batch_size", 32, "Batch size.")
    flags.DEFINE_float("learning_rate", 1e-3, "Phase-1 learning rate.")
    flags.DEFINE_float("clip_seconds", 1.0, "Training window in seconds.")
    flags.DEFINE_integer("seed", 0, "Seed shared by every run.")
    app.run(lambda argv: sys.exit(main(argv)))
