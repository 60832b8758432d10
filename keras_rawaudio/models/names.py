"""Names of the layers that other modules look up (`get_layer`, the int8 float-layer list,
front-end pretraining, `explain`). They are in-graph names: they key saved weights and the
exported files' tensor names, so they never change.
"""

LEVEL_NORMALIZATION = "level_normalization"
FRONTEND_COMPRESSION = "frontend_compression"
FILTER_AUGMENT = "filter_augment"
BAND_NORMALIZATION = "band_normalization"
TIME_FREQUENCY_MASKING = "time_frequency_masking"
TO_IMAGE_TRANSPOSE = "to_image_transpose"
TO_IMAGE = "to_image"
LOG_MEL = "log_mel"
RESNET_STEM = "resnet_stem"
CLIPWISE = "clipwise"
HEAD_PARTS = (
    "frequency_mean",
    "frames",
    "hidden",
    "attention",
)  # each head's layers: head<i>_<part>


def head(index: int, part: str) -> str:
    """The layer `part` (one of HEAD_PARTS, or 'dropout') of head `index` (from 1)."""
    return f"head{index}_{part}"


def conv_bn_layers(prefix: str) -> tuple[str, str, str]:
    """The convolution, BatchNorm and ReLU layers of a `conv_bn` block named `prefix`."""
    return f"{prefix}_conv", f"{prefix}_bn", f"{prefix}_relu"
