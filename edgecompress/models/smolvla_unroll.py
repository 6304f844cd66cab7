"""The whole denoising loop as one ONNX graph: the prefix graph, then the step graphs unrolled.

SmolVLA's chunk is the prefix graph once and ``num_steps`` step graphs (``step`` or, with feature caching,
``step_cached`` on the steps between full ones), joined by LeRobot's Euler update ``x += dt * v``. The
runtime can run that loop in Python, one ``infer`` per graph; on a small policy each call's fixed cost
(waking the runtime's threads, handing over the inputs) is a large share of the chunk. This module
stitches the exported graphs into ``chunk.onnx`` instead: one call per chunk, the cache passed between
steps inside the runtime, the time of each step a constant the runtime can fold.

The stitching works on the ONNX graphs the exporter already wrote (static shapes, no local functions,
no subgraphs), which is linear in the graph size; tracing the unrolled loop with the exporter instead
took several times as long for the small policy and grew faster than the graph. Weights are shared: the
copies of a step take the same initializers (deduplicated by name and content), and weights the
exported graphs keep in external files stay there, referred to by the chunk. ``onnx.compose`` merges
two graphs but refuses shared initializer names (each step copy would need its own prefixed copy of
every weight) and joins two graphs at a time (the prefix's outputs would have to be carried through
each of ten merges), hence this small stitcher.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

CHUNK_INPUT_NOISE = "noise"
CHUNK_OUTPUT = "actions"


def _check_flat(model: onnx.ModelProto, name: str) -> None:
    """Refuse what the renaming below does not handle: local functions and control-flow subgraphs."""
    nested = [
        n.op_type
        for n in model.graph.node
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in n.attribute)
    ]
    if model.functions or nested:
        raise ValueError(f"{name}: cannot unroll a graph with local functions or subgraphs ({nested[:3]})")


class _Stitcher:
    """Copies graphs into one, each under its own name prefix, sharing identical initializers."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self._by_content: dict[tuple[str, str], str] = {}

    def _initializer(self, tensor: onnx.TensorProto, prefix: str) -> str:
        """The chunk's name for ``tensor``: an earlier copy of the same name and content (or the same
        external file span), or a new one."""
        digest = hashlib.sha1(tensor.SerializeToString()).hexdigest()
        key = (tensor.name, digest)
        if key not in self._by_content:
            name = tensor.name if tensor.name not in self.initializers else f"{prefix}{tensor.name}"
            copy = onnx.TensorProto()
            copy.CopyFrom(tensor)
            copy.name = name
            self.initializers[name] = copy
            self._by_content[key] = name
        return self._by_content[key]

    def add(self, model: onnx.ModelProto, prefix: str, inputs: dict[str, str]) -> dict[str, str]:
        """Copy ``model``'s nodes under ``prefix``, its graph inputs wired to ``inputs`` (input name →
        an existing value's name); return its outputs' names in the chunk."""
        graph = model.graph
        names = dict(inputs)
        missing = [i.name for i in graph.input if i.name not in names]
        if missing:
            raise ValueError(f"{prefix.rstrip('/')}: no value for the graph inputs {missing}")
        for tensor in graph.initializer:
            names[tensor.name] = self._initializer(tensor, prefix)
        for index, node in enumerate(graph.node):
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = f"{prefix}{node.name or f'{node.op_type}_{index}'}"
            copy.input[:] = [names.get(i, f"{prefix}{i}") if i else "" for i in node.input]
            for slot, output in enumerate(node.output):
                if output:
                    names[output] = f"{prefix}{output}"
                    copy.output[slot] = names[output]
            self.nodes.append(copy)
        return {o.name: names[o.name] for o in graph.output}

    def constant(self, name: str, value: np.ndarray) -> str:
        """A constant initializer ``name`` holding ``value``."""
        self.initializers[name] = numpy_helper.from_array(value, name)
        return name

    def node(self, op: str, inputs: list[str], output: str) -> str:
        """One node ``op(inputs) -> output``."""
        self.nodes.append(helper.make_node(op, inputs, [output], name=output))
        return output


def unroll_chunk(
    prefix: onnx.ModelProto,
    step: onnx.ModelProto,
    cached: onnx.ModelProto | None,
    schedule: list[bool],
    action_dim: int,
) -> onnx.ModelProto:
    """``prefix`` then one step graph per entry of ``schedule`` (True: ``step``, False: ``cached`` on the
    last full step's ``features``) and the Euler update between them, as one model: the prefix's inputs
    and ``noise`` (B, chunk, max action dim) → ``actions`` (B, chunk, ``action_dim``)."""
    for model, name in ((prefix, "prefix"), (step, "step"), (cached, "step_cached")):
        if model is not None:
            _check_flat(model, name)
    if not all(schedule[:1]) or (cached is None and not all(schedule)):
        raise ValueError("the first step runs in full, and cached steps need the step_cached graph")
    noise = next(i for i in step.graph.input if i.name == "x_t")
    batch = noise.type.tensor_type.shape.dim[0].dim_value
    stitch = _Stitcher()
    prefix_values = stitch.add(prefix, "prefix/", {i.name: i.name for i in prefix.graph.input})
    dt = -1.0 / len(schedule)
    stitch.constant("dt", np.asarray(dt, np.float32))
    x, features = CHUNK_INPUT_NOISE, None
    for index, full in enumerate(schedule):
        time = stitch.constant(f"time/{index}", np.full((batch,), 1.0 + index * dt, np.float32))
        feeds = {"x_t": x, "timestep": time, **prefix_values}
        if full:
            outputs = stitch.add(step, f"step{index}/", feeds)
            features = outputs.get("features", features)
        else:
            assert cached is not None and features is not None
            outputs = stitch.add(cached, f"step{index}/", {**feeds, "features": features})
        change = stitch.node("Mul", [outputs["velocity"], "dt"], f"euler{index}/change")
        x = stitch.node("Add", [x, change], f"euler{index}/x")
    bounds = [
        stitch.constant(n, np.asarray(v, np.int64))
        for n, v in (("slice/start", [0]), ("slice/end", [action_dim]), ("slice/axis", [2]))
    ]
    stitch.node("Slice", [x, *bounds], CHUNK_OUTPUT)
    shape = [d.dim_value for d in noise.type.tensor_type.shape.dim]
    graph = helper.make_graph(
        stitch.nodes,
        "smolvla_chunk",
        [
            *prefix.graph.input,
            helper.make_tensor_value_info(CHUNK_INPUT_NOISE, onnx.TensorProto.FLOAT, shape),
        ],
        [helper.make_tensor_value_info(CHUNK_OUTPUT, onnx.TensorProto.FLOAT, [*shape[:2], action_dim])],
        list(stitch.initializers.values()),
    )
    model = helper.make_model(graph, opset_imports=list(prefix.opset_import), producer_name="edgecompress")
    model.ir_version = prefix.ir_version
    return model


def _load_part(path: Path, base: Path) -> onnx.ModelProto:
    """One exported graph without its weights' bytes: its external tensors' locations made relative to
    ``base`` (the chunk's folder), so the chunk refers to the same files."""
    from onnx.external_data_helper import uses_external_data

    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        if uses_external_data(tensor):
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = (path.parent / entry.value).relative_to(base).as_posix()
    return model


def write_chunk_onnx(folder: Path, schedule: list[bool], action_dim: int, out: Path) -> Path:
    """``chunk.onnx`` at ``out`` from ``prefix.onnx``, ``step.onnx`` (and ``step_cached.onnx``) in
    ``folder`` (inside ``out``'s folder), checked by ONNX's checker. Weights the parts keep in external
    files stay there (the chunk refers to them; nothing is copied, at full size neither memory nor the
    2 GB protobuf limit)."""
    base = out.parent
    cached = folder / "step_cached.onnx"
    model = unroll_chunk(
        _load_part(folder / "prefix.onnx", base),
        _load_part(folder / "step.onnx", base),
        _load_part(cached, base) if cached.exists() else None,
        schedule,
        action_dim,
    )
    onnx.save(model, str(out))
    onnx.checker.check_model(str(out))
    return out
