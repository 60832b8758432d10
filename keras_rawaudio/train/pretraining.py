"""Initialises the raw model's learned filterbank as a log-mel spectrogram, before training.

With a few hundred clips a 1D CNN that starts from random weights has to discover a filterbank
and a classifier at once, and it loses to a fixed log-mel front-end. This step first teaches
the front-end (the CNN's stem and stages or the Gabor filters, compression and band
normalisation: everything before the (C, T) image) to reproduce the standardised log-mel image
of its own input, with a mean-squared error, on the training clips themselves (no labels, no
external data). The Gabor filters start mel-like already; for them the step mostly sets the
compression gains and band statistics (the filters themselves learn at the config's
`gabor_learning_rate_scale`, here as in classification). Classification training then starts
from a spectrogram-like image, and goes on learning the front-end end to end, as SincNet and
LEAF do with their mel-initialised filters.

The target has the front-end's shape: `frequency_bands` mel bands between the config's
`mel_min_hz` and `mel_max_hz`, one frame per `hop_samples`, each frame's 25 ms window centred
where the front-end's frame is, each band standardised over the training clips.

Example:

    model = RawWaveformClassifier.from_preset("edge", num_classes=10, frontend_compression="log")
    loss = pretrain_frontend(model, load_dataset("data/esc50", "train", DataOptions()), epochs=5)
"""

import keras
import numpy as np
from keras import ops

from keras_rawaudio.errors import InputError
from keras_rawaudio.models import frontends, names
from keras_rawaudio.models.layers import LogMelSpectrogram

WINDOW_MS = 25.0
STATISTICS_BATCHES = 8  # training batches that set each band's mean and standard deviation


def image_layer_name(config) -> str:
    """The last layer before the raw model's image transpose."""
    if config.band_normalization:
        return names.BAND_NORMALIZATION
    if config.frontend_compression != "none":
        return names.FRONTEND_COMPRESSION
    return frontends.get(config.frontend).output_layer(config)


def frontend_model(model) -> keras.Model:
    """waveform (batch, samples) → the frames that become the image, (batch, T, C); shares `model`'s
    weights."""
    return keras.Model(
        model.input, model.get_layer(image_layer_name(model.config)).output, name="frontend"
    )


def centred_log_mel(config) -> keras.layers.Layer:
    """A log-mel layer with the front-end's bands and hop (see `target_frames`)."""
    window = round(WINDOW_MS * config.sample_rate / 1000)
    return LogMelSpectrogram(
        config.sample_rate,
        window,
        config.hop_samples,
        config.frequency_bands,
        config.mel_min_hz,
        config.mel_max_hz,
        name="target_log_mel",
    )


def frontend_frames(samples: int, config) -> int:
    """Frames of the raw front-end for `samples` samples ('same' padding: a ceiling per stride,
    which compose to one ceiling of samples / hop)."""
    return -(-samples // config.hop_samples)


def target_frames(log_mel, waveforms, frames):
    """The log-mel of `waveforms` with window t centred on sample t·hop, `frames` frames."""
    half = log_mel.window_samples // 2
    padded = ops.pad(waveforms, [[0, 0], [half, half]])
    return log_mel(padded)[:, :frames]


def pretrain_frontend(model, dataset, epochs, learning_rate=1e-3, verbose=0) -> float:
    """Fits `model`'s front-end to the standardised log-mel image for `epochs` passes over
    `dataset` (batches of (waveform, labels) of a fixed length; labels unused). Returns the
    last epoch's mean squared error, in units of each band's variance (1.0: no better than
    the band means)."""
    steps = int(dataset.cardinality())
    if steps < 1:
        raise InputError(
            "pretrain_frontend needs a finite dataset of known length (load_dataset's, not "
            f"repeated); its cardinality is {steps}"
        )
    frontend = frontend_model(model)
    frames = frontend_frames(dataset.element_spec[0].shape[1], model.config)
    log_mel = centred_log_mel(model.config)
    level = model.get_layer(names.LEVEL_NORMALIZATION) if model.config.level_normalization else None
    target = lambda x: target_frames(log_mel, level(x) if level else x, frames)  # noqa: E731
    sample = np.concatenate(
        [ops.convert_to_numpy(target(x)) for x, _ in dataset.take(STATISTICS_BATCHES)]
    )
    mean, std = sample.mean(axis=(0, 1)), sample.std(axis=(0, 1)) + 1e-3
    # The target is computed in the model (not in tf.data, which runs TensorFlow only), out of
    # the gradient: the model's output is the front-end's error, and the loss its mean square.
    waveform = frontend.input
    error = frontend.output - ops.stop_gradient((target(waveform) - mean) / std)
    residual = keras.Model(waveform, error, name="frontend_error")
    residual.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=lambda _, predicted: ops.mean(ops.square(predicted), axis=(1, 2)),
    )
    residual.optimizer.build(
        residual.trainable_variables
    )  # before `fit`, which would trace its step twice
    # One endless stream cut into passes: an iterator Keras restarts each epoch would end after
    # the first under a multi-process distribution. The second x is a placeholder the loss
    # ignores; the tf.data pipeline shuffles.
    history = residual.fit(
        dataset.map(lambda x, _: (x, x)).repeat(),
        epochs=epochs,
        steps_per_epoch=steps,
        verbose=verbose,
        shuffle=False,
    )
    return float(history.history["loss"][-1])
