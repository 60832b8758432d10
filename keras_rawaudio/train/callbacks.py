"""The callbacks of a training run: exact validation metrics, a NaN guard, weight averaging,
and the run directory's checkpoints."""

import math
import time

import keras
import numpy as np

from keras_rawaudio import clip_metrics
from keras_rawaudio.models.classifiers import keras_predict
from keras_rawaudio.scoring import Windowing, score_recordings


class ValidationMetrics(keras.callbacks.Callback):
    """Adds exact clip metrics of the validation recordings to the epoch logs (val_mAP, ...)."""

    def __init__(self, recordings, windowing: Windowing):
        super().__init__()
        self.recordings, self.windowing = recordings, windowing

    def on_epoch_end(self, epoch, logs=None):
        scores = score_recordings(
            keras_predict(self.model), self.recordings.waveforms, self.windowing
        )
        if not np.all(np.isfinite(scores)):  # a NaN model: StopOnNaN reports it, nothing to score
            return
        scores, y = np.clip(scores, 1e-7, 1 - 1e-7), self.recordings.labels
        logs["val_loss"] = float(-np.mean(y * np.log(scores) + (1 - y) * np.log(1 - scores)))
        for key, value in clip_metrics.clip_metrics(y, scores).items():
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
        if (
            epoch == self.params["epochs"] - 1
        ):  # fit ends by writing the optimizer's average into the model
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
        self.run, self.phase_index, self.phase_name, self.nan_guard = (
            run,
            phase_index,
            phase_name,
            nan_guard,
        )
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
        state["history"].append(
            {"phase": self.phase_name, "epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}}
        )
        improved = []
        phase_best = self.run.phase_best(self.phase_name)
        if not score <= state["phase_best"] or not self.kept(
            phase_best
        ):  # NaN never improves a number
            state["phase_best"] = score
            improved.append(phase_best)
        if score > state["best"] or not self.kept(self.run.best):
            state["best"] = score
            improved.append(self.run.best)
        if improved:
            self.unwritten.update(dict.fromkeys(improved, self.model.get_weights()))
        state.update(phase=self.phase_index, epoch=epoch + 1)
        if (
            epoch + 1 >= self.params["epochs"]
            or self.model.stop_training
            or time.monotonic() - self.written_at >= self.every_seconds
        ):
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
