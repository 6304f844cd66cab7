"""Lower the uncompressed SmolVLA and the policies compressed by recipes, then time the chunks interleaved.

A cheaper stand-in for a full ``edgecompress compile`` (which lowers every stage): the same passes
(``pass_flops.run_recipe``), the compressed policy saved and reloaded as a folder, both lowered with the
package's ``lower_smolvla`` to OpenVINO fp32 and timed alternately on 2 threads (min and median).
Usage: python docs/research/smolvla/time_recipe.py POLICY_FOLDER RECIPE[,RECIPE...] OUT_FOLDER [REPEATS]
(recipes as ``pass_flops.py`` takes them; each is compared with the one lowered baseline).
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


def main(folder: Path, recipes: list[str], out: Path, repeats: int) -> None:
    profile = load_target("x86-cpu")
    original = load_smolvla(folder)
    meta = original.meta()
    observation, noise = random_observations(meta, 1, seed=0)[0], chunk_noise(meta, seed=0)
    runtimes = {}
    for index, name in enumerate(["baseline", *recipes]):
        started = time.perf_counter()
        adapter = original
        if name != "baseline":
            variant, _ = run_recipe(original, name)
            adapter = variant.with_model(variant, out / f"model{index}")
            print(f"{name}: passes + save/reload {time.perf_counter() - started:.0f} s; {adapter.flops()}")
        lower_smolvla(adapter, out / f"graphs{index}", profile)
        runtimes[name] = load_smolvla_runtime(out / f"graphs{index}", profile)
        print(f"lowered {name} in {time.perf_counter() - started:.0f} s", flush=True)
        exact = np.abs(runtimes[name](observation, noise) - adapter.torch_predict()(observation, noise)).max()
        print(f"{name}: lowered vs its own PyTorch max |diff| {exact:.2e}", flush=True)
        if adapter is not original:
            del adapter, variant  # keep one policy in memory, the lowered graphs of each
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
    for name in recipes:
        ratio = min(times["baseline"]) / min(times[name])
        print(f"{name}: speed-up (min / min) {ratio:.2f}x", flush=True)


if __name__ == "__main__":
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    main(Path(sys.argv[1]), sys.argv[2].split(","), Path(sys.argv[3]), repeats)
