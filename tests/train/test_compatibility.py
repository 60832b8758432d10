"""Files written by 0.3.18 (tests/fixtures/v0_3_18) still load, predict the same and resume."""

import json
import shutil

import numpy as np

from conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "v0_3_18"


def test_a_0_3_18_model_loads_and_predicts_the_same_scores():
    from keras_rawaudio import load_classifier

    expected = json.loads((FIXTURE / "best_predictions.json").read_text())
    probe = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 16000)).astype("float32")
    model = load_classifier(FIXTURE / "run" / "best.keras")
    np.testing.assert_allclose(model.predict(probe, verbose=0), expected["scores"], atol=1e-5)


def test_a_0_3_18_run_directory_resumes_to_the_end(tmp_path):
    from keras_rawaudio import RawWaveformClassifier
    from keras_rawaudio.data import DataOptions
    from keras_rawaudio.data.synthetic_records import write_records
    from keras_rawaudio.train import Schedule, fit_mix_then_finetune

    run = shutil.copytree(FIXTURE / "run", tmp_path / "run")
    data = write_records(tmp_path / "data", clips=40, seconds=1.0, seed=3)
    schedule = Schedule(
        DataOptions(
            batch_size=8,
            clip_seconds=1.0,
            mix="mix_training",
            seed=0,
            empty_fraction=0.0,  # as 0.3.18 trained: without background
            background_fraction=0.0,
        ),
        epochs=2,
        finetune_epochs=1,
        frontend_pretraining_epochs=0,
        min_steps_per_epoch=2,
    )
    model = RawWaveformClassifier.from_preset("tiny", num_classes=5, level_floor_dbfs=-60.0)
    _, history = fit_mix_then_finetune(model, data, run, schedule, verbose=0, checkpoint_seconds=0)
    assert [(h["phase"], h["epoch"]) for h in history] == [
        ("mix_training", 1),
        ("mix_training", 2),
        ("finetune", 1),
    ]
    assert (
        history[0] == json.loads((FIXTURE / "run" / "history.json").read_text())[0]
    )  # kept, not retrained
    assert json.loads((run / "state.json").read_text())["done"]
