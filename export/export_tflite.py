"""Exports a trained model to checked TFLite files: `python -m keras_rawaudio.export`.

This script is the same command for a checkout; `--help` lists the flags.
"""

import pathlib
import sys

sys.path.insert(
    0, str(pathlib.Path(__file__).resolve().parents[1])
)  # this checkout's package first

from keras_rawaudio.export.__main__ import entry  # noqa: E402

if __name__ == "__main__":  # decode workers re-import this file
    entry()
