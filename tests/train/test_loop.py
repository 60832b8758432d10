import errno
import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import ROOT
from keras_rawaudio import RawWaveformClassifier
from keras_rawaudio.data import DataError, DataOptions
from keras_rawaudio.errors import ConfigError, RunError
from keras_rawaudio.evaluate import evaluate
from keras_rawaudio.train import (
    RunDirectory,
    Schedule,
    TrainingError,
    best_epoch,
    fit_mix_then_finetune,
)

DATA = DataOptions(batch_size=8, clip_seconds=1.0, mix="mix_training", cache=True, seed=0)
SCHEDULE = Schedule(
    DATA,
    epochs=3,
    finetune_epochs=2,
    learning_rate=3e-3,
    lr_schedule="constant",
    steps_per_epoch=15,
    frontend_pretraining_epochs=0,
)


class Interrupt(keras.callbacks.Callback):
    """Raises in the middle of a given (1-based) epoch of a given phase, like a killed process;
    keeps the optimizer's step count after each (phase, epoch)."""

    def __init__(self, epoch, phase=1):
        super().__init__()
        self.epoch, self.phase, self.fits, self.iterations = epoch, phase, 0, {}

    def on_train_begin(self, logs=None):
        self.fits += 1

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        self.iterations[self.fits, epoch + 1] = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        if (self.fits, self.current) == (self.phase, self.epoch) and batch == 2:
            raise KeyboardInterrupt("simulated kill")


class RunFiles(keras.callbacks.Callback):
    """The checkpoints in the run directory as each epoch starts, and the weights each epoch
    validated."""

    def __init__(self, run):
        super().__init__()
        self.run, self.checkpoints, self.validated = run, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.checkpoints.append(sorted(p.name for p in self.run.glob("checkpoint-*.keras")))

    def on_epoch_end(self, epoch, logs=None):
        self.validated.append([v.numpy().copy() for v in self.model.trainable_variables])


def test_an_interrupted_run_resumes_from_its_last_write_to_the_requested_epochs(
    synthetic_records, small_config, tmp_path
):
    """Killed in the first epoch of fine-tuning, with the files written at each phase's end only:
    phase 1 is kept whole, and the same command trains phase 2 again."""
    keras.utils.set_random_seed(0)
    interrupt, first = Interrupt(1, phase=2), RunFiles(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config),
            synthetic_records,
            tmp_path,
            SCHEDULE,
            verbose=0,
            callbacks=[interrupt, first],
            checkpoint_seconds=3600,
        )
    assert first.checkpoints == [
        [],
        [],
        [],
        ["checkpoint-0-3.keras"],
    ]  # nothing written before the phase's end
    state = json.loads((tmp_path / "state.json").read_text())
    assert (state["phase"], state["epoch"]) == (0, 3) and len(state["history"]) == 3
    saved = keras.saving.load_model(tmp_path / "checkpoint-0-3.keras")
    assert (
        saved.optimizer.iterations.numpy() == interrupt.iterations[1, 3] > 0
    )  # optimizer state kept
    # What a kill in the middle of a save leaves: the resumed run removes it.
    (tmp_path / ".tmp-best_mix_training.weights.h5").write_bytes(b"half")
    (tmp_path / ".tmp-state.json").write_text("{")

    resumed = RunFiles(tmp_path)
    best, history = fit_mix_then_finetune(
        RawWaveformClassifier(small_config),
        synthetic_records,
        tmp_path,
        SCHEDULE,
        verbose=0,
        callbacks=[resumed],
        checkpoint_seconds=3600,
    )
    assert [(h["phase"], h["epoch"]) for h in history] == [
        ("mix_training", 1),
        ("mix_training", 2),
        ("mix_training", 3),
        ("finetune", 1),
        ("finetune", 2),
    ]
    assert resumed.checkpoints == [["checkpoint-0-3.keras"]] * 2
    assert json.loads((tmp_path / "state.json").read_text())["done"]
    assert history[2]["loss"] < history[0]["loss"]
    for name in (
        "best.keras",
        "best_mix_training.weights.h5",
        "best_finetune.weights.h5",
        "checkpoint-1-2.keras",
        "labels.txt",
        "history.json",
        "config.json",
    ):
        assert (tmp_path / name).exists(), name
    assert len(list(tmp_path.glob("checkpoint-*.keras"))) == 1
    assert not list(tmp_path.glob(".tmp-*"))
    assert json.loads((tmp_path / "history.json").read_text()) == history
    assert (tmp_path / "logs" / "finetune").is_dir()  # TensorBoard
    assert json.loads((tmp_path / "config.json").read_text())["window_samples"] == 16000
    assert isinstance(best, RawWaveformClassifier)
    # The best weights, kept in memory until each phase's write, are those of the best epochs.
    validated, scores = first.validated[:3] + resumed.validated, [h["val_mAP"] for h in history]
    for path, epochs in (
        ("best_mix_training.weights.h5", range(3)),
        ("best_finetune.weights.h5", range(3, 5)),
    ):
        model = RawWaveformClassifier(small_config)
        model.load_weights(tmp_path / path)
        kept = validated[max(epochs, key=lambda e: (scores[e], -e))]  # the first of equal scores
        for held, expected in zip(model.trainable_variables, kept):
            np.testing.assert_array_equal(held.numpy(), expected)
    for held, expected in zip(best.trainable_variables, validated[int(np.argmax(scores))]):
        np.testing.assert_array_equal(held.numpy(), expected)
    # One scoring path: the best epoch's val mAP is what evaluate gives for best.keras.
    val = evaluate(tmp_path / "best.keras", synthetic_records, "val", reports=False)
    assert val["num_clips"] == 60
    assert val["mAP"] == pytest.approx(best_epoch(history)["val_mAP"], abs=1e-3)


class WeightRecorder(keras.callbacks.Callback):
    """Keeps the model's trainable weights after each training step and at each epoch's start
    and end (where validation and checkpoints see them)."""

    def __init__(self):
        super().__init__()
        self.steps, self.begin, self.end = [], {}, {}

    def weights(self):
        return [v.numpy().copy() for v in self.model.trainable_variables]

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(self.weights())

    def on_epoch_begin(self, epoch, logs=None):
        self.begin[epoch + 1] = self.weights()

    def on_epoch_end(self, epoch, logs=None):
        self.end[epoch + 1] = self.weights()


def test_weight_averaging_validates_the_average_trains_the_weights_and_resumes(
    synthetic_records, small_config, tmp_path
):
    schedule = SCHEDULE.replace(
        epochs=3, finetune_epochs=0, steps_per_epoch=5, weight_averaging_epochs=2
    )
    momentum = schedule.ema_momentum(5)
    assert momentum == pytest.approx(0.9) and SCHEDULE.ema_momentum(5) is None
    keras.utils.set_random_seed(0)
    first = WeightRecorder()
    with pytest.raises(KeyboardInterrupt):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config),
            synthetic_records,
            tmp_path,
            schedule,
            verbose=0,
            callbacks=[first, Interrupt(3)],
            checkpoint_seconds=0,
        )
    average = first.steps[0]  # NumPy reference: Keras's first step copies the weights
    for step, weights in enumerate(first.steps[1:10], start=2):
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
        if step % 5 == 0:  # an epoch's end: the model holds the average
            for held, expected in zip(first.end[step // 5], average):
                np.testing.assert_allclose(held, expected, rtol=1e-5, atol=1e-6)
    # the next epoch trains on from the weights themselves, not from their average
    for held, trained in zip(first.begin[2], first.steps[4]):
        np.testing.assert_array_equal(held, trained)
    assert not all(np.array_equal(a, b) for a, b in zip(first.end[1], first.steps[4]))
    saved = keras.saving.load_model(tmp_path / "checkpoint-0-2.keras")  # the average, as validated
    for held, expected in zip(saved.trainable_variables, first.end[2]):
        np.testing.assert_array_equal(held.numpy(), expected)

    resumed = WeightRecorder()
    fit_mix_then_finetune(
        RawWaveformClassifier(small_config),
        synthetic_records,
        tmp_path,
        schedule,
        verbose=0,
        callbacks=[resumed],
    )
    for held, trained in zip(resumed.begin[3], first.steps[9]):  # swapped back before epoch 3
        np.testing.assert_array_equal(held, trained)
    best = keras.saving.load_model(tmp_path / "best.keras")
    history = json.loads((tmp_path / "history.json").read_text())
    kept = (
        resumed.end[3]
        if best_epoch(history)["epoch"] == 3
        else first.end[best_epoch(history)["epoch"]]
    )
    for held, expected in zip(best.trainable_variables, kept):
        np.testing.assert_array_equal(held.numpy(), expected)


def test_nan_loss_stops_with_epoch_and_batch_and_keeps_the_checkpoint(
    synthetic_records, small_config, tmp_path
):
    class PoisonWeights(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 3:
                layer = self.model.get_layer("frontend_stem_conv")
                layer.kernel.assign(np.full(layer.kernel.shape, np.nan, "float32"))

    with pytest.raises(
        RunError,
        match=r"NaN in phase mix_training, epoch 2, batch 5; "
        r"the last good checkpoint .*checkpoint-0-1.keras is intact",
    ):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config),
            synthetic_records,
            tmp_path,
            SCHEDULE,
            verbose=0,
            callbacks=[PoisonWeights()],
            checkpoint_seconds=0,
        )
    kept = keras.saving.load_model(tmp_path / "checkpoint-0-1.keras")
    assert np.all(np.isfinite(kept.get_layer("frontend_stem_conv").kernel.numpy()))


def test_a_full_disk_stops_the_run_and_keeps_what_was_written(
    synthetic_records, small_config, tmp_path, monkeypatch
):
    save = keras.Model.save

    def save_until_full(model, path, *args, **kwargs):
        if pathlib.Path(path).name == ".tmp-checkpoint-0-2.keras":
            pathlib.Path(path).write_bytes(b"half a file")
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save_until_full)
    with pytest.raises(
        RunError,
        match=r"cannot write .*checkpoint-0-2.keras: No space left on device; the files "
        "written before it are intact",
    ):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config),
            synthetic_records,
            tmp_path,
            SCHEDULE.replace(epochs=2, finetune_epochs=0),
            verbose=0,
            checkpoint_seconds=0,
        )
    assert not list(tmp_path.glob(".tmp-*"))
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 1
    keras.saving.load_model(tmp_path / "checkpoint-0-1.keras")  # the last good checkpoint loads


class FailingWrites:
    """A model whose weights file fails to close as h5py fails it on a full disk: half written, then
    RuntimeError."""

    def save_weights(self, path):
        pathlib.Path(path).write_bytes(b"half a file")
        raise RuntimeError(
            "Can't decrement id ref count (file write failed: time = Wed Dec  2 12:39:46 2026\n, "
            f"filename = '{path}', file descriptor = 5, errno = 28, error message = 'No space left "
            "on device', buf = 0x55ff9f3c1148, total write size = 10272)"
        )

    def save(self, path):
        raise RuntimeError("a bug, not a full disk")


def test_a_full_disk_met_by_h5py_is_a_run_error_and_other_errors_propagate(tmp_path):
    run = RunDirectory(tmp_path, {"model": {}, "schedule": {}})
    with pytest.raises(
        RunError,
        match=r"cannot write .*best_train.weights.h5: No space left on device; the files written",
    ):
        run.save_atomic(FailingWrites(), run.phase_best("train"), weights_only=True)
    with pytest.raises(RuntimeError, match="a bug, not a full disk"):
        run.save_atomic(FailingWrites(), run.best)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "config.json"]  # no temporary


def test_mismatched_classes_and_settings_are_refused(synthetic_records, small_config, tmp_path):
    with pytest.raises(TrainingError, match="the model has 3 classes but .* has 5"):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config.replace(num_classes=3)),
            synthetic_records,
            tmp_path,
            SCHEDULE,
        )
    short = SCHEDULE.replace(epochs=1, finetune_epochs=0)
    fit_mix_then_finetune(
        RawWaveformClassifier(small_config), synthetic_records, tmp_path, short, verbose=0
    )
    with pytest.raises(TrainingError, match="holds a run with other settings"):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config), synthetic_records, tmp_path, SCHEDULE, verbose=0
        )


def test_settings_that_cannot_train_are_refused_before_anything_is_written(
    synthetic_records, small_config, tmp_path
):
    too_big = SCHEDULE.replace(data=DATA.replace(batch_size=1000), steps_per_epoch=None)
    with pytest.raises(
        TrainingError,
        match="has 480 clips, fewer than one batch of 1000: no training step would run",
    ):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config), synthetic_records, tmp_path / "big", too_big
        )
    empty = (
        tmp_path / "empty"
    )  # a val split and no train clips: not even a fixed number of steps can train
    empty.mkdir()
    for name in ("labels.txt", "dataset_info.json"):
        (empty / name).write_text(
            (synthetic_records / name).read_text().replace('"clips": 480', '"clips": 0')
        )
    with pytest.raises(
        TrainingError, match="has 0 clips, fewer than one batch of 8: no training step would run"
    ):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config), empty, tmp_path / "none", SCHEDULE
        )
    with pytest.raises(
        TrainingError, match="shorter than the model's minimum input of 16000 samples"
    ):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config),
            synthetic_records,
            tmp_path / "short",
            SCHEDULE.replace(data=DATA.replace(clip_seconds=0.5)),
        )
    with pytest.raises(ConfigError, match="balanced sampling is endless"):
        SCHEDULE.replace(data=DATA.replace(balanced=True), steps_per_epoch=None)
    assert (
        not (tmp_path / "big").exists()
        and not (tmp_path / "short").exists()
        and not (tmp_path / "none").exists()
    )
    edited = (
        tmp_path / "edited"
    )  # the records of `synthetic_records`, with a class added to labels.txt
    edited.mkdir()
    for shard in synthetic_records.glob("*.tfrecord"):
        (edited / shard.name).symlink_to(shard)
    (edited / "dataset_info.json").write_text((synthetic_records / "dataset_info.json").read_text())
    (edited / "labels.txt").write_text((synthetic_records / "labels.txt").read_text() + "extra\n")
    with pytest.raises(
        DataError, match=f"{edited}/labels.txt names 6 classes but the records of {edited} have 5"
    ):
        fit_mix_then_finetune(
            RawWaveformClassifier(small_config.replace(num_classes=6)),
            edited,
            tmp_path / "run6",
            SCHEDULE,
        )
    assert not (tmp_path / "run6").exists()


def test_a_warm_start_takes_every_weight_but_the_class_layers_of_another_label_set(
    synthetic_records, small_config, tmp_path
):
    from keras_rawaudio.models.classifiers import LogMelClassifier
    from keras_rawaudio.train.loop import warm_start

    source = RawWaveformClassifier(small_config.replace(num_classes=3))
    for variable in source.weights:  # every weight distinct from any fresh model's
        variable.assign(np.random.default_rng(0).normal(size=variable.shape))
    source.save(tmp_path / "source.keras")
    model = RawWaveformClassifier(small_config)  # 5 classes
    start = dict((v.path, value) for v, value in warm_start(model, tmp_path / "source.keras"))
    kept = {v.path for v in model.weights} - set(start)
    assert kept == {v.path for v in model.weights if v.path.startswith("head") and v.shape[-1] == 5}
    assert len(kept) == 4 * small_config.num_heads  # attention and classifier, kernel and bias
    for variable in source.weights:
        if variable.path in start:
            np.testing.assert_array_equal(start[variable.path], variable.numpy())

    # In a run: the first step starts from the source's weights; no front-end pretraining.
    class FirstWeights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = {v.path: v.numpy().copy() for v in self.model.weights}

    seen = FirstWeights()
    schedule = SCHEDULE.replace(
        epochs=1,
        finetune_epochs=0,
        steps_per_epoch=2,
        frontend_pretraining_epochs=5,
        init_model=str(tmp_path / "source.keras"),
    )
    fit_mix_then_finetune(
        model, synthetic_records, tmp_path / "run", schedule, verbose=0, callbacks=[seen]
    )
    for path, value in start.items():
        np.testing.assert_array_equal(seen.weights[path], value)
    assert not (tmp_path / "run" / "frontend_init.weights.h5").exists()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["schedule"]["init_model"] == str(tmp_path / "source.keras")

    LogMelClassifier(small_config).save(tmp_path / "logmel.keras")
    with pytest.raises(TrainingError, match="logmel.keras is another architecture: its weight"):
        warm_start(RawWaveformClassifier(small_config), tmp_path / "logmel.keras")


MIRRORED = """
import sys
import tensorflow as tf
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})  # as conftest
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_rawaudio import RawWaveformClassifier
from keras_rawaudio.presets import preset_config
from keras_rawaudio.data import DataOptions
from keras_rawaudio.train import Schedule, fit_mix_then_finetune
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = RawWaveformClassifier(preset_config("tiny", num_classes=5))
schedule = Schedule(DataOptions(batch_size=8, mix="mix_training", seed=0), epochs=1,
finetune_epochs=1, steps_per_epoch=4,
                    frontend_pretraining_epochs=0)
_, history = fit_mix_then_finetune(model, sys.argv[1], sys.argv[2], schedule, strategy, verbose=0)
print("replicas", strategy.num_replicas_in_sync, "epochs", len(history))
"""


def test_mirrored_strategy_on_two_logical_cpus(synthetic_records, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED, str(synthetic_records), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "replicas 2 epochs 2" in result.stdout


def test_warmup_cosine_rises_then_decays_to_zero_in_each_phase():
    schedule = SCHEDULE.replace(
        epochs=10, finetune_epochs=4, lr_schedule="warmup_cosine", warmup_epochs=2
    )
    first, second = schedule.phases()
    rate = schedule.rate(first, 0, steps_per_epoch=10)
    assert [float(rate(step)) for step in (0, 10, 20)] == pytest.approx([0.0, 1.5e-3, 3e-3])
    assert float(rate(60)) == pytest.approx(1.5e-3, rel=1e-3) and float(rate(100)) == pytest.approx(
        0.0, abs=1e-9
    )
    finetune = schedule.rate(second, 1, steps_per_epoch=10)  # no warmup: from its rate down to 0
    assert [float(finetune(step)) for step in (0, 20, 40)] == pytest.approx(
        [3e-4, 1.5e-4, 0.0], abs=1e-9
    )
    assert SCHEDULE.rate(first, 0, 10) == 3e-3  # constant
    with pytest.raises(ConfigError, match="lr_schedule must be one of constant, warmup_cosine"):
        SCHEDULE.replace(lr_schedule="step")


def test_a_small_train_split_is_repeated_to_the_minimum_steps_of_an_epoch(
    synthetic_records, small_config, tmp_path
):
    quarter_of_drums = SCHEDULE.replace(data=DATA.replace(batch_size=32), steps_per_epoch=None)
    assert [quarter_of_drums.epoch_steps(clips) for clips in (90, 300, 575)] == [8, 9, 17]
    assert SCHEDULE.epoch_steps(90) == 15  # an explicit steps_per_epoch wins
    # synthetic_records: 480 train clips, 60 batches of 8 a pass; an epoch of at least 75 runs 75.
    keras.utils.set_random_seed(0)
    schedule = SCHEDULE.replace(
        epochs=1, finetune_epochs=0, steps_per_epoch=None, min_steps_per_epoch=75
    )
    _, history = fit_mix_then_finetune(
        RawWaveformClassifier(small_config), synthetic_records, tmp_path, schedule, verbose=0
    )
    saved = keras.saving.load_model(tmp_path / "checkpoint-0-1.keras")
    assert len(history) == 1 and saved.optimizer.iterations.numpy() == 75
    with pytest.raises(ConfigError, match=r"min_steps_per_epoch must be in \[1, 1e\+07\], got 0"):
        SCHEDULE.replace(min_steps_per_epoch=0)


def test_training_killed_at_random_moments_resumes_to_the_requested_epochs(
    synthetic_records, tmp_path
):
    """kill -9 three times (mid-epoch, mid-checkpoint, mid-validation: wherever the moment
    falls), then the same command: the run ends with every requested epoch once, in order."""
    import random
    import signal
    import time

    from conftest import process_alive

    run = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "keras_rawaudio.train",
        f"--data_dir={synthetic_records}",
        f"--model_dir={run}",
        "--preset=tiny",
        "--epochs=8",
        "--finetune_epochs=4",
        "--steps_per_epoch=4",
        "--batch_size=8",
        "--frontend_pretraining_epochs=0",
        "--progress=none",
        "--checkpoint_seconds=0",
    ]
    rng = random.Random(0)

    def finished_epochs():
        try:
            return len(json.loads((run / "state.json").read_text())["history"])
        except (FileNotFoundError, json.JSONDecodeError):
            return 0

    for _ in range(3):
        before = finished_epochs()
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline, finished_at = time.time() + 240, []
        while (
            len(finished_at) < 2 and process.poll() is None and time.time() < deadline
        ):  # two more epochs
            if finished_epochs() > before + len(finished_at):
                finished_at.append(time.time())
            time.sleep(0.01)
        # a random moment of the next epoch, however fast this machine runs one
        time.sleep(rng.uniform(0, finished_at[1] - finished_at[0]) if len(finished_at) == 2 else 0)
        children = (
            pathlib.Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
            if process.poll() is None
            else []
        )
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert not [pid for pid in children if process_alive(pid)]
    assert 0 < finished_epochs() < 12, "the kills should have interrupted the run"

    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    history = json.loads((run / "history.json").read_text())
    assert [(h["phase"], h["epoch"]) for h in history] == [
        ("mix_training", e) for e in range(1, 9)
    ] + [("finetune", e) for e in range(1, 5)]
    assert json.loads((run / "state.json").read_text())["done"]
    assert not list(run.glob(".tmp-*"))
    assert len(list(run.glob("checkpoint-*.keras"))) == 1
    keras.saving.load_model(run / "best.keras")
