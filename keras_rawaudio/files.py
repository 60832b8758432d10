"""Small file helpers shared by the writer, training, evaluation and export."""

import os
import pathlib

from keras_rawaudio.errors import InputError


def write_atomic(path: pathlib.Path, text: str):
    """Writes `text` to `path` through a temporary file and a rename: never half-written."""
    path = pathlib.Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def remove_partial_files(directory: pathlib.Path, patterns):
    """Deletes the temporary files matching `patterns` that a run killed mid-write left in
    `directory`; each write renames its temporary file over the final one only when complete,
    so the files they were to replace are intact."""
    for pattern in patterns:
        for leftover in pathlib.Path(directory).glob(pattern):
            leftover.unlink(missing_ok=True)


def check_directory(path, flag: str) -> pathlib.Path:
    """`path` as a Path, or InputError if it names an existing file rather than a directory."""
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--{flag} {path} is a file, not a directory")
    return path


def read_lines(path, flag: str) -> list[str]:
    """The stripped, non-blank lines of a UTF-8 text file given as --`flag`, or InputError naming
    it."""
    try:
        return [
            line.strip()
            for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"--{flag} {path} cannot be read ({type(error).__name__})") from None
