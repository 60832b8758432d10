"""The paper's comparison of training strategies, on any dataset, over seeds and folds.

  python -m keras_rawaudio.ablate --data_dir=DATA --out=DIR [--seeds=0,1,2]
  python -m keras_rawaudio.ablate --meta=META.csv --input_dir=AUDIO --folds=1,2,3,4,5 --out=DIR \
      [--seeds=0] [--train_fractions=0.25,0.5,1]

Trains each strategy with the same schedule, data options and number of epochs in total:

  raw_none             raw model, no mixing (epochs + finetune_epochs epochs)
  raw_mixup            raw model, mixup (epochs + finetune_epochs epochs, no fine-tuning)
  raw_mix_training     raw model, mix-training then unmixed fine-tuning (the paper)
  logmel_mix_training  log-mel model, mix-training then fine-tuning
  classical            log-mel statistics + logistic regression (`keras_rawaudio.baseline`)

and scores each on the test split the one way `keras_rawaudio.scoring` defines, and each deep
run on test streams too (`evaluate_streams`: event F1, false events an hour on quiet and on
loud backgrounds). With a TFRecord
directory (--data_dir) only the seed varies. With an ESC-50-style dataset (--meta: filename,
label, fold) every fold of --folds is the test split in turn, the next one validation, and
the others train: k-fold cross-validation. --train_fractions keeps that fraction of each
class's training recordings (the same subset for every seed and strategy): the data-scarcity
curve. Writes DIR/ablation.json (each run name → {"mAP": mean test mAP, "mAP_sd", "values":
one per fold and seed, ...} at the largest fraction, and "scarcity" with every fraction),
DIR/ablation.md and, with several fractions, DIR/scarcity.png. Finished runs are kept: run it
again to resume or to rebuild the tables. --workers=N trains N runs at a time, each in its own
process with 1/N of the cores: on 2 CPU cores, --workers=2 did the whole drums16k comparison
1.14× faster than one run at a time, because a small model's training step does not keep two
cores busy (docs/benchmarks/training.md#two-runs-at-a-time-one-core-each-0311).
"""

import dataclasses
import functools
import json
import os
import pathlib
import random

import numpy as np

from keras_rawaudio import cli, layouts
from keras_rawaudio.data.options import MAX_SEED
from keras_rawaudio.errors import InputError, check_choices, check_distinct
from keras_rawaudio.files import check_directory, save_figure, write_atomic
from keras_rawaudio.presets import PRESETS, preset_config
from keras_rawaudio.processes import worker_pool
from keras_rawaudio.train import Schedule
from keras_rawaudio.train.flags import (
    define_training_flags,
    model_overrides_from_flags,
    schedule_from_flags,
)

RUNS = ("raw_none", "raw_mixup", "raw_mix_training", "logmel_mix_training", "classical")
LEVELS_DB = (-12.0, 6.0)  # test audio scaled by these gains: how much the mAP moves
METRICS = ("mAP", "AUC", "d_prime", "accuracy", "level_change")
STREAM_METRICS = ("event_f1", "false_events_quiet", "false_events_loud")  # deep runs only


def runs(schedule: Schedule) -> dict:
    """{name: (model, schedule)} of the deep runs: each trains epochs + finetune_epochs epochs."""
    total = schedule.epochs + schedule.finetune_epochs

    def alone(mix):
        return schedule.replace(
            data=schedule.data.replace(mix=mix), epochs=total, finetune_epochs=0
        )

    mixed = schedule.replace(data=schedule.data.replace(mix="mix_training"))
    return {
        "raw_none": ("raw", alone("none")),
        "raw_mixup": ("raw", alone("mixup")),
        "raw_mix_training": ("raw", mixed),
        "logmel_mix_training": (
            "logmel",
            mixed.replace(frontend_pretraining_epochs=0),
        ),  # its filterbank is fixed: nothing to pretrain
    }


@dataclasses.dataclass(frozen=True)
class Split:
    """One train/val/test division of the data: its name and its TFRecord directory."""

    name: str
    records: pathlib.Path
    train_fraction: float = 1.0


def subsample(listing: layouts.Listing, fraction: float) -> layouts.Listing:
    """`listing` with `fraction` of each class's train items (at least one; the same subset every
    time)."""
    if fraction >= 1:
        return listing
    by_class = {}
    for item in listing.items:
        if item.split == "train":
            by_class.setdefault(item.labels[0], []).append(item)
    kept = set()
    for label, items in sorted(by_class.items()):
        items = sorted(items, key=lambda i: i.clip_id)
        random.Random(f"{fraction}/{label}").shuffle(items)
        kept.update(i.clip_id for i in items[: max(1, round(fraction * len(items)))])
    items = [i for i in listing.items if i.split != "train" or i.clip_id in kept]
    return layouts.Listing(listing.vocabulary, items, listing.skipped)


def fold_splits(meta, input_dir, folds, fractions, out: pathlib.Path) -> list[Split]:
    """Cross-validation: each fold of `folds` as test in turn, the next one as validation;
    records written (or resumed) under out/records/."""
    from keras_rawaudio.data.writer import WriteOptions, make_tfrecords

    if len(folds) < 3:
        raise InputError(
            f"--folds needs at least 3 folds (test, validation, train), got {list(folds)}"
        )
    listings = []  # every fold is checked before any record is written
    for k, test in enumerate(folds):
        val = folds[(k + 1) % len(folds)]
        listing = layouts.list_esc50(
            input_dir, meta, str(val), str(test), fold_flags=("--folds", "--folds")
        )
        for split, fold in (("test", test), ("val", val)):
            if not any(i.split == split for i in listing.items):
                raise InputError(f"--meta {meta} has no usable recording in fold {fold}")
        listings.append((test, val, listing))
    splits = []
    for test, val, listing in listings:
        for fraction in fractions:
            name = f"fold{test}-fraction{fraction:g}"
            records = out / "records" / name
            print(f"== records {name} (test fold {test}, validation fold {val})", flush=True)
            make_tfrecords(
                subsample(listing, fraction),
                records,
                WriteOptions(clip_seconds=10.0, files_per_shard=64),
                description={"layout": "esc50", "test_fold": test, "val_fold": val},
            )
            splits.append(Split(name, records, fraction))
    return splits


def level_changes(metrics: dict, map_at) -> dict:
    """The test mAP at each gain of LEVELS_DB (`map_at(gain_db)`), and the largest change."""
    levels = {f"mAP_{gain:+g}dB": map_at(gain) for gain in LEVELS_DB}
    return {**levels, "level_change": max(abs(v - metrics["mAP"]) for v in levels.values())}


def train_and_test(
    name, split: Split, schedule: Schedule, preset, directory: pathlib.Path, model_overrides=None
) -> dict:
    """Trains (or resumes) one run and returns its test metrics (also of louder and quieter
    test audio) and costs."""
    from keras_rawaudio.evaluate import evaluate
    from keras_rawaudio.evaluate_streams import evaluate_streams
    from keras_rawaudio.models import model_summary
    from keras_rawaudio.train import best_epoch, train

    model, plan = runs(schedule)[name]
    best, history, seconds = train(
        split.records, directory, model, preset, plan, verbose=0, model_overrides=model_overrides
    )
    timing = directory / "wall_seconds.json"  # a resumed run keeps the time of its first finish
    if not timing.exists():
        write_atomic(timing, json.dumps(seconds))

    def test(gain):
        return evaluate(
            directory / "best.keras", split.records, "test", reports=False, gain_db=gain
        )

    metrics = test(0.0)
    streams = evaluate_streams(
        directory / "best.keras", split.records, "test", plan.data.background_dir
    )
    return {
        **metrics,
        "event_f1": streams["f1"],
        "false_events_quiet": streams["false_events_quiet"],
        "false_events_loud": streams["false_events_loud"],
        **level_changes(metrics, lambda gain: test(gain)["mAP"]),
        **model_summary(best),
        "wall_seconds": json.loads(timing.read_text()),
        "best_val_mAP": best_epoch(history)["val_mAP"],
    }


def classical_test(split: Split, seed, mel_range_hz) -> dict:
    """Fits the classical baseline, its log-mel over `mel_range_hz`, on the split's train and val
    recordings; its test metrics."""
    from keras_rawaudio.baseline import ClassicalBaseline
    from keras_rawaudio.clip_metrics import clip_metrics
    from keras_rawaudio.data.reading import load_recordings

    train, val, test = (load_recordings(split.records, s) for s in ("train", "val", "test"))
    baseline = ClassicalBaseline(seed=seed, lower_hz=mel_range_hz[0], upper_hz=mel_range_hz[1]).fit(
        train, val
    )
    scaled = lambda gain: [np.clip(w * 10 ** (gain / 20), -1, 1) for w in test.waveforms]  # noqa: E731
    metrics = clip_metrics(test.labels, baseline.predict(test.waveforms))
    return {
        **metrics,
        **level_changes(
            metrics, lambda gain: clip_metrics(test.labels, baseline.predict(scaled(gain)))["mAP"]
        ),
        "C": baseline.c,
        "best_val_mAP": baseline.val_map[baseline.c],
    }


def summarise(values: list[dict]) -> dict:
    """Mean and standard deviation (over folds and seeds) of each metric, with the values."""
    summary = {"n": len(values), "values": values}
    for key in (*METRICS, *(k for k in STREAM_METRICS if all(k in v for v in values))):
        column = np.array([v[key] for v in values], np.float64)
        summary[key] = float(column.mean())
        summary[f"{key}_sd"] = float(column.std(ddof=1)) if len(column) > 1 else 0.0
    return summary


def run_one(
    split: Split, seed, name, schedule: Schedule, preset, out: pathlib.Path, model_overrides=None
) -> dict:
    """Trains (or resumes) and tests one run of one split and seed; its row of the ablation."""
    print(f"== {split.name} seed {seed}: {name}", flush=True)
    if name == "classical":
        config = preset_config(preset, 1, **(model_overrides or {}))  # the models' mel range
        metrics = classical_test(split, seed, (config.mel_min_hz, config.mel_max_hz))
    else:
        seeded = schedule.replace(data=schedule.data.replace(seed=seed))
        metrics = train_and_test(
            name, split, seeded, preset, out / split.name / f"seed{seed}" / name, model_overrides
        )
    print(f"   {split.name} seed {seed}: {name}: test mAP {metrics['mAP']:.4f}", flush=True)
    return {
        "split": split.name,
        "seed": seed,
        **{k: v for k, v in metrics.items() if not isinstance(v, list)},
    }


def share_cores(threads: int):
    """Setup of a worker process: TensorFlow gets `threads` threads for one op and as many for
    independent ops, and takes GPU memory as it needs it (so that workers can share a GPU)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)


def run_all(run, jobs: list[tuple], workers: int) -> list[dict]:
    """`run(*job)` of each job, in order; with workers > 1 in as many spawned processes, sharing
    this machine's cores between them."""
    if workers <= 1 or len(jobs) <= 1:
        return [run(*job) for job in jobs]
    workers = min(workers, len(jobs))
    with worker_pool(
        workers, share_cores, (max(1, len(os.sched_getaffinity(0)) // workers),)
    ) as pool:
        futures = [pool.submit(run, *job) for job in jobs]
        try:
            return [future.result() for future in futures]
        except BaseException:
            pool.shutdown(cancel_futures=True)  # the runs in progress finish (they resume anyway)
            raise


def ablate(
    splits: list[Split],
    out,
    schedule: Schedule = Schedule(),
    preset="edge",
    seeds=(0,),
    names=RUNS,
    model_overrides=None,
    workers=1,
) -> dict:
    """Every run of `names` on every split and seed, `workers` at a time; writes and returns
    the ablation dict."""
    out = pathlib.Path(out)
    check_choices("runs", names, RUNS, "runs")
    out.mkdir(parents=True, exist_ok=True)
    run = functools.partial(
        run_one, schedule=schedule, preset=preset, out=out, model_overrides=model_overrides
    )
    jobs = [(split, seed, name) for split in splits for seed in seeds for name in names]
    results = {}  # (fraction, name) → [metrics per split and seed]
    for (split, _, name), row in zip(jobs, run_all(run, jobs, workers)):
        results.setdefault((split.train_fraction, name), []).append(row)
    fractions = sorted({f for f, _ in results})
    scarcity = {f"{f:g}": {name: summarise(results[f, name]) for name in names} for f in fractions}
    ablation = {**scarcity[f"{fractions[-1]:g}"], "scarcity": scarcity}
    write_atomic(out / "ablation.json", json.dumps(ablation, indent=2))
    write_atomic(out / "ablation.md", table(ablation, splits, schedule, preset, seeds))
    if len(fractions) > 1:
        plot_scarcity(scarcity, out / "scarcity.png")
    return ablation


def table(ablation, splits, schedule: Schedule, preset, seeds) -> str:
    fractions = list(ablation["scarcity"])
    batches = schedule.steps_per_epoch or f"at least {schedule.min_steps_per_epoch}"
    lines = [
        f"Ablation on {len({s.name.split('-')[0] for s in splits})} split(s) × seeds "
        f"{list(seeds)}; preset {preset}; "
        f"{schedule.epochs} + {schedule.finetune_epochs} epochs of {batches} batches per deep run "
        f"(mix-training runs: "
        "the second part is unmixed fine-tuning); test metrics, mean ± sd over splits and seeds; "
        f"train fraction {fractions[-1]}.",
        "",
        "| run | test mAP | AUC | d′ | accuracy | mAP change at −12/+6 dB | n | best val mAP "
        "| event F1 | false events/h, quiet | loud |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in ((n, r) for n, r in ablation.items() if n != "scarcity"):
        cells = " | ".join(f"{r[k]:.4f} ± {r[f'{k}_sd']:.4f}" for k in METRICS)
        best_val = np.mean([v["best_val_mAP"] for v in r["values"]])
        streams = " | ".join(
            f"{r[k]:.3g} ± {r[f'{k}_sd']:.2g}" if k in r else "–" for k in STREAM_METRICS
        )
        lines.append(f"| {name} | {cells} | {r['n']} | {best_val:.4f} | {streams} |")
    if len(fractions) > 1:
        lines += [
            "",
            "Test mAP by fraction of the training recordings kept (data scarcity):",
            "",
            "| run | " + " | ".join(fractions) + " |",
            "|---|" + "---:|" * len(fractions),
        ]
        for name in ablation["scarcity"][fractions[0]]:
            cells = " | ".join(
                f"{ablation['scarcity'][f][name]['mAP']:.4f} ± "
                f"{ablation['scarcity'][f][name]['mAP_sd']:.4f}"
                for f in fractions
            )
            lines.append(f"| {name} | {cells} |")
    return "\n".join(lines) + "\n"


def plot_scarcity(scarcity: dict, path):
    """Test mAP (mean ± sd) against the fraction of training data, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fractions = [float(f) for f in scarcity]
    figure, axis = plt.subplots(figsize=(6, 4))
    for name in scarcity[next(iter(scarcity))]:
        means = np.array([scarcity[f][name]["mAP"] for f in scarcity])
        sds = np.array([scarcity[f][name]["mAP_sd"] for f in scarcity])
        axis.errorbar(fractions, means, yerr=sds, marker="o", capsize=3, label=name)
    axis.set_xlabel("fraction of the training recordings")
    axis.set_ylabel("test mAP")
    axis.legend()
    figure.tight_layout()
    save_figure(figure, path, dpi=100)
    plt.close(figure)


def define_flags():
    from absl import flags

    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords (a fixed split).")
    flags.DEFINE_string(
        "meta", None, "Or an ESC-50-style meta CSV (filename,label,fold) for cross-validation."
    )
    flags.DEFINE_string("input_dir", None, "With --meta: the audio root directory.")
    flags.DEFINE_list(
        "folds", ["1", "2", "3", "4", "5"], "With --meta: the folds, each the test split in turn."
    )
    flags.DEFINE_list(
        "train_fractions", ["1"], "With --meta: fractions of each class's training recordings kept."
    )
    flags.DEFINE_list("seeds", ["0"], "Seeds; every run is trained once per seed and split.")
    flags.DEFINE_list("runs", list(RUNS), "Runs to compare.")
    flags.DEFINE_string(
        "out", None, "Output directory (run directories, records, tables).", required=True
    )
    flags.DEFINE_enum(
        "preset", "edge", list(PRESETS), "Model size (see keras_rawaudio.presets.PRESETS)."
    )
    flags.DEFINE_integer(
        "workers",
        1,
        "Runs trained at a time, each in its own process with its share of the cores.",
        lower_bound=1,
    )
    define_training_flags(one_run=False)  # each run sets its own mix and starts anew


def numbers(flag, values, kind):
    """The comma-separated `values` of --flag as distinct `kind`s, at least one, or an InputError
    naming the flag."""
    try:
        result = tuple(kind(v) for v in values)
    except ValueError:
        raise InputError(
            f"--{flag} must be comma-separated {kind.__name__}s, got {','.join(values)!r}"
        ) from None
    if not result:
        raise InputError(f"--{flag} needs at least one value")
    check_distinct(flag, result)
    return result


def splits_from_flags(FLAGS, out: pathlib.Path) -> list[Split]:
    if bool(FLAGS.data_dir) == bool(FLAGS.meta):
        raise InputError(
            "give either --data_dir (a fixed split) or --meta and --input_dir (cross-validation)"
        )
    if FLAGS.data_dir:
        return [Split("split", pathlib.Path(FLAGS.data_dir))]
    if not FLAGS.input_dir:
        raise InputError("--meta needs --input_dir")
    fractions = numbers("train_fractions", FLAGS.train_fractions, float)
    if not all(0 < f <= 1 for f in fractions):
        raise InputError(f"--train_fractions must be in (0, 1], got {list(fractions)}")
    return fold_splits(
        FLAGS.meta, FLAGS.input_dir, numbers("folds", FLAGS.folds, int), sorted(fractions), out
    )


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    out = check_directory(FLAGS.out, "out")
    # Every flag is checked before the records of the splits are written.
    seeds, names = numbers("seeds", FLAGS.seeds, int), tuple(FLAGS.runs)
    if not all(0 <= seed <= MAX_SEED for seed in seeds):
        raise InputError(f"--seeds must be in [0, {MAX_SEED}], got {list(seeds)}")
    check_choices("runs", names, RUNS, "runs")
    schedule = schedule_from_flags(FLAGS)
    overrides = model_overrides_from_flags(FLAGS)
    preset_config(FLAGS.preset, 1, **overrides)
    ablate(
        splits_from_flags(FLAGS, out),
        out,
        schedule,
        FLAGS.preset,
        seeds,
        names,
        overrides,
        FLAGS.workers,
    )
    print((out / "ablation.md").read_text())
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
