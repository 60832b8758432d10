import json

from keras_rawaudio.demo import run_demo
from keras_rawaudio.synthetic import CLASSES


def test_the_demo_runs_every_stage_at_one_window(tmp_path, capsys):
    result = run_demo(
        tmp_path / "demo",
        clips=60,
        epochs=1,
        finetune_epochs=1,
        quantize=["float32"],
        frontend_pretraining_epochs=1,
    )
    printed = capsys.readouterr().out
    assert [line.split(" ")[1] for line in printed.splitlines() if line.startswith("== ")] == [
        f"{n}/6" for n in range(1, 7)
    ]
    assert [(h["phase"], h["epoch"]) for h in result["history"]] == [
        ("mix_training", 1),
        ("finetune", 1),
    ]
    assert result["test"]["num_clips"] == 6
    config = json.loads((tmp_path / "demo" / "run" / "config.json").read_text())
    assert (
        config["window_samples"] == result["export"]["window_samples"] == 16000
    )  # trained and exported at 1 s
    assert set(result["export"]["files"]) == {"float32"}
    assert result["classify"]["file"].endswith(".wav") and len(result["classify"]["top"]) == 3
    assert {t["label"] for t in result["classify"]["top"]} <= set(CLASSES)
    assert f"{result['classify']['file']}: " in printed
    assert "front-end pretraining: mean squared error" in printed
