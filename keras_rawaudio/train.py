"""Training: the paper's two-phase schedule (mix-training, then fine-tuning on unmixed clips).

Python: `fit_mix_then_finetune(model, data_dir, model_dir, ...)`.
CLI:    python -m keras_rawaudio.train --data_dir=DATA --model_dir=RUN [--flagfile=...]

A run directory holds `best.keras` (the best model by validation mAP over the whole run),
`best_<phase>.weights.h5` (each phase's best), `checkpoint-<phase>-<epoch>.keras` (the last
finished epoch, with optimizer state), `state.json`, `history.json`, `labels.txt`,
`config.json` and TensorBoard logs in `logs/`. Running the same command again resumes from
the last finished epoch of the current phase.
"""

import contextlib
import dataclasses
import json
import math
import pathlib
import sys
import time

import keras
import numpy as np

from keras_rawaudio import metrics as clip_metrics_lib
from keras_rawaudio.data import MIX_MODES, DataError, load_dataset, read_labels
from keras_rawaudio.files import write_atomic


class TrainingError(RuntimeError):
    """Training cannot start or go on; the message says why in one line."""


@dataclasses.dataclass(frozen=True)
class Phase:
    name: str
    mix: str
    epochs: int
    learning_rate: float


@dataclasses.dataclass(frozen=True)
class Schedule:
    """What `fit_mix_then_finetune` does; stored in config.json so a resume can check it."""

    mix: str = "mix_training"
    epochs: int = 30
    finetune_epochs: int = 10
    learning_rate: float = 1e-3
    finetune_learning_rate: float | None = None  # default: learning_rate / 10
    batch_size: int = 32
    clip_seconds: float = 1.0
    mix_probability: float = 1.0
    mix_concentration: float | None = None
    balanced: bool = False
    cache: bool = False
    steps_per_epoch: int | None = None
    seed: int = 0

    def phases(self) -> list[Phase]:
        """Phase 1 on `mix` clips; phase 2 fine-tunes on unmixed clips at the lower rate."""
        if self.mix not in MIX_MODES:
            raise TrainingError(f"--mix must be one of {', '.join(MIX_MODES)}, got {self.mix!r}")
        finetune_rate = self.finetune_learning_rate or self.learning_rate / 10
        phases = [Phase(self.mix if self.mix != "none" else "train", self.mix, self.epochs, self.learning_rate),
                  Phase("finetune", "none", self.finetune_epochs, finetune_rate)]
        return [p for p in phases if p.epochs > 0]


class ValidationMetrics(keras.callbacks.Callback):
    """Adds exact clip metrics on the validation set to the epoch logs (val_mAP, val_AUC, ...)."""

    def __init__(self, dataset):
        super().__init__()
        self.inputs = dataset.map(lambda x, y: x)
        self.labels = np.concatenate([y for _, y in dataset.as_numpy_iterator()])

    def on_epoch_end(self, epoch, logs=None):
        scores = self.model.predict(self.inputs, verbose=0)
        if not np.all(np.isfinite(scores)):  # a NaN model: StopOnNaN reports it, nothing to score
            return
        scores, y = np.clip(scores, 1e-7, 1 - 1e-7), self.labels
        logs["val_loss"] = float(-np.mean(y * np.log(scores) + (1 - y) * np.log(1 - scores)))
        for key, value in clip_metrics_lib.clip_metrics(y, scores).items():
            if key != "num_clips":
                logs[f"val_{key}"] = value


class StopOnNaN(keras.callbacks.Callback):
    """Stops at the first NaN/Inf loss and remembers where it happened."""

    def __init__(self):
        super().__init__()
        self.where = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if logs and not math.isfinite(float(logs.get("loss", 0.0))):
            self.where = (self.epoch + 1, batch + 1)
            self.model.stop_training = True


class RunCheckpoint(keras.callbacks.Callback):
    """After each good epoch: the phase's best weights, best.keras, a resumable checkpoint,
    then state.json and history.json, each written atomically."""

    def __init__(self, run, phase_index, phase_name, nan_guard):
        super().__init__()
        self.run, self.phase_index, self.phase_name, self.nan_guard = run, phase_index, phase_name, nan_guard

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard.where:
            return
        state = self.run.state
        score = logs.get("val_mAP", float("nan"))
        entry = {"phase": self.phase_name, "epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}}
        state["history"].append(entry)
        improved_phase = not score <= state["phase_best"]  # NaN never improves a number
        if improved_phase or not self.run.phase_best(self.phase_name).exists():
            state["phase_best"] = score
            self.run.save_atomic(self.model, self.run.phase_best(self.phase_name), weights_only=True)
        if score > state["best"] or not self.run.best.exists():
            state["best"] = score
            self.run.save_atomic(self.model, self.run.best)
        state.update(phase=self.phase_index, epoch=epoch + 1)
        latest = self.run.checkpoint_path(state)
        self.run.save_atomic(self.model, latest)
        self.run.save_state()
        for old in self.run.path.glob("checkpoint-*.keras"):
            if old != latest:
                old.unlink()


class RunDirectory:
    """The files of one training run (see the module docstring)."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.best = self.path / "best.keras"
        state_file = self.path / "state.json"
        self.state = json.loads(state_file.read_text()) if state_file.exists() else {
            "phase": 0, "epoch": 0, "best": float("-inf"), "phase_best": float("-inf"), "history": [], "done": False,
        }

    def phase_best(self, phase_name) -> pathlib.Path:
        return self.path / f"best_{phase_name}.weights.h5"

    def checkpoint_path(self, state) -> pathlib.Path | None:
        return self.path / f"checkpoint-{state['phase']}-{state['epoch']}.keras" if state["epoch"] else None

    def save_atomic(self, model, path, weights_only=False):
        temporary = path.with_name(f".tmp-{path.name}")
        model.save_weights(temporary) if weights_only else model.save(temporary)
        temporary.replace(path)

    def save_state(self):
        write_atomic(self.path / "state.json", json.dumps(self.state, indent=1))
        write_atomic(self.path / "history.json", json.dumps(self.state["history"], indent=1))

    def check_config(self, config: dict):
        """Writes config.json, or checks that a resumed run has the same one."""
        path = self.path / "config.json"
        if path.exists() and json.loads(path.read_text()) != json.loads(json.dumps(config)):
            raise TrainingError(
                f"--model_dir {self.path} holds a run with other settings; use a new --model_dir "
                "or the flags of that run (see its config.json)"
            )
        write_atomic(path, json.dumps(config, indent=2))


def _datasets(data_dir, schedule: Schedule, phase: Phase, phase_index):
    endless = schedule.steps_per_epoch is not None or schedule.balanced
    if schedule.balanced and schedule.steps_per_epoch is None:
        raise TrainingError("balanced sampling is endless: set --steps_per_epoch too")
    return load_dataset(
        data_dir, "train", schedule.batch_size, schedule.clip_seconds, mix=phase.mix, training=True,
        mix_probability=schedule.mix_probability, mix_concentration=schedule.mix_concentration,
        balanced=schedule.balanced, cache=schedule.cache, repeat=endless, seed=schedule.seed + phase_index,
    )


def fit_mix_then_finetune(model, data_dir, model_dir, schedule: Schedule = Schedule(), strategy=None, verbose="auto", callbacks=()):
    """Trains `model` on `data_dir` with the two-phase schedule; returns (best model, history).

    Phase 1 trains on `schedule.mix` batches (mix-training by default) for `epochs`; phase 2
    fine-tunes the best phase-1 weights on unmixed clips for `finetune_epochs` at the lower
    rate. Each phase keeps its best weights by validation mAP; `best.keras` is the best of the
    run. If `model_dir` holds an unfinished run of the same settings, it is resumed.
    """
    labels = read_labels(data_dir)
    if model.config.num_classes != len(labels):
        raise TrainingError(f"the model has {model.config.num_classes} classes but {data_dir}/labels.txt has {len(labels)}")
    run = RunDirectory(model_dir)
    run.check_config({"model": model.config.to_dict(), "model_class": type(model).__name__, "schedule": dataclasses.asdict(schedule)})
    write_atomic(run.path / "labels.txt", "".join(f"{name}\n" for name in labels))
    validation = ValidationMetrics(load_dataset(data_dir, "val", schedule.batch_size, schedule.clip_seconds, training=False))
    phases = schedule.phases()

    for index, phase in enumerate(phases):
        state = run.state
        if index < state["phase"] or state["done"] or (index == state["phase"] and state["epoch"] >= phase.epochs):
            continue
        resuming = index == state["phase"] and state["epoch"] > 0
        with _scope(strategy):
            if resuming:  # inside this phase, optimizer state included
                model = keras.saving.load_model(run.checkpoint_path(state))
            else:
                if index:
                    model.load_weights(run.phase_best(phases[index - 1].name))
                model.compile(learning_rate=phase.learning_rate)
                state.update(phase=index, epoch=0, phase_best=float("-inf"))
        nan_guard = StopOnNaN()
        print(f"phase {index + 1}/{len(phases)}: {phase.name} (mix={phase.mix}, lr={phase.learning_rate:g}), "
              f"epochs {state['epoch'] + 1}..{phase.epochs}", flush=True)
        model.fit(
            _datasets(data_dir, schedule, phase, index),
            epochs=phase.epochs,
            initial_epoch=state["epoch"],
            steps_per_epoch=schedule.steps_per_epoch,
            shuffle=False,  # the tf.data pipeline shuffles
            verbose=verbose,
            callbacks=[
                nan_guard, validation, *callbacks,
                keras.callbacks.TensorBoard(str(run.path / "logs" / phase.name)),
                RunCheckpoint(run, index, phase.name, nan_guard),
            ],
        )
        if nan_guard.where:
            epoch, batch = nan_guard.where
            last = run.checkpoint_path(run.state)
            raise TrainingError(
                f"loss became NaN in phase {phase.name}, epoch {epoch}, batch {batch}; "
                + (f"the last good checkpoint {last} is intact" if last else "no epoch had finished")
            )
    run.state["done"] = True
    run.save_state()
    with _scope(strategy):
        best = keras.saving.load_model(run.best)
    return best, run.state["history"]


def _scope(strategy):
    return strategy.scope() if strategy else contextlib.nullcontext()


def build_model(kind: str, preset: str, num_classes: int):
    from keras_rawaudio.models import LogMelClassifier, RawWaveformClassifier

    classes = {"raw": RawWaveformClassifier, "logmel": LogMelClassifier}
    if kind not in classes:
        raise TrainingError(f"--model must be raw or logmel, got {kind!r}")
    return classes[kind].from_preset(preset, num_classes=num_classes)


def make_strategy(name: str):
    import tensorflow as tf

    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise TrainingError(f"--distribute must be none or mirrored, got {name!r}")


def train(data_dir, model_dir, model="raw", preset="edge", schedule=Schedule(), distribute="none", verbose="auto"):
    """Builds the model and runs `fit_mix_then_finetune`; what the CLI and the ablation call."""
    strategy = make_strategy(distribute)
    num_classes = len(read_labels(data_dir))
    with _scope(strategy):
        classifier = build_model(model, preset, num_classes)
    start = time.perf_counter()
    best, history = fit_mix_then_finetune(classifier, data_dir, model_dir, schedule, strategy, verbose)
    return best, history, time.perf_counter() - start


def main(argv):
    from absl import flags

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        print(f"train: error: unexpected arguments: {' '.join(argv[1:])}", file=sys.stderr)
        return 2
    schedule = Schedule(
        mix=FLAGS.mix, epochs=FLAGS.epochs, finetune_epochs=FLAGS.finetune_epochs,
        learning_rate=FLAGS.learning_rate, finetune_learning_rate=FLAGS.finetune_learning_rate,
        batch_size=FLAGS.batch_size, clip_seconds=FLAGS.clip_seconds, mix_probability=FLAGS.mix_probability,
        mix_concentration=FLAGS.mix_concentration, balanced=FLAGS.balanced, cache=FLAGS.cache,
        steps_per_epoch=FLAGS.steps_per_epoch, seed=FLAGS.seed,
    )
    keras.utils.set_random_seed(FLAGS.seed)
    try:
        verbose = {"bar": 1, "epoch": 2, "none": 0}[FLAGS.progress]
        _, history, seconds = train(FLAGS.data_dir, FLAGS.model_dir, FLAGS.model, FLAGS.preset, schedule, FLAGS.distribute, verbose)
    except (TrainingError, DataError, ValueError) as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    best = max((h for h in history if "val_mAP" in h), key=lambda h: h["val_mAP"], default=None)
    if best:
        print(f"done in {seconds:.0f} s; best val mAP {best['val_mAP']:.4f} ({best['phase']} epoch {best['epoch']}); "
              f"model: {pathlib.Path(FLAGS.model_dir) / 'best.keras'}")
    return 0


def define_flags():
    from absl import flags

    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords.py.", required=True)
    flags.DEFINE_string("model_dir", None, "Run directory (created; an unfinished run is resumed).", required=True)
    flags.DEFINE_enum("model", "raw", ["raw", "logmel"], "Front-end: raw waveform or log-mel.")
    flags.DEFINE_enum("preset", "edge", ["edge", "paper"], "Model size.")
    flags.DEFINE_enum("mix", "mix_training", list(MIX_MODES), "Phase-1 mixing.")
    flags.DEFINE_integer("epochs", 30, "Phase-1 epochs.", lower_bound=0)
    flags.DEFINE_integer("finetune_epochs", 10, "Phase-2 (unmixed fine-tuning) epochs.", lower_bound=0)
    flags.DEFINE_integer("batch_size", 32, "Global batch size.", lower_bound=2)
    flags.DEFINE_float("learning_rate", 1e-3, "Phase-1 learning rate.", lower_bound=0)
    flags.DEFINE_float("finetune_learning_rate", None, "Phase-2 learning rate (default: learning_rate / 10).")
    flags.DEFINE_float("clip_seconds", 1.0, "Training window in seconds.", lower_bound=0.1)
    flags.DEFINE_float("mix_probability", 1.0, "Fraction of clips mixed in phase 1.", lower_bound=0, upper_bound=1)
    flags.DEFINE_float("mix_concentration", None, "α ~ Beta(a, a); default U(0, 1) (mix_training), Beta(0.2, 0.2) (mixup).")
    flags.DEFINE_bool("balanced", False, "Class-balanced sampling (needs --steps_per_epoch).")
    flags.DEFINE_bool("cache", False, "Keep decoded clips in memory.")
    flags.DEFINE_integer("steps_per_epoch", None, "Batches per epoch (default: one pass over train).")
    flags.DEFINE_integer("seed", 0, "Seed of weights, shuffling, crops and mixing.")
    flags.DEFINE_enum("distribute", "none", ["none", "mirrored"], "tf.distribute strategy.")
    flags.DEFINE_enum("progress", "bar", ["bar", "epoch", "none"], "Keras progress: a bar, a line per epoch, or none.")


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(lambda argv: sys.exit(main(argv)))
