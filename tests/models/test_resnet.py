import keras
import numpy as np

from keras_rawaudio.config import Stage
from keras_rawaudio.models import heads, resnet
from keras_rawaudio.models import image as image_stage
from keras_rawaudio.presets import preset_config


def test_stages_stride_and_widen_as_their_table_says():
    config = preset_config("tiny", num_classes=4)
    waveform = keras.Input((16000,))
    frames = image_stage.waveform_frontend(waveform, config)
    assert tuple(frames.shape) == (None, 16000 // config.hop_samples, config.frequency_bands)
    image = image_stage.to_image(frames, config)
    assert tuple(image.shape) == (None, 16, 100, 1)  # (C, T, 1): channels become the height
    outputs = resnet.resnet(image, config)
    assert [tuple(o.shape[1:]) for o in outputs] == [(8, 50, 8), (4, 25, 16), (2, 13, 16)]
    blocks = resnet.residual_stage(keras.Input((64, 8)), Stage(12, 3, 2, blocks=3), "s", 0.9)
    assert tuple(blocks.shape) == (None, 32, 12)


def test_a_separable_stage_factorises_each_block_convolution_as_mobilenet_does():
    image = keras.Input((16, 100, 8))
    stage = resnet.residual_stage(image, Stage(12, 3, (2, 2), blocks=2, separable=True), "s", 0.9)
    assert tuple(stage.shape) == (None, 8, 50, 12)
    model = keras.Model(image, stage)
    kernels = {
        layer.name: tuple(layer.kernel.shape) for layer in model.layers if hasattr(layer, "kernel")
    }
    assert kernels == {
        "s_block1_a_depthwise": (3, 3, 8, 1),
        "s_block1_a_conv": (1, 1, 8, 12),  # strided depthwise, then 1×1
        "s_block1_b_depthwise": (3, 3, 12, 1),
        "s_block1_b_conv": (1, 1, 12, 12),
        "s_block1_shortcut_conv": (1, 1, 8, 12),  # the shortcut stays a strided 1×1 convolution
        "s_block2_a_depthwise": (3, 3, 12, 1),
        "s_block2_a_conv": (1, 1, 12, 12),
        "s_block2_b_depthwise": (3, 3, 12, 1),
        "s_block2_b_conv": (1, 1, 12, 12),
    }
    assert model.get_layer("s_block1_a_depthwise").strides == (2, 2)


def test_to_image_is_a_transpose():
    frames = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)  # (batch, T, C)
    config = preset_config("tiny", 2, band_normalization=False)
    image = keras.Model(inp := keras.Input((3, 4)), image_stage.to_image(inp, config))(frames)
    np.testing.assert_array_equal(image[..., 0], frames.transpose(0, 2, 1))
    normalised = keras.Model(
        inp, image_stage.to_image(inp, config.replace(band_normalization=True))
    )
    bands = normalised.get_layer("band_normalization")
    bands.moving_mean.assign([0.0, 4.0, 8.0, 12.0])  # each band's own statistics
    bands.moving_variance.assign([4.0, 4.0, 4.0, 4.0])
    expected = (frames - [0.0, 4.0, 8.0, 12.0]) / np.sqrt(4.0 + bands.epsilon)
    np.testing.assert_allclose(normalised(frames)[..., 0], expected.transpose(0, 2, 1), rtol=1e-5)


def test_filter_augment_colours_the_log_image_before_band_normalisation_and_only_in_training():
    config = preset_config("tiny", 2, filter_augment_db=6.0, mask_bands=2)
    model = keras.Model(inp := keras.Input((30, 16)), image_stage.to_image(inp, config))
    assert [layer.name for layer in model.layers[1:4]] == [
        "filter_augment",
        "band_normalization",
        "time_frequency_masking",
    ]
    frames = np.random.default_rng(0).normal(size=(4, 30, 16)).astype("float32")
    bands = model.get_layer("band_normalization")
    expected = (frames - bands.moving_mean.numpy()) / np.sqrt(
        bands.moving_variance.numpy() + bands.epsilon
    )
    np.testing.assert_allclose(
        model(frames)[..., 0], expected.transpose(0, 2, 1), rtol=1e-5
    )  # inference: no gain


def test_the_clip_probability_is_the_mean_of_the_heads():
    config = preset_config("tiny", num_classes=3, num_heads=3)
    maps = [keras.Input((4, 10, 8)), keras.Input((2, 5, 16)), keras.Input((1, 3, 16))]
    clipwise = heads.multi_level_prediction(maps, config)
    model = keras.Model(maps, clipwise)
    assert len([layer for layer in model.layers if layer.name.endswith("_attention")]) == 3
    assert tuple(clipwise.shape) == (None, 3)
