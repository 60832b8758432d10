import shutil

import keras
import numpy as np
import pytest

from keras_rawaudio import LogMelClassifier, RawWaveformClassifier
from keras_rawaudio.data import DataOptions, load_dataset
from keras_rawaudio.errors import ConfigError
from keras_rawaudio.train import RunDirectory, Schedule, fit_mix_then_finetune
from keras_rawaudio.train.loop import initialise_frontend
from keras_rawaudio.train.pretraining import (
    centred_log_mel,
    frontend_frames,
    frontend_model,
    pretrain_frontend,
    target_frames,
)


@pytest.mark.parametrize("frontend", ["cnn", "gabor"])
def test_the_target_is_a_centred_log_mel_with_the_frontends_frames(tiny_config, frontend):
    config = tiny_config.replace(
        frontend=frontend, frontend_compression="log", band_normalization=True
    )
    model = RawWaveformClassifier(config)
    x = np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype("float32")
    frames = frontend_model(model)(x)
    assert frontend_frames(16000, config) == frames.shape[1] == 100
    assert frontend_frames(16001, config) == 101  # 'same' padding: one more frame, as the model has
    log_mel = centred_log_mel(config)
    target = np.asarray(target_frames(log_mel, x, 100))
    assert target.shape == (2, 100, config.frequency_bands)
    # Frame t's window is centred on sample 160·t: frame 50 is the log-mel of x[8000-200 :
    # 8000+200].
    window = np.asarray(log_mel(x[:, 8000 - 200 : 8000 + 200]))[:, 0]
    np.testing.assert_allclose(target[:, 50], window, atol=1e-4)


def test_pretraining_fits_the_frontend_to_the_log_mel_and_leaves_the_heads(
    synthetic_records, tiny_config
):
    keras.utils.set_random_seed(0)
    model = RawWaveformClassifier(tiny_config.replace(num_classes=5, frontend_compression="log"))
    heads = [w.numpy().copy() for w in model.get_layer("head1_attention").weights]
    dataset = load_dataset(
        synthetic_records,
        "train",
        DataOptions(batch_size=16, cache=True, seed=0, empty_fraction=0.0, background_fraction=0.0),
    ).take(12)
    first = pretrain_frontend(model, dataset, epochs=1)
    last = pretrain_frontend(model, dataset, epochs=6)
    assert last < 0.4 * first and last < 0.7  # in units of each band's variance (1: the band means)
    for before, after in zip(heads, model.get_layer("head1_attention").weights):
        np.testing.assert_array_equal(before, after.numpy())


def test_a_run_pretrains_once_and_reuses_the_initialisation(
    synthetic_records, tiny_config, tmp_path, capsys
):
    # Balanced sampling is endless; the pretraining's epochs are still passes over the split.
    schedule = Schedule(
        DataOptions(batch_size=16, cache=True, seed=0, balanced=True),
        epochs=1,
        finetune_epochs=0,
        steps_per_epoch=5,
        frontend_pretraining_epochs=1,
    )
    fit_mix_then_finetune(
        RawWaveformClassifier(tiny_config.replace(num_classes=5)),
        synthetic_records,
        tmp_path,
        schedule,
        verbose=0,
    )
    init = tmp_path / "frontend_init.weights.h5"
    assert init.is_file()
    assert "front-end pretraining: mean squared error" in capsys.readouterr().out
    # A run killed after pretraining, before its first epoch, starts from the saved initialisation.
    again = RawWaveformClassifier(tiny_config.replace(num_classes=5))
    (tmp_path / "again").mkdir()
    shutil.copy(init, tmp_path / "again" / init.name)
    initialise_frontend(
        again,
        synthetic_records,
        RunDirectory(tmp_path / "again", {"model": {}, "schedule": {}}),
        schedule,
    )
    assert "front-end pretraining" not in capsys.readouterr().out
    saved = RawWaveformClassifier(tiny_config.replace(num_classes=5))
    saved.load_weights(init)
    for loaded, expected in zip(again.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(loaded, expected)
    # The log-mel model has no learned filterbank to initialise.
    fit_mix_then_finetune(
        LogMelClassifier(tiny_config.replace(num_classes=5)),
        synthetic_records,
        tmp_path / "logmel",
        schedule.replace(steps_per_epoch=1),
        verbose=0,
    )
    assert "front-end pretraining" not in capsys.readouterr().out
    assert not (tmp_path / "logmel" / init.name).exists()
    with pytest.raises(
        ConfigError, match=r"frontend_pretraining_epochs must be in \[0, 100000\], got -1"
    ):
        Schedule(frontend_pretraining_epochs=-1)
