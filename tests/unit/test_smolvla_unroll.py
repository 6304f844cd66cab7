"""The chunk graph stitched from prefix and step graphs: Euler loop, cache schedule, shared weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from edgecompress.models.smolvla_unroll import unroll_chunk

SHAPE = [1, 8, 40]  # batch, chunk, max action dim (the weight: 1280 bytes, past ONNX's external threshold)
FLOAT = onnx.TensorProto.FLOAT
OPSET = [helper.make_opsetid("", 18)]


def _value(name: str, shape: list[int]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, FLOAT, shape)


def _model(nodes: list, inputs: list, outputs: list, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    tensors = [numpy_helper.from_array(value.astype(np.float32), name) for name, value in weights.items()]
    graph = helper.make_graph(nodes, "g", inputs, outputs, tensors)
    return helper.make_model(graph, opset_imports=OPSET)


def _graphs() -> tuple[onnx.ModelProto, onnx.ModelProto, onnx.ModelProto, np.ndarray]:
    """prefix: keys = 2 * state; step: velocity = x_t * w + keys + timestep, features = x_t * w;
    step_cached: velocity = features + keys + timestep. The weight ``w`` has the same name in both."""
    w = np.arange(320, dtype=np.float32).reshape(SHAPE) / 100
    prefix = _model(
        [helper.make_node("Mul", ["state", "two"], ["keys"])],
        [_value("state", SHAPE)],
        [_value("keys", SHAPE)],
        {"two": np.asarray(2.0)},
    )
    step_inputs = [_value("x_t", SHAPE), _value("timestep", [1]), _value("keys", SHAPE)]
    step = _model(
        [
            helper.make_node("Mul", ["x_t", "w"], ["features"]),
            helper.make_node("Add", ["features", "keys"], ["partial"]),
            helper.make_node("Add", ["partial", "timestep"], ["velocity"]),
        ],
        step_inputs,
        [_value("velocity", SHAPE), _value("features", SHAPE)],
        {"w": w},
    )
    cached = _model(
        [
            helper.make_node("Add", ["features", "keys"], ["partial"]),
            helper.make_node("Add", ["partial", "timestep"], ["velocity"]),
        ],
        [*step_inputs, _value("features", SHAPE)],
        [_value("velocity", SHAPE)],
        {"w": w},  # unused here, as a step_cached graph carries weights the full step has too
    )
    return prefix, step, cached, w


def _loop(state: np.ndarray, noise: np.ndarray, w: np.ndarray, schedule: list[bool]) -> np.ndarray:
    """The runtime's Python loop over the same three graphs, in numpy."""
    keys, x, features, dt = 2 * state, noise, None, -1.0 / len(schedule)
    for index, full in enumerate(schedule):
        time = np.float32(1.0 + index * dt)
        if full:
            features = x * w
        velocity = features + keys + time
        x = (x + np.float32(dt) * velocity).astype(np.float32)
    return x


@pytest.mark.parametrize("schedule", [[True] * 5, [True, False, True, False, False]])
def test_the_chunk_graph_runs_the_euler_loop_on_the_cache_schedule(schedule: list[bool]) -> None:
    import onnxruntime as ort

    prefix, step, cached, w = _graphs()
    model = unroll_chunk(prefix, step, cached, schedule, action_dim=2)
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["state", "noise"]
    assert [o.name for o in model.graph.output] == ["actions"]
    assert [t.name for t in model.graph.initializer].count("w") == 1  # one copy of the shared weight
    rng = np.random.default_rng(0)
    state, noise = (rng.standard_normal(SHAPE).astype(np.float32) for _ in range(2))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (actions,) = session.run(None, {"state": state, "noise": noise})
    expected = _loop(state, noise, w, schedule)[:, :, :2]
    assert actions.shape == (1, 8, 2)
    np.testing.assert_allclose(actions, expected, rtol=1e-6, atol=1e-6)
    other = _loop(state, noise, w, [True] * 5 if not all(schedule) else [True, False] * 2 + [True])
    assert np.abs(other[:, :, :2] - expected).max() > 1e-3  # the schedule changes the result


def test_bad_graphs_and_schedules_are_refused() -> None:
    prefix, step, cached, _ = _graphs()
    with pytest.raises(ValueError, match="first step runs in full"):
        unroll_chunk(prefix, step, cached, [False, True], action_dim=2)
    with pytest.raises(ValueError, match="cached steps need the step_cached graph"):
        unroll_chunk(prefix, step, None, [True, False], action_dim=2)
    branch = helper.make_graph([], "branch", [], [_value("keys", SHAPE)])
    looped = onnx.ModelProto()
    looped.CopyFrom(step)
    looped.graph.node.append(
        helper.make_node("If", ["cond"], ["out"], then_branch=branch, else_branch=branch)
    )
    with pytest.raises(ValueError, match="subgraphs"):
        unroll_chunk(prefix, looped, cached, [True], action_dim=2)
    lacking = onnx.ModelProto()
    lacking.CopyFrom(step)
    lacking.graph.input.append(_value("extra", SHAPE))
    with pytest.raises(ValueError, match="no value for the graph inputs"):
        unroll_chunk(prefix, lacking, cached, [True], action_dim=2)


def test_the_chunk_file_refers_to_the_parts_external_weights_and_copies_whole(tmp_path: Path) -> None:
    import onnxruntime as ort

    from edgecompress.backends.onnxruntime import copy_onnx
    from edgecompress.models.smolvla_unroll import write_chunk_onnx

    prefix, step, cached, w = _graphs()
    parts = tmp_path / "parts"
    parts.mkdir()
    for model, name in ((prefix, "prefix"), (step, "step"), (cached, "step_cached")):
        onnx.save_model(
            model, str(parts / f"{name}.onnx"), save_as_external_data=True, location=f"{name}.data"
        )
    schedule = [True, False, True]
    out = write_chunk_onnx(parts, schedule, 2, tmp_path / "chunk.onnx")
    locations = [
        entry.value
        for tensor in onnx.load(str(out), load_external_data=False).graph.initializer
        for entry in tensor.external_data
        if entry.key == "location"
    ]  # w once per file it was exported to, not once per step: 2 full steps, 1 cached
    assert sorted(locations) == ["parts/step.data", "parts/step_cached.data"]
    state, noise = np.ones(SHAPE, np.float32), np.full(SHAPE, 0.5, np.float32)
    expected = _loop(state, noise, w, schedule)[:, :, :2]
    (tmp_path / "artifact").mkdir()
    copied = copy_onnx(out, tmp_path / "artifact" / "model.onnx")
    assert [path.name for path in copied] == ["model.onnx", "model.onnx.data"]
    for path in (out, copied[0]):  # in place, and the ONNX Runtime backend's self-contained copy
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (actions,) = session.run(None, {"state": state, "noise": noise})
        np.testing.assert_allclose(actions, expected, rtol=1e-6, atol=1e-6)


def test_the_denoising_loop_setting_defaults_to_one_graph_and_refuses_other_values() -> None:
    from edgecompress.config import load_recipe
    from edgecompress.config.recipe import apply_overrides
    from edgecompress.errors import InputError

    recipe = load_recipe("default")
    assert recipe.lower.denoising_loop == "graph"
    assert apply_overrides(recipe, ["lower.denoising_loop=python"]).lower.denoising_loop == "python"
    with pytest.raises(InputError, match=r"lower\.denoising_loop"):
        apply_overrides(recipe, ["lower.denoising_loop=loop"])
