"""Lower the uncompressed SmolVLA and one compressed by a recipe, then time both chunks interleaved.

A cheaper stand-in for a full ``edgecompress compile`` (which lowers every stage): the same passes
(``pass_flops.run_recipe``), the compressed policy saved and reloaded as a folder, both lowered with the
package's ``lower_smolvla`` to OpenVINO fp32 and timed alternately on 2 threads (min and median).
Usage: python docs/research/smolvla/time_recipe.py POLICY_FOLDER RECIPE OUT_FOLDER [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from pass_flops import run_recipe

from edgecompress.config import load_target
from edgecompress.families.smolvla import lower_smolvla
from edgecompress.models.smolvla import load_smolvla
from edgecompress.models.smolvla_observation import chunk_noise, random_observations
from edgecompress.runtime.smolvla import load_smolvla_runtime


def main(folder: Path, recipe: str, out: Path, repeats: int) -> None:
    profile = load_target("x86-cpu")
    original = load_smolvla(folder)
    started = time.perf_counter()
    variant, _ = run_recipe(original, recipe)
    variant = variant.with_model(variant, out / "model")
    print(f"passes + save/reload: {time.perf_counter() - started:.0f} s; {variant.flops()}", flush=True)
    runtimes = {}
    for name, adapter in (("baseline", original), (recipe, variant)):
        started = time.perf_counter()
        lower_smolvla(adapter, out / name, profile)
        runtimes[name] = load_smolvla_runtime(out / name, profile)
        print(f"lowered {name} in {time.perf_counter() - started:.0f} s", flush=True)
    meta = original.meta()
    observation, noise = random_observations(meta, 1, seed=0)[0], chunk_noise(meta, seed=0)
    exact = np.abs(runtimes[recipe](observation, noise) - variant.torch_predict()(observation, noise)).max()
    print(f"{recipe}: lowered vs its own PyTorch max |diff| {exact:.2e}", flush=True)
    times: dict[str, list[float]] = {name: [] for name in runtimes}
    for runtime in runtimes.values():
        runtime(observation, noise)  # warm-up
    for _ in range(repeats):
        for name, runtime in runtimes.items():
            begin = time.perf_counter()
            runtime(observation, noise)
            times[name].append((time.perf_counter() - begin) * 1000)
    for name, values in times.items():
        print(
            f"{name}: chunk min {min(values):.0f} ms, median {statistics.median(values):.0f} ms", flush=True
        )
    ratio = min(times["baseline"]) / min(times[recipe])
    print(f"speed-up (min / min): {ratio:.2f}x", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 5)
