"""Training: the paper's two-phase schedule (mix-training, then fine-tuning on unmixed clips).

  python -m keras_rawaudio.train --data_dir=DATA --model_dir=RUN [--flagfile=FILE]

Python: `fit_mix_then_finetune(model, data_dir, model_dir, Schedule(...))`.

A run directory holds `best.keras` (the best model by validation mAP over the whole run),
`best_<phase>.weights.h5` (each phase's best), `checkpoint-<phase>-<epoch>.keras` (the last
checkpointed epoch, with optimizer state), `state.json`, `history.json` (the epochs up to
that checkpoint), `labels.txt`, `config.json` (model, schedule and the training window in
samples) and TensorBoard logs in `logs/` (every epoch). The run's files are written at the
first epoch's end a minute after the last write (`--checkpoint_seconds`) and after each
phase's last epoch. Running the same command again resumes from the last checkpoint,
repeating the epochs trained after it. Validation mAP is the clip score of
`keras_rawaudio.scoring` on whole validation recordings, the same figure `evaluate
--split=val` and the export report give.
"""

import contextlib
import dataclasses
import json
import math
import pathlib
import re
import time

import keras
import numpy as np

from keras_rawaudio import cli
from keras_rawaudio.config import (FRONTEND_COMPRESSIONS, FRONTENDS, GABOR_LEARNING_RATE_SCALE, MEL_MAX_HZ, MEL_MIN_HZ,
                                   PRESETS, preset_config)
from keras_rawaudio import metrics as clip_metrics_lib
from keras_rawaudio.data import (CROPS, MIX_MODES, DataOptions, load_dataset, load_recordings, read_info, read_labels,
                                 reading_shards)
from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.files import check_directory, remove_partial_files, write_atomic
from keras_rawaudio.models import WEIGHT_DECAY, keras_predict
from keras_rawaudio.scoring import Windowing, score_recordings


LR_SCHEDULES = ("constant", "warmup_cosine")
CHECKPOINT_SECONDS = 60.0  # a resumed run repeats at most about this much training
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed accepts seeds in [0, MAX_SEED]


class TrainingError(InputError):
    """Training cannot start with these settings; the message says why in one line."""


@dataclasses.dataclass(frozen=True)
class Phase:
    name: str
    mix: str
    epochs: int
    learning_rate: float


@dataclasses.dataclass(frozen=True)
class Schedule:
    """What `fit_mix_then_finetune` does; stored in config.json so a resume can check it.

    Args:
        data: the batches of phase 1 (`data.mix` is its mixing; phase 2 is unmixed) and
            `data.clip_seconds`, the training window that validation, evaluation and export use.
        epochs: phase-1 epochs. finetune_epochs: phase-2 epochs.
        learning_rate: phase-1 rate; finetune_learning_rate: phase 2's (default a tenth).
        lr_schedule: 'constant', or 'warmup_cosine': phase 1 rises linearly from 0 over
            `warmup_epochs`, then both phases decay to 0 along a cosine by their last step.
        weight_decay: AdamW's decoupled weight decay of the convolution and dense kernels
            (`AudioClassifier.compile`); each step shrinks them by learning rate × weight_decay.
        weight_averaging_epochs: validation and checkpoints (best.keras too) see an exponential
            moving average of the weights over about this many epochs' steps (`AveragedWeights`);
            the training steps move the weights themselves. 0: the weights themselves.
        steps_per_epoch: batches per epoch (default: the whole batches of one pass over the
            train split, at least `min_steps_per_epoch`). Training reads the split as one
            endless stream of passes, each reshuffled with new crops and mixes, and an epoch is
            this many batches of it, so no clip is dropped at a pass's end.
        min_steps_per_epoch: an epoch of a train split smaller than this many batches spans
            several passes, up to this many batches, so a small dataset still
            gets about the optimizer steps the recipe was measured with (9-11 an epoch on
            drums16k); one pass over a quarter of it was 2, a 120-step first phase.
        frontend_pretraining_epochs: epochs (passes over the unmixed train split) that first
            fit the raw model's learned filterbank to a log-mel image
            (`keras_rawaudio.frontend_pretraining`); 0: start from random weights. The log-mel
            model, whose filterbank is fixed, skips this step.
    """

    data: DataOptions = DataOptions(mix="mix_training", seed=0)
    epochs: int = 60
    finetune_epochs: int = 10
    learning_rate: float = 3e-3
    finetune_learning_rate: float | None = None
    lr_schedule: str = "warmup_cosine"
    warmup_epochs: int = 3
    weight_decay: float = WEIGHT_DECAY
    weight_averaging_epochs: float = 0.0
    steps_per_epoch: int | None = None
    min_steps_per_epoch: int = 8
    frontend_pretraining_epochs: int = 10

    def __post_init__(self):
        if self.data.clip_seconds is None:
            raise TrainingError("training needs a fixed window: set clip_seconds")
        if self.data.balanced and self.steps_per_epoch is None:
            raise TrainingError("balanced sampling is endless: set --steps_per_epoch too")
        for name in ("learning_rate", "finetune_learning_rate"):
            rate = getattr(self, name)
            if rate is not None and not rate > 0:
                raise TrainingError(f"{name} must be positive, got {rate}: a rate of 0 trains nothing")
        if self.epochs < 0 or self.finetune_epochs < 0 or self.epochs + self.finetune_epochs == 0:
            raise TrainingError(f"epochs must be >= 0 and not both 0, got {self.epochs} + {self.finetune_epochs}")
        if self.min_steps_per_epoch < 1:
            raise TrainingError(f"min_steps_per_epoch must be >= 1, got {self.min_steps_per_epoch}")
        if self.frontend_pretraining_epochs < 0:
            raise TrainingError(f"frontend_pretraining_epochs must be >= 0, got {self.frontend_pretraining_epochs}")
        if not 0 <= self.weight_decay < 1:
            raise TrainingError(f"weight_decay must be in [0, 1), got {self.weight_decay}")
        if self.weight_averaging_epochs < 0:
            raise TrainingError(f"weight_averaging_epochs must be >= 0, got {self.weight_averaging_epochs}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise TrainingError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")

    @property
    def seed(self) -> int:
        return self.data.seed or 0

    def phases(self) -> list[Phase]:
        """Phase 1 on `data.mix` clips; phase 2 fine-tunes on unmixed clips at the lower rate."""
        mix = self.data.mix
        finetune_rate = self.finetune_learning_rate or self.learning_rate / 10
        phases = [Phase(mix if mix != "none" else "train", mix, self.epochs, self.learning_rate),
                  Phase("finetune", "none", self.finetune_epochs, finetune_rate)]
        return [p for p in phases if p.epochs > 0]

    def epoch_steps(self, train_clips: int) -> int:
        """Batches per epoch on a train split of `train_clips` clips."""
        return self.steps_per_epoch or max(train_clips // self.data.batch_size, self.min_steps_per_epoch)

    def rate(self, phase: "Phase", index: int, steps_per_epoch: int):
        """The learning rate of a phase: a number, or a Keras schedule over its steps."""
        if self.lr_schedule == "constant":
            return phase.learning_rate
        warmup = min(self.warmup_epochs, phase.epochs - 1) * steps_per_epoch if index == 0 else 0
        return keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else phase.learning_rate, decay_steps=max(1, phase.epochs * steps_per_epoch - warmup),
            warmup_target=phase.learning_rate if warmup else None, warmup_steps=warmup)

    def ema_momentum(self, steps_per_epoch: int) -> float | None:
        """The momentum of an average over `weight_averaging_epochs` epochs' steps (None: off)."""
        steps = self.weight_averaging_epochs * steps_per_epoch
        return 1 - 1 / steps if steps > 1 else None

    def replace(self, **changes) -> "Schedule":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class ValidationMetrics(keras.callbacks.Callback):
    """Adds exact clip metrics of the validation recordings to the epoch logs (val_mAP, ...)."""

    def __init__(self, recordings, windowing: Windowing):
        super().__init__()
        self.recordings, self.windowing = recordings, windowing

    def on_epoch_end(self, epoch, logs=None):
        scores = score_recordings(keras_predict(self.model), self.recordings.waveforms, self.windowing)
        if not np.all(np.isfinite(scores)):  # a NaN model: StopOnNaN reports it, nothing to score
            return
        scores, y = np.clip(scores, 1e-7, 1 - 1e-7), self.recordings.labels
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


class AveragedWeights(keras.callbacks.Callback):
    """From each epoch's end to the next one's start the model holds the moving average of its
    weights (the optimizer's `use_ema`), so validation, the best weights and the checkpoints are
    the average's; the training steps move the weights themselves, which the optimizer holds
    meanwhile. A checkpoint is saved in that swapped state, so a run `resumed` from it swaps
    back before its first epoch; after the last epoch the model keeps the average.

    Keras's `SwapEMAWeights` does the same by additions, which change the weights by an ulp at
    each swap; this swap is exact.
    """

    def __init__(self, resumed: bool):
        super().__init__()
        self.swapped = resumed

    def pairs(self):
        optimizer = self.model.optimizer
        return zip(optimizer._trainable_variables, optimizer._model_variables_moving_average)

    def swap(self):
        for weights, average in self.pairs():
            held = weights.numpy()
            weights.assign(average)
            average.assign(held)
        self.swapped = not self.swapped

    def on_epoch_begin(self, epoch, logs=None):
        if self.swapped:
            self.swap()

    def on_epoch_end(self, epoch, logs=None):
        self.swap()
        if epoch == self.params["epochs"] - 1:  # fit ends by writing the optimizer's average into the model
            for weights, average in self.pairs():
                average.assign(weights)


class RunCheckpoint(keras.callbacks.Callback):
    """Keeps the phase's best weights and the run's best model in memory after each good epoch,
    and writes them, a resumable checkpoint, state.json and history.json (each atomically)
    once `every_seconds` have passed since the last write, after the phase's last epoch, and
    when another callback stops training. Each file costs about a third of a second to write
    (Keras walks every layer), as much as scoring a drums16k validation split, so writing after
    every epoch cost a short epoch a quarter of its time; a run resumed after a kill repeats the
    epochs since the last write."""

    def __init__(self, run, phase_index, phase_name, nan_guard, every_seconds):
        super().__init__()
        self.run, self.phase_index, self.phase_name, self.nan_guard = run, phase_index, phase_name, nan_guard
        self.every_seconds = every_seconds
        self.unwritten = {}  # path → the weights to write there
        self.written_at = time.monotonic()

    def kept(self, path) -> bool:
        return path in self.unwritten or path.exists()

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard.where:
            return
        state = self.run.state
        score = logs.get("val_mAP", float("nan"))
        state["history"].append({"phase": self.phase_name, "epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}})
        improved = []
        phase_best = self.run.phase_best(self.phase_name)
        if not score <= state["phase_best"] or not self.kept(phase_best):  # NaN never improves a number
            state["phase_best"] = score
            improved.append(phase_best)
        if score > state["best"] or not self.kept(self.run.best):
            state["best"] = score
            improved.append(self.run.best)
        if improved:
            self.unwritten.update(dict.fromkeys(improved, self.model.get_weights()))
        state.update(phase=self.phase_index, epoch=epoch + 1)
        if (epoch + 1 >= self.params["epochs"] or self.model.stop_training
                or time.monotonic() - self.written_at >= self.every_seconds):
            self.write()

    def write(self):
        current = self.model.get_weights()
        for path, weights in self.unwritten.items():
            self.model.set_weights(weights)
            self.run.save_atomic(self.model, path, weights_only=path != self.run.best)
        self.model.set_weights(current)
        self.unwritten.clear()
        latest = self.run.checkpoint_path(self.run.state)
        self.run.save_atomic(self.model, latest)
        self.run.save_state()
        for old in self.run.path.glob("checkpoint-*.keras"):
            if old != latest:
                old.unlink()
        self.written_at = time.monotonic()


class RunDirectory:
    """The files of one training run (see the module docstring)."""

    def __init__(self, path):
        self.path = check_directory(path, "model_dir")
        self.path.mkdir(parents=True, exist_ok=True)
        remove_partial_files(self.path, (".tmp-*", ".*.tmp"))  # save_atomic's and write_atomic's
        self.best = self.path / "best.keras"
        state_file = self.path / "state.json"
        self.state = json.loads(state_file.read_text()) if state_file.exists() else {
            "phase": 0, "epoch": 0, "best": float("-inf"), "phase_best": float("-inf"), "history": [], "done": False,
        }

    @property
    def frontend_init(self) -> pathlib.Path:
        return self.path / "frontend_init.weights.h5"

    def phase_best(self, phase_name) -> pathlib.Path:
        return self.path / f"best_{phase_name}.weights.h5"

    def checkpoint_path(self, state) -> pathlib.Path | None:
        return self.path / f"checkpoint-{state['phase']}-{state['epoch']}.keras" if state["epoch"] else None

    def save_atomic(self, model, path, weights_only=False):
        """Saves through a temporary file and a rename; a failed write (a full disk) leaves the
        previous file intact and is a RunError naming the file."""
        temporary = path.with_name(f".tmp-{path.name}")
        try:
            model.save_weights(temporary) if weights_only else model.save(temporary)
            temporary.replace(path)
        except (OSError, RuntimeError) as error:
            temporary.unlink(missing_ok=True)
            reason = write_failure(error)
            if reason is None:
                raise
            raise RunError(f"cannot write {path}: {reason}; the files written before it are "
                           "intact, and the same command resumes once there is room") from None

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


def write_failure(error: Exception) -> str | None:
    """The system's reason for a failed write: an OSError's, or the one h5py reports inside a
    RuntimeError when a full disk fails an .h5 file ("... error message = 'No space left on
    device' ..."); None for any other error."""
    if isinstance(error, OSError):
        return error.strerror or str(error)
    found = re.search(r"error message = '([^']+)'", str(error))
    return found.group(1) if found else None


def training_window(model_dir) -> int | None:
    """The training window in samples of the run in `model_dir` (None without a config.json)."""
    config = pathlib.Path(model_dir) / "config.json"
    return json.loads(config.read_text()).get("window_samples") if config.is_file() else None


def fit_mix_then_finetune(model, data_dir, model_dir, schedule: Schedule = Schedule(), strategy=None, verbose="auto",
                          callbacks=(), checkpoint_seconds=CHECKPOINT_SECONDS):
    """Trains `model` on `data_dir` with the two-phase schedule; returns (best model, history).

    Phase 1 trains on `schedule.data.mix` batches (mix-training by default) for `epochs`;
    phase 2 fine-tunes the best phase-1 weights on unmixed clips for `finetune_epochs` at the
    lower rate. Each phase keeps its best weights by validation mAP; `best.keras` is the best
    of the run. If `model_dir` holds an unfinished run of the same settings, it is resumed
    from its last checkpoint, written at the first epoch's end `checkpoint_seconds` after the
    last write (0: after every epoch) and after each phase.

    Example:

        model = keras_rawaudio.RawWaveformClassifier.from_preset("edge", num_classes=10)
        best, history = fit_mix_then_finetune(model, "data/esc50", "runs/esc50", Schedule(epochs=30))
    """
    labels = read_labels(data_dir)
    if model.config.num_classes != len(labels):
        raise TrainingError(f"the model has {model.config.num_classes} classes but {data_dir}/labels.txt has {len(labels)}")
    info = read_info(data_dir)
    train_clips = info["splits"].get("train", {}).get("clips", 0)
    if train_clips == 0 or (schedule.steps_per_epoch is None and train_clips < schedule.data.batch_size):
        raise TrainingError(f"the train split of {data_dir} has {train_clips} clips, fewer than one batch of "
                            f"{schedule.data.batch_size}: no training step would run")
    steps_per_epoch = schedule.epoch_steps(train_clips)
    window = round(schedule.data.clip_seconds * info["sample_rate"])
    if schedule.data.clip_seconds > info.get("clip_seconds", math.inf):
        raise TrainingError(f"clip_seconds={schedule.data.clip_seconds:g} is longer than the clips of {data_dir} (at most "
                            f"{info['clip_seconds']:g} s, dataset_info.json): every window would be mostly padding")
    if window < model.config.min_samples:
        raise TrainingError(f"clip_seconds={schedule.data.clip_seconds} is shorter than the model's minimum input "
                            f"of {model.config.min_samples} samples")
    validation = ValidationMetrics(load_recordings(data_dir, "val"), Windowing(window))
    run = RunDirectory(model_dir)
    run.check_config({"model": model.config.to_dict(), "model_class": type(model).__name__,
                      "schedule": schedule.to_dict(), "window_samples": window})
    write_atomic(run.path / "labels.txt", "".join(f"{name}\n" for name in labels))
    if learns_frontend(model) and schedule.frontend_pretraining_epochs and not run.state["history"]:
        with _scope(strategy):
            initialise_frontend(model, data_dir, run, schedule)
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
                model.compile(learning_rate=schedule.rate(phase, index, steps_per_epoch), weight_decay=schedule.weight_decay,
                              ema_momentum=schedule.ema_momentum(steps_per_epoch))
                state.update(phase=index, epoch=0, phase_best=float("-inf"))
        nan_guard = StopOnNaN()
        print(f"phase {index + 1}/{len(phases)}: {phase.name} (mix={phase.mix}, lr={phase.learning_rate:g}), "
              f"epochs {state['epoch'] + 1}..{phase.epochs}", flush=True)
        data = schedule.data.replace(mix=phase.mix, seed=schedule.seed + index)
        with reading_shards(data_dir, "train"):
            model.fit(
                # One endless stream of passes (each checked against dataset_info.json, new crops
                # and mixes) cut into epochs: Keras keeps its iterator from epoch to epoch.
                load_dataset(data_dir, "train", data, training=True, repeat=True),
                epochs=phase.epochs,
                initial_epoch=state["epoch"],
                steps_per_epoch=steps_per_epoch,
                shuffle=False,  # the tf.data pipeline shuffles
                verbose=verbose,
                callbacks=[
                    *([AveragedWeights(resuming)] if model.optimizer.use_ema else []), nan_guard, validation, *callbacks,
                    keras.callbacks.TensorBoard(str(run.path / "logs" / phase.name)),
                    RunCheckpoint(run, index, phase.name, nan_guard, checkpoint_seconds),
                ],
            )
        if nan_guard.where:
            epoch, batch = nan_guard.where
            last = next(run.path.glob("checkpoint-*.keras"), None)
            raise RunError(
                f"loss became NaN in phase {phase.name}, epoch {epoch}, batch {batch}; "
                + (f"the last good checkpoint {last} is intact" if last else "no checkpoint had been written")
            )
    run.state["done"] = True
    run.save_state()
    with _scope(strategy):
        best = keras.saving.load_model(run.best)
    return best, run.state["history"]


def learns_frontend(model) -> bool:
    """Whether `model` has a learned filterbank (the raw model; the log-mel model's is fixed)."""
    from keras_rawaudio.models import RawWaveformClassifier

    return isinstance(model, RawWaveformClassifier)


def initialise_frontend(model, data_dir, run: RunDirectory, schedule: Schedule):
    """Fits the raw model's front-end to a log-mel image (kept in the run directory, so a
    restart before the first epoch reuses it)."""
    from keras_rawaudio.frontend_pretraining import pretrain_frontend

    if run.frontend_init.exists():
        model.load_weights(run.frontend_init)
        return
    print(f"front-end pretraining: {schedule.frontend_pretraining_epochs} epochs towards a log-mel image", flush=True)
    # Label-free: passes over the train split as it is (balanced sampling would never end one).
    data = schedule.data.replace(mix="none", balanced=False)
    with reading_shards(data_dir, "train"):
        error = pretrain_frontend(model, load_dataset(data_dir, "train", data, training=True),
                                  schedule.frontend_pretraining_epochs)
    print(f"front-end pretraining: mean squared error {error:.3f} of the bands' variance", flush=True)
    run.save_atomic(model, run.frontend_init, weights_only=True)


def _scope(strategy):
    return strategy.scope() if strategy else contextlib.nullcontext()


MODELS = ("raw", "logmel")


def build_model(kind: str, preset: str, num_classes: int, **overrides):
    """A new `kind` ('raw' or 'logmel') model of `preset`, any ModelConfig field overridden."""
    from keras_rawaudio.models import LogMelClassifier, RawWaveformClassifier

    classes = dict(zip(MODELS, (RawWaveformClassifier, LogMelClassifier)))
    if kind not in classes:
        raise TrainingError(f"--model must be raw or logmel, got {kind!r}")
    return classes[kind](model_config(preset, num_classes, overrides))


def model_config(preset: str, num_classes: int, overrides: dict):
    """The `ModelConfig` of `preset` with `overrides`; an impossible one is a `TrainingError`."""
    try:
        config = preset_config(preset, num_classes, **overrides)
    except ValueError as error:
        raise TrainingError(str(error)) from None
    if "gabor_learning_rate_scale" in overrides and config.frontend != "gabor":
        raise TrainingError(f"gabor_learning_rate_scale is for the Gabor front-end; preset {preset!r} with these "
                            f"flags has the {config.frontend!r} front-end")
    return config


def make_strategy(name: str):
    import tensorflow as tf

    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise TrainingError(f"--distribute must be none or mirrored, got {name!r}")


def train(data_dir, model_dir, model="raw", preset="edge", schedule=Schedule(), distribute="none", verbose="auto",
          model_overrides=None, checkpoint_seconds=CHECKPOINT_SECONDS):
    """Builds the model and runs `fit_mix_then_finetune`; returns (best model, history, seconds)."""
    strategy = make_strategy(distribute)
    num_classes = len(read_labels(data_dir))
    keras.utils.set_random_seed(schedule.seed)
    with _scope(strategy):
        classifier = build_model(model, preset, num_classes, **(model_overrides or {}))
    start = time.perf_counter()
    best, history = fit_mix_then_finetune(classifier, data_dir, model_dir, schedule, strategy, verbose,
                                          checkpoint_seconds=checkpoint_seconds)
    return best, history, time.perf_counter() - start


def best_epoch(history) -> dict | None:
    """The history entry of the best validation mAP (the epoch `best.keras` holds)."""
    return max((h for h in history if "val_mAP" in h), key=lambda h: h["val_mAP"], default=None)


def schedule_from_flags(FLAGS) -> Schedule:
    """The `Schedule` of the schedule flags (see `define_training_flags`)."""
    data = DataOptions(
        batch_size=FLAGS.batch_size, clip_seconds=FLAGS.clip_seconds,
        mix=FLAGS.mix if "mix" in FLAGS else Schedule().data.mix,
        mix_probability=FLAGS.mix_probability, mix_concentration=FLAGS.mix_concentration,
        mix_different_classes=FLAGS.mix_different_classes, match_mix_levels=FLAGS.match_mix_levels,
        balanced=FLAGS.balanced, cache=FLAGS.cache, crop=FLAGS.crop, gain_db=FLAGS.gain_db,
        speed_semitones=FLAGS.speed_semitones, seed=FLAGS.seed,
    )
    return Schedule(data=data, epochs=FLAGS.epochs, finetune_epochs=FLAGS.finetune_epochs,
                    learning_rate=FLAGS.learning_rate, finetune_learning_rate=FLAGS.finetune_learning_rate,
                    lr_schedule=FLAGS.lr_schedule, warmup_epochs=FLAGS.warmup_epochs,
                    weight_decay=FLAGS.weight_decay, weight_averaging_epochs=FLAGS.weight_averaging_epochs,
                    steps_per_epoch=FLAGS.steps_per_epoch, min_steps_per_epoch=FLAGS.min_steps_per_epoch,
                    frontend_pretraining_epochs=FLAGS.frontend_pretraining_epochs)


MODEL_FLAGS = ("frontend", "mel_min_hz", "mel_max_hz", "gabor_learning_rate_scale", "level_normalization",
               "level_frame_ms", "frontend_compression", "band_normalization", "mask_bands", "mask_frames",
               "filter_augment_db", "dropout")  # ModelConfig fields


def model_overrides_from_flags(FLAGS) -> dict:
    """The ModelConfig fields that flags set (None: the preset's)."""
    return {name: FLAGS[name].value for name in MODEL_FLAGS if FLAGS[name].value is not None}


def define_training_flags(mix=True):
    """The flags of a `Schedule`, shared by train and ablate (defaults: `Schedule()`)."""
    from absl import flags

    default = Schedule()
    if mix:
        flags.DEFINE_enum("mix", default.data.mix, list(MIX_MODES), "Phase-1 mixing.")
    flags.DEFINE_integer("epochs", default.epochs, "Phase-1 epochs.", lower_bound=0)
    flags.DEFINE_integer("finetune_epochs", default.finetune_epochs, "Phase-2 (unmixed fine-tuning) epochs.", lower_bound=0)
    flags.DEFINE_integer("batch_size", default.data.batch_size, "Global batch size.", lower_bound=2)
    flags.DEFINE_float("learning_rate", default.learning_rate, "Phase-1 learning rate.", lower_bound=0)
    flags.DEFINE_float("finetune_learning_rate", None, "Phase-2 learning rate (default: learning_rate / 10).", lower_bound=0)
    flags.DEFINE_enum("lr_schedule", default.lr_schedule, list(LR_SCHEDULES),
                      "constant, or warmup_cosine: linear warmup (phase 1) then cosine decay to 0 in each phase.")
    flags.DEFINE_integer("warmup_epochs", default.warmup_epochs, "Warmup epochs of warmup_cosine.", lower_bound=0)
    flags.DEFINE_float("weight_decay", default.weight_decay, "AdamW weight decay of the convolution and dense kernels "
                       "(per unit of learning rate).", lower_bound=0)
    flags.DEFINE_float("weight_averaging_epochs", default.weight_averaging_epochs, "Validate and keep a moving "
                       "average of the weights over about this many epochs (0: the weights themselves).", lower_bound=0)
    flags.DEFINE_enum("crop", default.data.crop, list(CROPS), "Training crops of longer clips: random, or energy "
                      "(where the clip's energy is).")
    flags.DEFINE_float("gain_db", default.data.gain_db, "Random gain of each training clip, uniform in ±this many dB.",
                       lower_bound=0)
    flags.DEFINE_float("speed_semitones", default.data.speed_semitones, "Random speed of each training clip, "
                       "moving its pitch uniformly in ±this many semitones.", lower_bound=0, upper_bound=12)
    flags.DEFINE_float("clip_seconds", default.data.clip_seconds, "Training window in seconds.", lower_bound=0.1)
    flags.DEFINE_float("mix_probability", default.data.mix_probability, "Fraction of clips mixed in phase 1.",
                       lower_bound=0, upper_bound=1)
    flags.DEFINE_float("mix_concentration", None, "α ~ Beta(a, a); default U(0, 1) (mix_training), Beta(0.2, 0.2) (mixup).",
                       lower_bound=1e-3)
    flags.DEFINE_bool("mix_different_classes", default.data.mix_different_classes, "Mix each clip with a random "
                      "clip of the batch that shares none of its classes, not with its neighbour.")
    flags.DEFINE_bool("match_mix_levels", default.data.match_mix_levels, "Mix two sounds at the ratio α of their "
                      "levels (loudest 50 ms of each), not of their recorded amplitudes.")
    flags.DEFINE_bool("balanced", False, "Class-balanced sampling (needs --steps_per_epoch).")
    flags.DEFINE_bool("cache", False, "Keep decoded clips in memory.")
    flags.DEFINE_integer("steps_per_epoch", None, "Batches per epoch (default: one pass over train, at least "
                         "min_steps_per_epoch).", lower_bound=1)
    flags.DEFINE_integer("min_steps_per_epoch", default.min_steps_per_epoch, "A train split of fewer batches is "
                         "repeated up to this many an epoch.", lower_bound=1)
    flags.DEFINE_integer("frontend_pretraining_epochs", default.frontend_pretraining_epochs,
                         "Raw model: epochs that first fit the learned filterbank to a log-mel image (0: off).",
                         lower_bound=0)
    flags.DEFINE_integer("seed", 0, "Seed of weights, shuffling, crops and mixing.", lower_bound=0,
                         upper_bound=MAX_SEED)
    flags.DEFINE_bool("level_normalization", None, "Scale each input window to a fixed level (ModelConfig field; "
                      "default: the preset's).")
    flags.DEFINE_float("level_frame_ms", None, "Level normalisation sets the RMS of each window's loudest frame of "
                       "this many ms (ModelConfig field; default: the preset's, 50; 0: the whole window's RMS; at "
                       "most 1000, the shortest input).", lower_bound=0, upper_bound=1000)
    flags.DEFINE_enum("frontend", None, list(FRONTENDS), "Raw model: the learned filterbank, the paper's 1D CNN or "
                      "Gabor-initialised complex filters (ModelConfig field; default: the preset's).")
    flags.DEFINE_float("mel_min_hz", None, "Lower edge of the mel range: the log-mel bands, the Gabor filters' initial "
                       f"centres and, in ablate, the classical baseline's bands (ModelConfig field; default: the "
                       f"preset's, {MEL_MIN_HZ:g}).", lower_bound=0)
    flags.DEFINE_float("mel_max_hz", None, "Upper edge of the mel range (ModelConfig field; default: the preset's, "
                       f"{MEL_MAX_HZ:g}; at most half the sample rate).", lower_bound=0)
    flags.DEFINE_float("gabor_learning_rate_scale", None, "Raw model, Gabor front-end: the filters' centres and widths "
                       "learn at this fraction of the learning rate (ModelConfig field; default: the preset's, "
                       f"{GABOR_LEARNING_RATE_SCALE:g}; 0: they keep their mel start; 1: as fast as the rest).",
                       lower_bound=0, upper_bound=1)
    flags.DEFINE_enum("frontend_compression", None, list(FRONTEND_COMPRESSIONS), "Raw model: compression of the learned "
                      "filterbank's output (ModelConfig field; default: the preset's).")
    flags.DEFINE_bool("band_normalization", None, "Batch-normalise each band of the image (ModelConfig field; "
                      "default: the preset's).")
    flags.DEFINE_integer("mask_bands", None, "SpecAugment: in training, up to this many consecutive bands of each "
                         "image set to 0 (ModelConfig field; default: the preset's; 0: off).", lower_bound=0)
    flags.DEFINE_integer("mask_frames", None, "SpecAugment: in training, up to this many consecutive frames (10 ms "
                         "each) of each image set to 0 (ModelConfig field; default: the preset's; 0: off).", lower_bound=0)
    flags.DEFINE_float("filter_augment_db", None, "FilterAugment: in training, a random equaliser of up to this "
                       "many dB, smooth across the bands, on each image (ModelConfig field; default: the preset's; "
                       "0: off; the raw model needs --frontend_compression=log).", lower_bound=0)
    flags.DEFINE_float("dropout", None, "Dropout of the features entering each attention head (ModelConfig field; "
                       "default: the preset's; at most 0.95).", lower_bound=0, upper_bound=0.95)


def define_flags():
    from absl import flags

    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords.", required=True)
    flags.DEFINE_string("model_dir", None, "Run directory (created; an unfinished run is resumed).", required=True)
    flags.DEFINE_enum("model", "raw", list(MODELS), "Front-end: raw waveform or log-mel.")
    flags.DEFINE_enum("preset", "edge", list(PRESETS), "Model size (see keras_rawaudio.config.PRESETS).")
    define_training_flags()
    flags.DEFINE_enum("distribute", "none", ["none", "mirrored"], "tf.distribute strategy.")
    flags.DEFINE_enum("progress", "bar", ["bar", "epoch", "none"], "Keras progress: a bar, a line per epoch, or none.")
    flags.DEFINE_float("checkpoint_seconds", CHECKPOINT_SECONDS, "Write the resumable checkpoint, the best weights and "
                       "history.json once this many seconds have passed since the last write, and after each "
                       "phase; 0: after every epoch.", lower_bound=0)


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    raw_only = [f"--{name}" for name in ("frontend", "gabor_learning_rate_scale", "frontend_compression")
                if FLAGS[name].value is not None]
    if FLAGS.model == "logmel" and raw_only:
        raise InputError(f"{', '.join(raw_only)}: the log-mel model's front-end is fixed; these flags are for --model=raw")
    verbose = {"bar": 1, "epoch": 2, "none": 0}[FLAGS.progress]
    _, history, seconds = train(FLAGS.data_dir, FLAGS.model_dir, FLAGS.model, FLAGS.preset, schedule_from_flags(FLAGS),
                                FLAGS.distribute, verbose, model_overrides_from_flags(FLAGS), FLAGS.checkpoint_seconds)
    best = best_epoch(history)
    if best is None:
        raise RunError(f"no epoch of {FLAGS.model_dir} has a validation mAP")
    print(f"done in {seconds:.0f} s; best val mAP {best['val_mAP']:.4f} ({best['phase']} epoch {best['epoch']}); "
          f"model: {pathlib.Path(FLAGS.model_dir) / 'best.keras'}")
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
