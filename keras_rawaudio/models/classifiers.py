"""The two classifiers: a raw-waveform network and a log-mel baseline with the same back-end.

Both are Keras functional models: waveform (batch, samples) float32 at 16 kHz in [-1, 1] →
clip probabilities (batch, num_classes), the mean of the attention heads' outputs.
"""

import pathlib

import keras
import numpy as np

from keras_rawaudio.config import ModelConfig
from keras_rawaudio.errors import InputError
from keras_rawaudio.inputs import check_waveform
from keras_rawaudio.models import heads, image, names, resnet
from keras_rawaudio.models.layers import LevelNormalization
from keras_rawaudio.models.metrics import default_metrics
from keras_rawaudio.presets import preset_config

WEIGHT_DECAY = 1e-4  # AdamW's decoupled decay, per unit of learning rate; see `compile`
PREDICT_BATCH = 256  # windows a predict_on_batch call of `keras_predict`


class AudioClassifier(keras.Model):
    """Shared construction, serialisation, presets and input checks of both classifiers."""

    def __init__(self, config: ModelConfig, **kwargs):
        waveform = keras.Input((config.input_samples,), name="waveform")
        level = (
            LevelNormalization(
                floor=10 ** (config.level_floor_dbfs / 20),
                frame_samples=config.level_frame_samples,
                name=names.LEVEL_NORMALIZATION,
            )(waveform)
            if config.level_normalization
            else waveform
        )
        stages = resnet.resnet(image.to_image(self.frontend(level, config), config), config)
        clipwise = heads.multi_level_prediction(stages, config)
        super().__init__(waveform, clipwise, **kwargs)
        self.config = config

    @staticmethod
    def frontend(waveform, config: ModelConfig):
        """(batch, samples) → (batch, T, bands)."""
        raise NotImplementedError

    learns_frontend = False  # whether its filterbank is learned

    @classmethod
    def from_preset(cls, name: str, num_classes: int, **overrides):
        """A new, untrained model of preset `name` (`keras_rawaudio.presets.PRESETS`); any field
        overridable."""
        return cls(preset_config(name, num_classes, **overrides))

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "config": self.config.to_dict()}

    @classmethod
    def from_config(cls, config):
        model = cls(ModelConfig.from_dict(config["config"]), name=config.get("name"))
        model.trainable = config.get("trainable", True)
        return model

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        learning_rate=1e-3,
        weight_decay=WEIGHT_DECAY,
        ema_momentum=None,
        **kwargs,
    ):
        """Keras `compile` with defaults for multi-label audio: AdamW at `learning_rate` with
        `weight_decay`, the gradient norm clipped at 5, binary cross-entropy, and mAP, AUC and
        top-1 accuracy metrics. With `ema_momentum`, the AdamW optimizer also keeps an
        exponential moving average of the trainable weights (Keras `use_ema`), which
        `train.AveragedWeights` swaps into the model for validation and checkpoints. Anything
        passed explicitly is used as given, except that any optimizer's weight decay applies to
        the kernels only (`decay_kernels_only`), here and when a saved file is loaded. The
        optimizer is built here (its slots created), so `fit` traces its training step once."""
        if optimizer == "auto":
            optimizer = keras.optimizers.AdamW(
                learning_rate,
                weight_decay=weight_decay,
                clipnorm=5.0,
                use_ema=ema_momentum is not None,
                ema_momentum=ema_momentum or 0.99,
            )
        if loss == "auto":
            loss = keras.losses.BinaryCrossentropy()
        if metrics == "auto":
            metrics = default_metrics(self.config.num_classes)
        optimizer = self.decay_kernels_only(keras.optimizers.get(optimizer))
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
        if self.built:  # else `fit` creates the slots while tracing its step, then traces it again
            self.optimizer.build(self.trainable_variables)

    def decay_kernels_only(self, optimizer):
        """Excludes from `optimizer`'s weight decay every variable but the convolution and dense
        kernels: biases, BatchNorm scales and offsets, and the filterbank's centres, widths and
        gains, whose values are not weights that should shrink towards 0. Returns `optimizer`."""
        if hasattr(optimizer, "exclude_from_weight_decay") and not optimizer.built:
            optimizer.exclude_from_weight_decay(
                var_list=[v for v in self.trainable_variables if v.name != "kernel"]
            )
        return optimizer

    def compile_from_config(self, config):
        """Restores the compiled state of a loaded `.keras` file (optimizer variables included)."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    def predict(self, x, *args, **kwargs):
        """Keras `predict`; waveforms given as arrays, lists, scalars or tensors are checked
        first (rank, length, dtype, NaN/Inf). A `tf.data.Dataset` goes to Keras as it is."""
        if isinstance(x, (np.ndarray, np.generic, list, tuple, float, int)) or keras.ops.is_tensor(
            x
        ):
            x = check_waveform(np.asarray(x), self.config.min_samples, self.config.input_samples)
        return super().predict(x, *args, **kwargs)

    def multi_output_model(self) -> keras.Model:
        """A model sharing these weights that returns every level's view of the clip.

        Outputs a dict: `clipwise` (batch, K); per level l (finest first) `levels` (batch, K),
        `framewise` (batch, T_l, K) classification probabilities and `attention`
        (batch, T_l, K) weights that sum to 1 over T_l.
        """
        levels = [
            self.get_layer(names.head(i + 1, "attention")).output
            for i in range(self.config.num_heads)
        ]
        outputs = {
            "clipwise": self.output,
            "levels": [h[0] for h in levels],
            "framewise": [h[1] for h in levels],
            "attention": [h[2] for h in levels],
        }
        return keras.Model(self.input, outputs, name=f"{self.name}_multi_output")


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class RawWaveformClassifier(AudioClassifier):
    """A learned filterbank (`config.frontend`) → (C, T, 1) image → 2D ResNet → multi-level
    attention."""

    frontend = staticmethod(image.waveform_frontend)
    learns_frontend = True


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class LogMelClassifier(AudioClassifier):
    """In-graph log-mel spectrogram → the same 2D ResNet and attention heads."""

    frontend = staticmethod(image.log_mel_frontend)


def keras_predict(model):
    """(n, window) windows → (n, K) scores of a Keras `model`, `PREDICT_BATCH` windows at a
    time through `predict_on_batch`. `predict` builds an iterator and callbacks at every call,
    which cost more than scoring a validation split of a few hundred windows (about 0.15 s of
    0.35 s an epoch on drums16k)."""
    return lambda windows: np.concatenate(
        [
            np.asarray(model.predict_on_batch(windows[start : start + PREDICT_BATCH]))
            for start in range(0, len(windows), PREDICT_BATCH)
        ]
    )


def load_classifier(path, flag="--model") -> AudioClassifier:
    """Loads a keras_rawaudio `.keras` model, or raises InputError saying why not (naming `path`
    as the value of `flag`).

    Example: `model = keras_rawaudio.load_classifier("runs/esc50/best.keras")`.
    """
    if not pathlib.Path(path).is_file():
        raise InputError(f"{flag} {path} does not exist")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any load failure is reported in one line
        raise InputError(
            f"{flag} {path} is not a loadable .keras file ({type(error).__name__})"
        ) from None
    if not isinstance(model, AudioClassifier):
        raise InputError(
            f"{flag} {path} is a {type(model).__name__}, not a keras_rawaudio classifier"
        )
    return model
