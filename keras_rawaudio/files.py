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


def check_directory(path, flag: str) -> pathlib.Path:
    """`path` as a Path, or InputError if it names an existing file rather than a directory."""
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--{flag} {path} is a file, not a directory")
    return path
