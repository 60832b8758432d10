"""The run directory: its one owner. Training writes it (`RunDirectory`); evaluation, export and
`explain` read what they need of it through the functions here (`training_window`,
`check_labels`, `model_windowing`).

A run directory holds `best.keras` (the best model by validation mAP over the whole run),
`best_<phase>.weights.h5` (each phase's best), `checkpoint-<phase>-<epoch>.keras` (the last
checkpointed epoch, with optimizer state), `frontend_init.weights.h5` (the pretrained
front-end, until the first epoch), `state.json`, `history.json` (the epochs up to that
checkpoint), `labels.txt`, `config.json` (model, schedule and the training window in samples)
and TensorBoard logs in `logs/`. While training, `.lock` holds the trainer's PID: one process at a
time writes a run directory (`files.DirectoryLock`).
"""

import json
import pathlib
import shutil
import tempfile

from keras_rawaudio.data.reading import read_info, read_labels
from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.files import (
    DamagedFileError,
    DirectoryLock,
    atomic_path,
    check_directory,
    read_json,
    remove_partial_files,
    write_atomic,
    write_failure,
)
from keras_rawaudio.scoring import DEFAULT_COMBINE, Windowing


class TrainingError(InputError):
    """Training cannot start with these settings; the message says why in one line."""


class EvaluationError(InputError):
    """The model, labels or data cannot be evaluated together; the message says why."""


class RunDirectory:
    """The files of one training run (see the module docstring)."""

    def __init__(self, path, config: dict, chief=True):
        """Checks the run's settings against `config` (a run of other settings, or a damaged
        state.json or config.json, is refused before anything is written) and reads its state;
        then locks the directory, removes what a killed run left half-written and writes
        config.json. A process that is not the `chief` of a multi-process run (`train.
        distribution`) works in a private scratch copy of the directory instead, removed when
        the run ends: it never writes the run directory."""
        self.path = check_directory(path, "model_dir")
        state_file, config_file = self.path / "state.json", self.path / "config.json"
        if config_file.exists() and with_defaults(
            read_config(config_file), EARLIER_DEFAULTS
        ) != json.loads(json.dumps(config)):
            raise TrainingError(
                f"--model_dir {self.path} holds a run with other settings; use a new --model_dir "
                "or the flags of that run (see its config.json)"
            )
        self.state = (
            read_state(state_file)
            if state_file.exists()
            else {
                "phase": 0,
                "epoch": 0,
                "best": float("-inf"),
                "phase_best": float("-inf"),
                "history": [],
                "done": False,
            }
        )
        self.chief = chief
        if chief:
            self.path.mkdir(parents=True, exist_ok=True)
            self.lock = DirectoryLock(self.path, "model_dir")
            remove_partial_files(self.path)
            write_atomic(config_file, json.dumps(config, indent=2))
        else:
            shared, self.path = self.path, pathlib.Path(tempfile.mkdtemp(prefix="keras_rawaudio-"))
            for name in shared.iterdir() if shared.is_dir() else ():
                if name.is_file() and not name.name.startswith("."):
                    shutil.copy2(name, self.path)
        self.best = self.path / "best.keras"

    def __enter__(self):
        return self

    def __exit__(self, *_):
        if self.chief:
            self.lock.release()
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    @property
    def frontend_init(self) -> pathlib.Path:
        return self.path / "frontend_init.weights.h5"

    def phase_best(self, phase_name) -> pathlib.Path:
        return self.path / f"best_{phase_name}.weights.h5"

    def checkpoint_path(self, state) -> pathlib.Path | None:
        return (
            self.path / f"checkpoint-{state['phase']}-{state['epoch']}.keras"
            if state["epoch"]
            else None
        )

    def save_atomic(self, model, path, weights_only=False):
        """Saves through a temporary file and a rename; a failed write (a full disk) leaves the
        previous file intact and is a RunError naming the file."""
        try:
            with atomic_path(path) as temporary:
                model.save_weights(temporary) if weights_only else model.save(temporary)
        except (OSError, RuntimeError) as error:
            reason = write_failure(error)
            if reason is None:
                raise
            raise RunError(
                f"cannot write {path}: {reason}; the files written before it are "
                "intact, and the same command resumes once there is room"
            ) from None

    def save_state(self):
        write_atomic(self.path / "state.json", json.dumps(self.state, indent=1))
        write_atomic(self.path / "history.json", json.dumps(self.state["history"], indent=1))


# What a run of an earlier version did where its config.json is silent: no background training
# and the level floor at -60 dBFS (0.4.0 or earlier), no warm start (0.6.0 or earlier).
EARLIER_DEFAULTS = {
    "model": {"level_floor_dbfs": -60.0},
    "schedule": {
        "init_model": None,
        "data": {
            "empty_fraction": 0.0,
            "background_fraction": 0.0,
            "background_snr_min_db": 10.0,
            "background_snr_max_db": 40.0,
            "background_dir": None,
        },
    },
}


def with_defaults(config, defaults: dict):
    """`config` (a dict of dicts) with each key of `defaults` it lacks."""
    if not isinstance(config, dict):
        return config
    merged = dict(config)
    for key, value in defaults.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = with_defaults(merged[key], value)
        else:
            merged.setdefault(key, value)
    return merged


MAX_WINDOW_SECONDS = 60.0  # the longest window scored when a model's training window is unknown
STATE_KEYS = ("phase", "epoch", "best", "phase_best", "history", "done")
RESTART = "remove the run directory (or that file) and train again"


def read_state(path) -> dict:
    """A run's state.json, checked (DamagedFileError naming it otherwise)."""
    state = read_json(path, dict, RESTART, STATE_KEYS)
    if not isinstance(state["history"], list) or not all(
        isinstance(state[key], int) and state[key] >= 0 for key in ("phase", "epoch")
    ):
        raise DamagedFileError(f"{path} is damaged (phase, epoch or history malformed); {RESTART}")
    return state


def has_history(model_dir) -> bool:
    """Whether the run in `model_dir` has trained an epoch (a resume starts from its checkpoint,
    not from its initial weights)."""
    state = pathlib.Path(model_dir) / "state.json"
    return state.is_file() and bool(read_state(state)["history"])


def read_config(path) -> dict:
    """A run's config.json, checked (DamagedFileError naming it otherwise)."""
    config = read_json(path, dict, RESTART, ("model", "schedule"))
    window = config.get("window_samples")
    if window is not None and not (isinstance(window, int) and window > 0):
        raise DamagedFileError(f"{path} is damaged (window_samples {window!r}); {RESTART}")
    return config


def training_window(model_dir) -> int | None:
    """The training window in samples of the run in `model_dir` (None without a config.json)."""
    config = pathlib.Path(model_dir) / "config.json"
    return read_config(config).get("window_samples") if config.is_file() else None


def check_labels(model, model_path, data_dir) -> list[str]:
    """The class names, after checking that model and data agree on them."""
    labels = read_labels(data_dir)
    if model.config.num_classes != len(labels):
        raise EvaluationError(
            f"the model has {model.config.num_classes} classes but {data_dir}/labels.txt has "
            f"{len(labels)}"
        )
    run_labels = pathlib.Path(model_path).parent / "labels.txt"
    if run_labels.exists() and read_labels(run_labels.parent) != labels:
        raise EvaluationError(f"{run_labels} and {data_dir}/labels.txt name different classes")
    return labels


def scoring_window(model, model_path, window_seconds=None) -> int | None:
    """The window in samples that scores `model`: `window_seconds`, else its fixed input, else
    its run's training window (None if unknown); one longer than it was trained on (or than
    MAX_WINDOW_SECONDS, not knowing it) is an EvaluationError."""
    rate = model.config.sample_rate
    trained = model.config.input_samples or training_window(pathlib.Path(model_path).parent)
    window = round(window_seconds * rate) if window_seconds else trained
    longest = trained or MAX_WINDOW_SECONDS * rate
    if window is not None and window > longest:
        raise EvaluationError(
            f"--window_seconds={window_seconds:g} is longer than the "
            + (
                f"model's training window ({trained / rate:g} s)"
                if trained
                else f"longest window there is any sense in ({MAX_WINDOW_SECONDS:g} s)"
            )
        )
    return window


def model_windowing(
    model, model_path, data_dir, window_seconds=None, hop_seconds=None, combine=DEFAULT_COMBINE
) -> Windowing:
    """The scoring of `model`: its training window (or `window_seconds`), hop and combine rule.

    The window is the model's fixed input if it has one, else the run's training window
    (config.json beside the model), else `window_seconds`, which is required then. A window
    longer than the one it was trained on (or MAX_WINDOW_SECONDS, not knowing it), or a hop
    longer than the window, is refused.
    """
    rate = read_info(data_dir)["sample_rate"]
    if rate != model.config.sample_rate:
        raise EvaluationError(
            f"{data_dir} is at {rate} Hz but the model takes {model.config.sample_rate} Hz"
        )
    window = scoring_window(model, model_path, window_seconds)
    if window is None:
        raise EvaluationError(
            "the model's training window is unknown (no config.json beside it): pass "
            "--window_seconds"
        )
    if window < model.config.min_samples:
        raise EvaluationError(
            f"the window of {window} samples is shorter than the model's minimum of "
            f"{model.config.min_samples}"
        )
    hop = None if hop_seconds is None else max(1, round(hop_seconds * rate))
    if hop is not None and hop > window:
        raise EvaluationError(
            f"--hop_seconds={hop_seconds:g} is longer than the window ({window / rate:g} s): the "
            "audio between windows would go unheard"
        )
    return Windowing(window, hop, combine)
