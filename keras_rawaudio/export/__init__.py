"""The export tier: a trained model → checked `.tflite` files for Android and Raspberry Pi.

`convert` (Keras → flatbuffer), `quantize` (the int8 policy), `checks` (what each file must
match), `report`, and `exporter.export`, which runs them all; `python -m keras_rawaudio.export`
is the command (`__main__`).
"""

from keras_rawaudio.export.convert import MODES, ExportError, convert, fixed_window_model
from keras_rawaudio.export.exporter import export
from keras_rawaudio.export.report import report_markdown

__all__ = ["MODES", "ExportError", "convert", "export", "fixed_window_model", "report_markdown"]
