"""Small file helpers shared by the writer, training, evaluation and export."""

import os
import pathlib


def write_atomic(path: pathlib.Path, text: str):
    """Writes `text` to `path` through a temporary file and a rename: never half-written."""
    path = pathlib.Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
