"""Where an epoch of `keras_rawaudio.train` spends its time, beyond the training steps.

Trains the default recipe's first phase (mix-training, `edge` preset, front-end pretraining
off) for a few epochs through `fit_mix_then_finetune` itself and prints, over the epochs but
the first (which traces the training step) and the last, min / median / max of: an epoch's
wall time from its start to the next one's; its training steps, split into the first batch
(which waits for the input pipeline's iterator when an epoch starts one) and the others; and
what runs after the steps (validation scoring, checkpoints). The data are generated 1 s clips
(320 train, 40 val) unless `--data_dir` names records of your own (a drums16k fold: about
300 train clips, 9 batches an epoch, 126 validation recordings).

  python bench/epoch_bench.py [--data_dir=RECORDS] [--epochs=8] [--preset=edge]
"""

import pathlib
import statistics
import tempfile
import time

from absl import flags

from keras_rawaudio import cli


def define_flags():
    flags.DEFINE_string(
        "data_dir", None, "make_tfrecords output to train on (default: generated clips)."
    )
    flags.DEFINE_string("preset", "edge", "Preset of the raw-waveform model.")
    flags.DEFINE_integer(
        "epochs", 8, "Epochs to run (the first and last are not timed).", lower_bound=3
    )


def spread(values) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s"


def main(argv) -> int:
    import keras

    from keras_rawaudio import RawWaveformClassifier
    from keras_rawaudio.data import read_labels
    from keras_rawaudio.data.synthetic_records import write_records
    from keras_rawaudio.train import Schedule, fit_mix_then_finetune

    class Clock(keras.callbacks.Callback):
        """Per epoch: the times of its start and of each batch's end."""

        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append([time.perf_counter()])

        def on_train_batch_end(self, batch, logs=None):
            self.epochs[-1].append(time.perf_counter())

    FLAGS = flags.FLAGS
    with tempfile.TemporaryDirectory() as directory:
        root = pathlib.Path(directory)
        data_dir = FLAGS.data_dir or write_records(root, clips=400, seconds=1.0)
        keras.utils.set_random_seed(0)
        model = RawWaveformClassifier.from_preset(
            FLAGS.preset, num_classes=len(read_labels(data_dir))
        )
        clock = Clock()
        schedule = Schedule(epochs=FLAGS.epochs, finetune_epochs=0, frontend_pretraining_epochs=0)
        fit_mix_then_finetune(model, data_dir, root / "run", schedule, verbose=0, callbacks=[clock])
    # An epoch runs from its start to the next one's (its end callbacks, checkpoints included);
    # the first epoch (tracing) and the last (no next start) are left out.
    epochs = clock.epochs[1:-1]
    walls = [later[0] - epoch[0] for epoch, later in zip(epochs, clock.epochs[2:])]
    steps = [epoch[-1] - epoch[0] for epoch in epochs]
    first_batches = [epoch[1] - epoch[0] for epoch in epochs]
    other_batches = [(epoch[-1] - epoch[1]) / (len(epoch) - 2) for epoch in epochs]
    print(
        f"{FLAGS.preset}, {len(epochs[0]) - 1} batches an epoch of "
        f"{FLAGS.data_dir or 'generated clips'}; {len(walls)} epochs after the first, min / median "
        f"/ max:"
    )
    print(f"  an epoch, start to next start:        {spread(walls)}")
    print(f"  its training steps:                   {spread(steps)}")
    print(f"    its first batch (iterator start):   {spread(first_batches)}")
    print(f"    each other batch:                   {spread(other_batches)}")
    print(
        "  after its steps (validation, checkpoints): "
        f"{spread([w - s for w, s in zip(walls, steps)])}"
    )
    print(
        "first epoch's first batch (tracing the training step): "
        f"{clock.epochs[0][1] - clock.epochs[0][0]:.2f} s"
    )
    return 0


if __name__ == "__main__":
    cli.run(main, define_flags)
