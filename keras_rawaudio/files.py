"""Files: the one atomic writer, the validated readers of the files the project writes, and the
lock that keeps one writer per output directory (no TensorFlow).

Every file the project writes goes through `atomic_path` (or `write_atomic`): a temporary name in
the same folder (`.tmp-<name>`), fsync, rename, so a final name is never half-written and a
failure removes the temporary. Every file it reads back goes through one reader per format
(`read_json`, `read_lines`), so a damaged file is one line naming it (`DamagedFileError`,
exit status 2). `DirectoryLock` is an advisory lock that dies with its process.
"""

import contextlib
import csv
import errno
import fcntl
import io
import json
import os
import pathlib
import re

from keras_rawaudio.errors import InputError, RunError

TEMPORARY_PREFIX = ".tmp-"
LOCK_FILE = ".lock"


class DamagedFileError(InputError):
    """A file the project wrote is unreadable or not what it wrote; the message names it."""


class BusyDirectoryError(RunError):
    """Another process writes the directory; the message names its PID."""


def temporary_path(path) -> pathlib.Path:
    """Where `path` is written before its rename (same folder and suffix, hidden)."""
    path = pathlib.Path(path)
    return path.with_name(f"{TEMPORARY_PREFIX}{path.name}")


def _fsync(path, directory=False):
    descriptor = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(descriptor)
    except OSError as error:  # some file systems cannot sync a directory
        if not directory or error.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(path):
    """Yields the temporary path to write `path` through; when the block ends, syncs it to disk
    and renames it over `path`. On any failure (a full disk, Ctrl-C) the temporary is removed and
    `path` keeps what it held.

    Example:

        with atomic_path(run / "best.keras") as temporary:
            model.save(temporary)
    """
    path = pathlib.Path(path)
    temporary = temporary_path(path)
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
        _fsync(path.parent, directory=True)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename == str(temporary):
            error.filename = str(path)  # name the file the user asked for
        raise


def write_atomic(path, content: str | bytes):
    """Writes `content` (text as UTF-8) to `path` through `atomic_path`."""
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        file.write(content.encode("utf-8") if isinstance(content, str) else content)


def write_csv(path, header, rows):
    """Writes a CSV of `header` and `rows` (sequences, or dicts keyed by the header) atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row[h] for h in header] if isinstance(row, dict) else row for row in rows)
    write_atomic(path, text.getvalue())


def save_figure(figure, path, **options):
    """Saves a Matplotlib `figure` to `path` atomically (its format from the suffix)."""
    path = pathlib.Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=path.suffix.lstrip("."), **options)


def write_failure(error: Exception) -> str | None:
    """The system's reason for a failed write: an OSError's, or the one h5py reports inside a
    RuntimeError when a full disk fails an .h5 file ("... error message = 'No space left on
    device' ..."); None for any other error."""
    if isinstance(error, OSError):
        return error.strerror or str(error)
    found = re.search(r"error message = '([^']+)'", str(error))
    return found.group(1) if found else None


def remove_partial_files(directory, names=("*",)):
    """Deletes the temporaries of `names` (glob patterns of final names) that a killed run left
    in `directory`; the files they were to replace are intact."""
    for name in names:
        for leftover in pathlib.Path(directory).glob(f"{TEMPORARY_PREFIX}{name}"):
            leftover.unlink(missing_ok=True)


def check_directory(path, flag: str) -> pathlib.Path:
    """`path` as a Path, or InputError if it names an existing file rather than a directory."""
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--{flag} {path} is a file, not a directory")
    return path


def read_lines(path, flag: str | None = None) -> list[str]:
    """The stripped, non-blank lines of a UTF-8 text file: a file given as --`flag` (InputError
    naming the flag), or one the project wrote (DamagedFileError naming it)."""
    try:
        return [
            line.strip()
            for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, UnicodeDecodeError) as error:
        if flag:
            raise InputError(f"--{flag} {path} cannot be read ({type(error).__name__})") from None
        raise DamagedFileError(damaged(path, _reason(error))) from None


def read_json(path, kind=dict, what="", required=()):
    """The JSON value of a file the project wrote, checked to be a `kind` (dict or list) with
    the keys `required`; else DamagedFileError naming the file, `what` wrote it and what to do."""
    try:
        value = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DamagedFileError(damaged(path, _reason(error), what)) from None
    if not isinstance(value, kind):
        raise DamagedFileError(damaged(path, f"not a JSON {kind.__name__}", what))
    missing = [key for key in required if key not in value]
    if missing:
        raise DamagedFileError(damaged(path, f"no {', '.join(missing)}", what))
    return value


def damaged(path, reason, what="") -> str:
    """The one-line message of a damaged file."""
    advice = f"; {what}" if what else "; remove it or restore it from a backup"
    return f"{path} is damaged ({reason}){advice}"


def _reason(error) -> str:
    if isinstance(error, FileNotFoundError):
        return "missing"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    return f"not JSON: {str(error).splitlines()[0][:80]}"


class DirectoryLock:
    """An advisory lock on `directory` (its `.lock` file, which holds the owner's PID), held
    until `release` or the process's end: a kill never leaves a stale lock.

    Raises BusyDirectoryError naming the other process when one holds it.
    """

    def __init__(self, directory, flag: str):
        self.path = pathlib.Path(directory) / LOCK_FILE
        try:
            self.file = open(self.path, "a+")  # noqa: SIM115 (held open as long as the lock)
        except OSError as error:
            raise RunError(f"cannot write --{flag} {directory}: {write_failure(error)}") from None
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            owner = self.file.read().strip() or "unknown"
            self.file.close()
            raise BusyDirectoryError(
                f"--{flag} {directory} is in use by another process (PID {owner}); wait for it "
                "to end or use another directory"
            ) from None
        self.file.seek(0)
        self.file.truncate()
        self.file.write(str(os.getpid()))
        self.file.flush()

    def release(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.release()
