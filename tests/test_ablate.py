import json

from keras_rawaudio.ablate import ablate, runs
from keras_rawaudio.data import DataOptions
from keras_rawaudio.train import Schedule

SCHEDULE = Schedule(DataOptions(batch_size=16, cache=True, seed=0), epochs=1, finetune_epochs=0, steps_per_epoch=2)


def test_every_run_has_the_same_budget_and_data():
    plans = runs(SCHEDULE.replace(epochs=3, finetune_epochs=2))
    assert {name: (model, p.data.mix, p.epochs, p.finetune_epochs) for name, (model, p) in plans.items()} == {
        "raw_none": ("raw", "none", 5, 0),
        "raw_mixup": ("raw", "mixup", 5, 0),
        "raw_mix_training": ("raw", "mix_training", 3, 2),
        "logmel_mix_training": ("logmel", "mix_training", 3, 2),
    }
    assert {p.data.replace(mix="none") for _, p in plans.values()} == {SCHEDULE.data.replace(mix="none")}


def test_ablation_trains_evaluates_and_resumes(synthetic_records, tmp_path):
    results = ablate(synthetic_records, tmp_path, SCHEDULE, preset="tiny")
    saved = json.loads((tmp_path / "ablation.json").read_text())
    assert list(saved) == ["raw_none", "raw_mixup", "raw_mix_training", "logmel_mix_training"]
    for name, result in saved.items():
        assert result["num_clips"] == 60 and result["mAP"] == results[name]["mAP"]
        assert len(json.loads((tmp_path / name / "history.json").read_text())) == 1
    table = (tmp_path / "ablation.md").read_text().splitlines()
    assert table[2].startswith("| run | test mAP |") and len(table) == 8
    again = ablate(synthetic_records, tmp_path, SCHEDULE, preset="tiny")  # finished runs are kept, not retrained
    assert {n: r["wall_seconds"] for n, r in again.items()} == {n: r["wall_seconds"] for n, r in saved.items()}
