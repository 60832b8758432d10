"""The package's shape: TensorFlow-free parts without TensorFlow, and every stage from an install."""

import os
import subprocess
import sys

from conftest import BLOCK_TENSORFLOW, ROOT

STAGES = ("make_tfrecords", "train", "evaluate", "ablate", "export", "classify", "demo")

NO_TENSORFLOW = BLOCK_TENSORFLOW + """
import keras_rawaudio
from keras_rawaudio import audio_io, classify, cli, config, edge, errors, layouts, scoring, synthetic, validation
assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)
try:
    keras_rawaudio.RawWaveformClassifier
except ImportError as error:
    print('blocked:', error)
"""


def test_edge_parts_import_without_tensorflow():
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_RAWAUDIO")}
    result = subprocess.run([sys.executable, "-c", NO_TENSORFLOW], capture_output=True, text=True, cwd=ROOT,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.strip().startswith("blocked: ")  # the Keras parts do need it


def test_onednn_kernels_are_on_unless_the_user_turns_them_off():
    """Imported before TensorFlow, the package turns on TensorFlow's oneDNN kernels, which
    TensorFlow leaves off on AVX2-only CPUs; TF_ENABLE_ONEDNN_OPTS=0 still turns them off."""
    program = ("import keras_rawaudio, tensorflow\n"
               "from tensorflow.python.util import _pywrap_util_port\n"
               "print(_pywrap_util_port.IsMklEnabled())")
    enabled = {}
    for setting in (None, "0"):
        env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
        if setting is not None:
            env["TF_ENABLE_ONEDNN_OPTS"] = setting
        result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT,
                                timeout=120, env=env)
        assert result.returncode == 0, result.stderr[-1500:]
        enabled[setting] = result.stdout.split()[-1]
    assert enabled == {None: "True", "0": "False"}


def test_every_stage_runs_from_a_non_editable_install(tmp_path):
    # A non-editable install of this checkout into its own directory, ahead of the test venv's
    # (editable) copy on the path, run from a directory outside the checkout.
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                              "--target", str(target), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = lambda *command: subprocess.Popen(command, cwd=tmp_path, env=env, text=True,  # noqa: E731
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    where, _ = run(sys.executable, "-c", "import keras_rawaudio; print(keras_rawaudio.__file__)").communicate(timeout=60)
    assert where.startswith(str(target)), where  # the installed copy, not the checkout
    helps = {stage: run(sys.executable, "-m", f"keras_rawaudio.{stage}", "--help") for stage in STAGES}
    helps["console script"] = run(sys.executable, str(target / "bin" / "keras-rawaudio-classify"), "--help")
    for name, process in helps.items():
        out, _ = process.communicate(timeout=180)
        assert process.returncode == 0, name
        assert "keras_rawaudio" in out and "--" in out, name  # usage text and this module's flags
