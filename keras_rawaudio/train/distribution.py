"""Training across processes and machines: Keras' own distribution API on the JAX backend.

`--distribute=multi_worker` starts every process the same way (the same command, the same data,
the same seed) with `keras.distribution.initialize`'s environment:

    KERAS_BACKEND=jax
    KERAS_DISTRIBUTION_JOB_ADDRESSES=host0:port      # the coordinator (or every process's address)
    KERAS_DISTRIBUTION_NUM_PROCESSES=N
    KERAS_DISTRIBUTION_PROCESS_ID=0..N-1

Each process builds the same tf.data stream of global batches; `DataParallel` over every
process's devices splits each batch between them, replicates the weights and averages the
gradients, so every process holds the same model. Process 0, the chief, owns the run directory;
the others write what `fit` and `model.save` must write (on JAX every process takes part in a
save) to a private scratch copy of it (`RunDirectory(..., chief=False)`), removed at the end.
TensorFlow's MultiWorkerMirroredStrategy is not used: Keras 3's `fit` fails under it
(keras-team/keras#20585).
"""

import os

from keras_rawaudio.train.run_directory import TrainingError

ENVIRONMENT = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


def start_multi_worker() -> int:
    """Joins the job that the environment describes and sets `DataParallel` over every device of
    every process; returns this process's index (0: the chief). TrainingError, before anything
    starts, if the backend is not JAX or a variable is missing or malformed."""
    import keras

    if keras.backend.backend() != "jax":
        raise TrainingError(
            "--distribute=multi_worker runs on the JAX backend: set KERAS_BACKEND=jax "
            f"(this process runs {keras.backend.backend()}; Keras' fit fails under "
            "TensorFlow's MultiWorkerMirroredStrategy, keras-team/keras#20585)"
        )
    missing = [name for name in ENVIRONMENT if not os.environ.get(name)]
    if missing:
        raise TrainingError(f"--distribute=multi_worker needs {', '.join(missing)} set")
    try:
        processes = int(os.environ["KERAS_DISTRIBUTION_NUM_PROCESSES"])
        index = int(os.environ["KERAS_DISTRIBUTION_PROCESS_ID"])
    except ValueError:
        raise TrainingError(
            "KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID must be whole "
            "numbers"
        ) from None
    if not 0 <= index < processes:
        raise TrainingError(
            f"KERAS_DISTRIBUTION_PROCESS_ID={index} is not in [0, {processes}) "
            "(KERAS_DISTRIBUTION_NUM_PROCESSES)"
        )
    keras.distribution.initialize()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    )
    return index
