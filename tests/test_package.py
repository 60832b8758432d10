"""The package's shape: TensorFlow-free parts without TensorFlow, and every stage from an
install."""

import os
import subprocess
import sys

import numpy as np

from conftest import BLOCK_TENSORFLOW, ROOT

STAGES = ("make_tfrecords", "train", "evaluate", "ablate", "export", "classify", "demo")

NO_TENSORFLOW = (
    BLOCK_TENSORFLOW
    + """
import keras_rawaudio
from keras_rawaudio import (audio_io, classify, cli, clip_metrics, config, dsp, edge, errors,
inputs, layouts, presets,
                            scoring, synthetic)
assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)
try:
    keras_rawaudio.RawWaveformClassifier
except ImportError as error:
    print('blocked:', error)
"""
)


def test_edge_parts_import_without_tensorflow():
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_RAWAUDIO")}
    result = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.strip().startswith("blocked: ")  # the Keras parts do need it


def test_onednn_kernels_are_on_unless_the_user_turns_them_off():
    """Imported before TensorFlow, the package turns on TensorFlow's oneDNN kernels, which
    TensorFlow leaves off on AVX2-only CPUs; TF_ENABLE_ONEDNN_OPTS=0 still turns them off."""
    program = (
        "import keras_rawaudio, tensorflow\n"
        "from tensorflow.python.util import _pywrap_util_port\n"
        "print(_pywrap_util_port.IsMklEnabled())"
    )
    enabled = {}
    for setting in (None, "0"):
        env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
        if setting is not None:
            env["TF_ENABLE_ONEDNN_OPTS"] = setting
        result = subprocess.run(
            [sys.executable, "-c", program],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            env=env,
        )
        assert result.returncode == 0, result.stderr[-1500:]
        enabled[setting] = result.stdout.split()[-1]
    assert enabled == {None: "True", "0": "False"}


def test_every_stage_runs_from_a_non_editable_install(tmp_path):
    # A non-editable install of this checkout into its own directory, ahead of the test venv's
    # (editable) copy on the path, run from a directory outside the checkout.
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(target)}

    def run(*command):
        return subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    where, _ = run(
        sys.executable, "-c", "import keras_rawaudio; print(keras_rawaudio.__file__)"
    ).communicate(timeout=60)
    assert where.startswith(str(target)), where  # the installed copy, not the checkout
    helps = {
        stage: run(sys.executable, "-m", f"keras_rawaudio.{stage}", "--help") for stage in STAGES
    }
    helps["console script"] = run(
        sys.executable, str(target / "bin" / "keras-rawaudio-classify"), "--help"
    )
    for name, process in helps.items():
        out, _ = process.communicate(timeout=180)
        assert process.returncode == 0, name
        assert "keras_rawaudio" in out and "--" in out, name  # usage text and this module's flags


# The tiers, lowest first: a module imports only from its own tier and those below it.
PACKAGE = ROOT / "keras_rawaudio"
TIER0 = {
    "__init__",
    "audio_io",
    "cli",
    "clip_metrics",
    "config",
    "dsp",
    "errors",
    "events",
    "files",
    "inputs",
    "layouts",
    "lazy",
    "presets",
    "processes",
    "scoring",
    "soundscapes",
    "stream_metrics",
    "synthetic",
    "edge",
    "classify",
}
LIBRARY = ("models", "data", "train", "export")  # tier 1, in this order
COMMANDS = {
    "ablate",
    "baseline",
    "demo",
    "evaluate",
    "evaluate_streams",
    "explain",
    "make_tfrecords",
    "classify",
}


def imported_names(path) -> set[str]:
    """Every module `path` imports, at its top or inside a function."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def unit(path) -> str:
    """The tier unit of a package file: its top-level module or sub-package."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_imports_point_down_the_tiers():
    forbidden = {}
    for path in PACKAGE.rglob("*.py"):
        own = unit(path)
        if own in TIER0 - {"classify"}:
            banned = {"tensorflow", "keras", "sklearn", "matplotlib", "tqdm"} | {
                f"keras_rawaudio.{u}" for u in LIBRARY
            }
            banned |= {f"keras_rawaudio.{c}" for c in COMMANDS}
        elif own in LIBRARY:
            banned = {f"keras_rawaudio.{u}" for u in LIBRARY[LIBRARY.index(own) + 1 :]}
            banned |= {f"keras_rawaudio.{c}" for c in COMMANDS}
        elif own == "classify":
            banned = {"tensorflow", "keras"} | {f"keras_rawaudio.{u}" for u in LIBRARY}
        else:
            continue
        hits = {
            name
            for name in imported_names(path)
            if any(name == b or name.startswith(b + ".") for b in banned)
        }
        if hits:
            forbidden[str(path.relative_to(ROOT))] = sorted(hits)
    assert forbidden == {}


def test_every_package_file_belongs_to_a_tier():
    units = {unit(path) for path in PACKAGE.rglob("*.py")}
    assert units - TIER0 - set(LIBRARY) - COMMANDS == set()


def test_the_base_install_is_the_edge_tier_and_classifies_without_tensorflow(
    tmp_path, plain_tflite
):
    """The wheel, installed plainly into a fresh venv, brings no TensorFlow or Keras and runs
    `keras-rawaudio-classify`, whose scores are the runner's in this (training) environment."""
    import json

    from conftest import write_tone
    from keras_rawaudio.audio_io import load_audio
    from keras_rawaudio.edge import EdgeClassifier
    from keras_rawaudio.scoring import Windowing, score_recordings

    wheel = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "wheel"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert wheel.returncode == 0, wheel.stderr[-2000:]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            *map(str, (tmp_path / "wheel").glob("*.whl")),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "list", "--format=freeze"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.lower()
    assert "keras-rawaudio" in installed or "keras_rawaudio" in installed
    assert not any(
        line.split("==")[0] in ("tensorflow", "keras", "tf-keras") for line in installed.split()
    )

    clip = write_tone(tmp_path / "a.wav", 700, 2.5)
    (tmp_path / "labels.txt").write_text("x\ny\nz\n")
    result = subprocess.run(
        [
            str(venv / "bin" / "keras-rawaudio-classify"),
            f"--model={plain_tflite}",
            f"--labels={tmp_path / 'labels.txt'}",
            "--json",
            "--top_k=3",
            str(clip),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    scores = {t["label"]: t["score"] for t in json.loads(result.stdout)["top"]}
    runner = EdgeClassifier(plain_tflite)
    expected = score_recordings(
        runner.predict, [load_audio(clip)[0]], Windowing(runner.window_samples)
    )[0]
    np.testing.assert_allclose([scores[k] for k in "xyz"], expected, atol=1e-4)
