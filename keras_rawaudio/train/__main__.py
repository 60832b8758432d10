"""Training: the paper's two-phase schedule (mix-training, then fine-tuning on unmixed clips).

  python -m keras_rawaudio.train --data_dir=DATA --model_dir=RUN [--flagfile=FILE]

Writes the run directory (`keras_rawaudio.train.run_directory`): its files are written at the
first epoch's end a minute after the last write (`--checkpoint_seconds`) and after each phase's
last epoch. Running the same command again resumes from the last checkpoint, repeating the
epochs trained after it. Validation mAP is the clip score of `keras_rawaudio.scoring` on whole
validation recordings, the same figure `evaluate --split=val` and the export report give.
"""

import pathlib

from keras_rawaudio import cli
from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.presets import PRESETS
from keras_rawaudio.train.flags import (
    define_training_flags,
    model_overrides_from_flags,
    schedule_from_flags,
)
from keras_rawaudio.train.loop import CHECKPOINT_SECONDS, MODELS, best_epoch, train


def define_flags():
    from absl import flags

    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords.", required=True)
    flags.DEFINE_string(
        "model_dir", None, "Run directory (created; an unfinished run is resumed).", required=True
    )
    flags.DEFINE_enum("model", "raw", list(MODELS), "Front-end: raw waveform or log-mel.")
    flags.DEFINE_enum(
        "preset", "edge", list(PRESETS), "Model size (see keras_rawaudio.presets.PRESETS)."
    )
    define_training_flags()
    flags.DEFINE_enum(
        "distribute",
        "none",
        ["none", "mirrored", "multi_worker"],
        "none; mirrored: tf.distribute over this machine's GPUs; multi_worker: keras.distribution "
        "DataParallel over every process of the job (KERAS_BACKEND=jax and the "
        "KERAS_DISTRIBUTION_* variables; keras_rawaudio.train.distribution).",
    )
    flags.DEFINE_enum(
        "progress",
        "bar",
        ["bar", "epoch", "none"],
        "Keras progress: a bar, a line per epoch, or none.",
    )
    flags.DEFINE_float(
        "checkpoint_seconds",
        CHECKPOINT_SECONDS,
        "Write the resumable checkpoint, the best weights and "
        "history.json once this many seconds have passed since the last write, and after each "
        "phase; 0: after every epoch.",
        lower_bound=0,
    )


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    raw_only = [
        f"--{name}"
        for name in ("frontend", "gabor_learning_rate_scale", "frontend_compression")
        if FLAGS[name].value is not None
    ]
    if FLAGS.model == "logmel" and raw_only:
        raise InputError(
            f"{', '.join(raw_only)}: the log-mel model's front-end is fixed; these flags are for "
            f"--model=raw"
        )
    verbose = {"bar": 1, "epoch": 2, "none": 0}[FLAGS.progress]
    _, history, seconds = train(
        FLAGS.data_dir,
        FLAGS.model_dir,
        FLAGS.model,
        FLAGS.preset,
        schedule_from_flags(FLAGS),
        FLAGS.distribute,
        verbose,
        model_overrides_from_flags(FLAGS),
        FLAGS.checkpoint_seconds,
    )
    best = best_epoch(history)
    if best is None:
        raise RunError(f"no epoch of {FLAGS.model_dir} has a validation mAP")
    print(
        f"done in {seconds:.0f} s; best val mAP {best['val_mAP']:.4f} ({best['phase']} epoch "
        f"{best['epoch']}); "
        f"model: {pathlib.Path(FLAGS.model_dir) / 'best.keras'}"
    )
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
