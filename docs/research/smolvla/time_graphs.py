"""Time a compiled SmolVLA artifact per chunk and per graph against PyTorch, both on 2 threads.

Usage: python docs/research/smolvla/time_graphs.py POLICY_FOLDER ARTIFACT [REPEATS]
Prints min and median of REPEATS (default 3) runs of: the whole chunk in PyTorch
(predict_action_chunk), the whole chunk on the lowered graphs, the prefix graph alone, one step graph.
Min is the figure to read on a shared machine (every disturbance only adds time).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from edgecompress.artifact import artifact_target
from edgecompress.models.smolvla import load_smolvla
from edgecompress.models.smolvla_observation import chunk_noise, pad_language, random_observations
from edgecompress.runtime.smolvla import load_smolvla_runtime


def timed(call: Callable[[], object], repeats: int) -> str:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return f"min {min(times) * 1e3:8.0f} ms  median {statistics.median(times) * 1e3:8.0f} ms"


def main(policy_folder: Path, artifact: Path, repeats: int) -> None:
    torch.set_num_threads(2)
    adapter = load_smolvla(policy_folder)
    runtime = load_smolvla_runtime(artifact / "openvino", artifact_target(artifact))
    meta = adapter.meta()
    observation, noise = random_observations(meta, 1)[0], chunk_noise(meta)
    tokens, mask = pad_language(observation.tokens, observation.mask, meta["lang_length"])
    feeds = {
        "lang_tokens": tokens,
        "lang_masks": mask,
        "state": observation.state,
        "image0": observation.images[0],
    }
    keys, values, pad = runtime.graphs["prefix"](feeds)
    step = {
        "x_t": noise,
        "timestep": noise[:, 0, 0] * 0 + 1,
        "keys": keys,
        "values": values,
        "prefix_pad": pad,
    }
    torch_predict = adapter.torch_predict()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {runtime.name} {runtime.version}")
    print("chunk, PyTorch      ", timed(lambda: torch_predict(observation, noise), repeats))
    print("chunk, lowered      ", timed(lambda: runtime(observation, noise), repeats))
    print("prefix graph        ", timed(lambda: runtime.graphs["prefix"](feeds), repeats))
    print("one step graph      ", timed(lambda: runtime.graphs["step"](step), repeats))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 3)
