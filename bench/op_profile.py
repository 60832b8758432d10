"""Per-op cost of exported .tflite files, by timing op prefixes (LiteRT's Python API has no op
profiler).

For each file and each k, the first k ops of its graph become a model of their own (the
output of op k its output), and the fastest of --repeats timings of --runs 1-thread
invocations is that prefix's cost; an op's cost is the difference from the prefix before it.
XNNPACK partitions each prefix as it would the whole file, so the differences are the ops'
cost as they run there (single differences are noisy; their sums per op type are not).
Prints, per file, the cost per op type and the ten dearest ops.

  python bench/op_profile.py --models=tflite/model_float32.tflite,tflite/model_int8.tflite
"""

import collections
import time

import numpy as np
from absl import flags

from keras_rawaudio import cli


def define_flags():
    flags.DEFINE_list("models", None, "Exported .tflite files.", required=True)
    flags.DEFINE_integer("runs", 200, "Invocations per timing.", lower_bound=1)
    flags.DEFINE_integer("repeats", 3, "Timings per prefix (the fastest is kept).", lower_bound=1)


def prefix(model, k: int) -> bytes:
    """The flatbuffer of `model`'s first k ops, the outputs of op k its outputs."""
    import copy

    from keras_rawaudio.edge.metadata import pack_model

    part = copy.deepcopy(model)
    subgraph = part.subgraphs[0]
    subgraph.operators = subgraph.operators[:k]
    subgraph.outputs = list(subgraph.operators[-1].outputs)
    part.signatureDefs, part.metadata = None, None
    return pack_model(part)


def fastest_ms(content: bytes, runs: int, repeats: int) -> float:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    waveform = interpreter.get_input_details()[0]
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.3, 0.3, waveform["shape"])
    if waveform["dtype"] != np.float32:
        x = np.round(x * 32767)
    interpreter.set_tensor(waveform["index"], x.astype(waveform["dtype"]))
    for _ in range(10):
        interpreter.invoke()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(runs):
            interpreter.invoke()
        timings.append((time.perf_counter() - start) / runs * 1000)
    return min(timings)


def op_costs(path, runs, repeats) -> list[tuple[int, str, float]]:
    """(index, op name, ms) of every op of the file at `path`."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(open(path, "rb").read()), 0)
    names = {
        code: name
        for name, code in vars(schema.BuiltinOperator).items()
        if not name.startswith("_")
    }
    costs, before = [], 0.0
    for k, op in enumerate(model.subgraphs[0].operators, start=1):
        code = model.operatorCodes[op.opcodeIndex]
        cumulative = fastest_ms(prefix(model, k), runs, repeats)
        costs.append(
            (k - 1, names[max(code.builtinCode, code.deprecatedBuiltinCode)], cumulative - before)
        )
        before = cumulative
    return costs


def main(argv) -> int:
    FLAGS = flags.FLAGS
    for path in FLAGS.models:
        costs = op_costs(path, FLAGS.runs, FLAGS.repeats)
        by_type = collections.Counter()
        for _, name, ms in costs:
            by_type[name] += ms
        print(f"{path}: {sum(ms for *_, ms in costs):.3f} ms in {len(costs)} ops, 1 thread")
        for name, ms in by_type.most_common():
            print(f"  {name:<18}{ms:>8.3f} ms")
        print(
            "  dearest ops: "
            + ", ".join(
                f"#{i} {name} {ms:.3f}" for i, name, ms in sorted(costs, key=lambda c: -c[2])[:10]
            )
        )
    return 0


if __name__ == "__main__":
    cli.run(main, define_flags)
