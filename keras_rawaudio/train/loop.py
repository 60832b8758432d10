"""The training loop: the paper's two-phase schedule (mix-training, then fine-tuning on unmixed
clips), resumable from the run directory.

Python: `fit_mix_then_finetune(model, data_dir, model_dir, Schedule(...))`, or `train(...)`,
which builds the model first.
"""

import contextlib
import math
import os
import time

import keras

from keras_rawaudio.data.reading import (
    load_dataset,
    load_recordings,
    read_info,
    read_labels,
    reading_shards,
)
from keras_rawaudio.errors import RunError
from keras_rawaudio.events import RULE_FILE
from keras_rawaudio.files import write_atomic
from keras_rawaudio.models.classifiers import (
    LogMelClassifier,
    RawWaveformClassifier,
    keras_predict,
    load_classifier,
)
from keras_rawaudio.presets import preset_config
from keras_rawaudio.scoring import Windowing
from keras_rawaudio.train.callbacks import (
    AveragedWeights,
    RunCheckpoint,
    StopOnNaN,
    ValidationMetrics,
)
from keras_rawaudio.train.distribution import start_multi_worker
from keras_rawaudio.train.event_rule import choose_event_rule, write_event_rule
from keras_rawaudio.train.pretraining import pretrain_frontend
from keras_rawaudio.train.run_directory import RunDirectory, TrainingError, has_history
from keras_rawaudio.train.schedule import Schedule

CHECKPOINT_SECONDS = 60.0  # a resumed run repeats at most about this much training


def fit_mix_then_finetune(
    model,
    data_dir,
    model_dir,
    schedule: Schedule = Schedule(),
    strategy=None,
    verbose="auto",
    callbacks=(),
    checkpoint_seconds=CHECKPOINT_SECONDS,
    chief=True,
):
    """Trains `model` on `data_dir` with the two-phase schedule; returns (best model, history).

    Phase 1 trains on `schedule.data.mix` batches (mix-training by default) for `epochs`;
    phase 2 fine-tunes the best phase-1 weights on unmixed clips for `finetune_epochs` at the
    lower rate. Each phase keeps its best weights by validation mAP; `best.keras` is the best
    of the run, and `event_rule.json` its per-class event thresholds, chosen on validation
    soundscapes (`train.event_rule`). If `model_dir` holds an unfinished run of the same
    settings, it is resumed from its last checkpoint, written at the first epoch's end
    `checkpoint_seconds` after the last write (0: after every epoch) and after each phase.

    Example:

        model = keras_rawaudio.RawWaveformClassifier.from_preset("edge", num_classes=10)
        best, history = fit_mix_then_finetune(model, "data/esc50", "runs/esc50",
        Schedule(epochs=30))
    """
    check_onednn(model.config)
    labels = read_labels(data_dir)
    if model.config.num_classes != len(labels):
        raise TrainingError(
            f"the model has {model.config.num_classes} classes but {data_dir}/labels.txt has "
            f"{len(labels)}"
        )
    info = read_info(data_dir)
    train_clips = info["splits"].get("train", {}).get("clips", 0)
    if train_clips == 0 or (
        schedule.steps_per_epoch is None and train_clips < schedule.data.batch_size
    ):
        raise TrainingError(
            f"the train split of {data_dir} has {train_clips} clips, fewer than one batch of "
            f"{schedule.data.batch_size}: no training step would run"
        )
    steps_per_epoch = schedule.epoch_steps(train_clips)
    window = round(schedule.data.clip_seconds * info["sample_rate"])
    if schedule.data.clip_seconds > info.get("clip_seconds", math.inf):
        raise TrainingError(
            f"clip_seconds={schedule.data.clip_seconds:g} is longer than the clips of {data_dir} "
            f"(at most "
            f"{info['clip_seconds']:g} s, dataset_info.json): every window would be mostly padding"
        )
    if window < model.config.min_samples:
        raise TrainingError(
            f"clip_seconds={schedule.data.clip_seconds} is shorter than the model's minimum input "
            f"of {model.config.min_samples} samples"
        )
    validation = ValidationMetrics(load_recordings(data_dir, "val"), Windowing(window))
    # Checked before anything is written; a resumed run starts from its checkpoint instead.
    start = (
        warm_start(model, schedule.init_model)
        if schedule.init_model and not has_history(model_dir)
        else None
    )
    config = {
        "model": model.config.to_dict(),
        "model_class": type(model).__name__,
        "schedule": schedule.to_dict(),
        "window_samples": window,
    }
    with RunDirectory(model_dir, config, chief) as run:  # locked: one process writes it
        write_atomic(run.path / "labels.txt", "".join(f"{name}\n" for name in labels))
        if start:
            with _scope(strategy):
                for variable, value in start:
                    variable.assign(value)
            print(
                f"warm start: {len(start)} of {len(model.weights)} weights from "
                f"{schedule.init_model}",
                flush=True,
            )
        elif (
            model.learns_frontend
            and schedule.frontend_pretraining_epochs
            and not run.state["history"]
        ):
            with _scope(strategy):
                initialise_frontend(model, data_dir, run, schedule)
        phases = schedule.phases()

        for index, phase in enumerate(phases):
            state = run.state
            if (
                index < state["phase"]
                or state["done"]
                or (index == state["phase"] and state["epoch"] >= phase.epochs)
            ):
                continue
            resuming = index == state["phase"] and state["epoch"] > 0
            with _scope(strategy):
                if resuming:  # inside this phase, optimizer state included
                    model = keras.saving.load_model(run.checkpoint_path(state))
                else:
                    if index:
                        model.load_weights(run.phase_best(phases[index - 1].name))
                    model.compile(
                        learning_rate=schedule.rate(phase, index, steps_per_epoch),
                        weight_decay=schedule.weight_decay,
                        ema_momentum=schedule.ema_momentum(steps_per_epoch),
                    )
                    state.update(phase=index, epoch=0, phase_best=float("-inf"))
            nan_guard = StopOnNaN()
            print(
                f"phase {index + 1}/{len(phases)}: {phase.name} (mix={phase.mix}, "
                f"lr={phase.learning_rate:g}), "
                f"epochs {state['epoch'] + 1}..{phase.epochs}",
                flush=True,
            )
            data = schedule.data.replace(mix=phase.mix, seed=schedule.seed + index)
            with reading_shards(data_dir, "train"):
                model.fit(
                    # One endless stream of passes (each checked against dataset_info.json, new
                    # crops and mixes) cut into epochs: Keras keeps its iterator between epochs.
                    load_dataset(
                        data_dir,
                        "train",
                        data,
                        training=True,
                        repeat=True,
                        level_frame=model.config.level_frame_samples,
                    ),
                    epochs=phase.epochs,
                    initial_epoch=state["epoch"],
                    steps_per_epoch=steps_per_epoch,
                    shuffle=False,  # the tf.data pipeline shuffles
                    verbose=verbose,
                    callbacks=[
                        *([AveragedWeights(resuming)] if model.optimizer.use_ema else []),
                        nan_guard,
                        validation,
                        *callbacks,
                        keras.callbacks.TensorBoard(str(run.path / "logs" / phase.name)),
                        RunCheckpoint(run, index, phase.name, nan_guard, checkpoint_seconds),
                    ],
                )
            if nan_guard.where:
                epoch, batch = nan_guard.where
                last = next(run.path.glob("checkpoint-*.keras"), None)
                raise RunError(
                    f"loss became NaN in phase {phase.name}, epoch {epoch}, batch {batch}; "
                    + (
                        f"the last good checkpoint {last} is intact"
                        if last
                        else "no checkpoint had been written"
                    )
                )
        with _scope(strategy):
            best = keras.saving.load_model(run.best)
        if not (run.path / RULE_FILE).exists():
            rule = choose_event_rule(
                keras_predict(best),
                data_dir,
                window,
                info["sample_rate"],
                schedule.data.background_dir,
                seed=schedule.seed,
            )
            write_event_rule(run.path, rule)
            print(
                "event thresholds (validation soundscapes): "
                + ", ".join(f"{name} {t:g}" for name, t in zip(labels, rule.thresholds)),
                flush=True,
            )
        run.state["done"] = True
        run.save_state()
        return best, run.state["history"]


def check_onednn(config):
    """TrainingError if TensorFlow's oneDNN CPU kernels would corrupt memory training `config`'s
    one-channel Conv1D stem (fewer than 16 filters), as they do when TF_ENABLE_ONEDNN_OPTS is on."""
    if (
        config.frontend == "cnn"
        and config.stem_filters < 16
        and os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0"
    ):
        raise TrainingError(
            f"stem_filters={config.stem_filters}: TensorFlow's oneDNN CPU kernels corrupt memory "
            f"when "
            "training a one-channel Conv1D with fewer than 16 filters; use >= 16 or set "
            "TF_ENABLE_ONEDNN_OPTS=0 before importing TensorFlow"
        )


def warm_start(model, path) -> list:
    """The (weight, value) pairs that start `model` from the keras_rawaudio classifier at `path`:
    each of its weights with the same path and shape. A weight whose shape differs only in
    its last axis, the number of classes (the heads' class layers, for another label set), keeps
    its start. TrainingError if any other weight differs or is missing on either side: a warm
    start needs the same model, preset and front-end."""
    source = load_classifier(path, flag="--init_model")
    weights = {variable.path: variable for variable in source.weights}
    classes = (source.config.num_classes, model.config.num_classes)
    start = []
    for variable in model.weights:
        origin = weights.pop(variable.path, None)
        shape = tuple(variable.shape)
        found = tuple(origin.shape) if origin is not None else None
        if found == shape:
            start.append((variable, origin.numpy()))
        elif not (found and found[:-1] == shape[:-1] and (found[-1], shape[-1]) == classes):
            raise TrainingError(
                f"--init_model {path} is another architecture: its weight {variable.path} is "
                f"{found or 'absent'}, this model's {shape} (a warm start needs the same "
                f"model, preset and front-end)"
            )
    if weights:
        raise TrainingError(
            f"--init_model {path} is another architecture: it has a weight {next(iter(weights))} "
            f"that this model lacks (a warm start needs the same model, preset and front-end)"
        )
    return start


def initialise_frontend(model, data_dir, run: RunDirectory, schedule: Schedule):
    """Fits the raw model's front-end to a log-mel image (kept in the run directory, so a
    restart before the first epoch reuses it)."""
    if run.frontend_init.exists():
        model.load_weights(run.frontend_init)
        return
    print(
        f"front-end pretraining: {schedule.frontend_pretraining_epochs} epochs towards a log-mel "
        f"image",
        flush=True,
    )
    # Label-free: passes over the train split as it is (balanced sampling would never end one).
    data = schedule.data.replace(
        mix="none", balanced=False, empty_fraction=0.0, background_fraction=0.0
    )
    with reading_shards(data_dir, "train"):
        error = pretrain_frontend(
            model,
            load_dataset(data_dir, "train", data, training=True),
            schedule.frontend_pretraining_epochs,
        )
    print(
        f"front-end pretraining: mean squared error {error:.3f} of the bands' variance", flush=True
    )
    run.save_atomic(model, run.frontend_init, weights_only=True)


def _scope(strategy):
    return strategy.scope() if strategy else contextlib.nullcontext()


MODELS = {"raw": RawWaveformClassifier, "logmel": LogMelClassifier}


def build_model(kind: str, preset: str, num_classes: int, **overrides):
    """A new `kind` ('raw' or 'logmel') model of `preset`, any ModelConfig field overridden."""
    if kind not in MODELS:
        raise TrainingError(f"--model must be {' or '.join(MODELS)}, got {kind!r}")
    config = preset_config(preset, num_classes, **overrides)
    if "gabor_learning_rate_scale" in overrides and config.frontend != "gabor":
        raise TrainingError(
            f"gabor_learning_rate_scale is for the Gabor front-end; preset {preset!r} with these "
            f"flags has the {config.frontend!r} front-end"
        )
    return MODELS[kind](config)


def make_strategy(name: str):
    import tensorflow as tf

    if name in ("none", "multi_worker"):  # multi_worker: keras.distribution, no tf.distribute
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise TrainingError(f"--distribute must be none, mirrored or multi_worker, got {name!r}")


def train(
    data_dir,
    model_dir,
    model="raw",
    preset="edge",
    schedule=Schedule(),
    distribute="none",
    verbose="auto",
    model_overrides=None,
    checkpoint_seconds=CHECKPOINT_SECONDS,
):
    """Builds the model and runs `fit_mix_then_finetune`; returns (best model, history, seconds).
    With `distribute="multi_worker"` this process joins the job its environment describes
    (`train.distribution`); the chief, process 0, writes `model_dir`."""
    chief = True
    if distribute == "multi_worker":
        chief = start_multi_worker() == 0
    strategy = make_strategy(distribute)
    num_classes = len(read_labels(data_dir))
    keras.utils.set_random_seed(schedule.seed)
    with _scope(strategy):
        classifier = build_model(model, preset, num_classes, **(model_overrides or {}))
    start = time.perf_counter()
    best, history = fit_mix_then_finetune(
        classifier,
        data_dir,
        model_dir,
        schedule,
        strategy,
        verbose,
        checkpoint_seconds=checkpoint_seconds,
        chief=chief,
    )
    return best, history, time.perf_counter() - start


def best_epoch(history) -> dict | None:
    """The history entry of the best validation mAP (the epoch `best.keras` holds)."""
    return max((h for h in history if "val_mAP" in h), key=lambda h: h["val_mAP"], default=None)
