"""Meta-World (MuJoCo) single-task environments with offscreen camera images, and scripted-expert demos.

This is the simulator side of a closed-loop benchmark for a small vision-language-action policy:

* :func:`make_env` builds one Meta-World v3 task whose observation is a dict with an RGB ``image``
  (uint8, HxWx3, rendered offscreen, upright), a float32 proprio ``state`` (hand xyz + gripper opening,
  i.e. the first 4 entries of the Meta-World observation) and a language ``instruction``.
* :func:`collect_demos` runs Meta-World's scripted expert policies (which read privileged state: object
  and goal positions) and saves the successful episodes as an ``.npz`` for behaviour cloning.

Rendering runs without a display and without a GPU: ``MUJOCO_GL`` defaults to ``egl`` (Mesa's software
EGL works on CPU); ``osmesa`` also works with Debian's ``libosmesa6``. An existing value is respected.
``MUJOCO_GL`` is read when ``mujoco`` is first imported, so a caller that imports mujoco (or metaworld)
before this module must set it itself.

CLI::

    python bench/policy/metaworld_env.py --tasks reach-v3 push-v3 --episodes 20 --out /tmp/demos.npz
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import argparse
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import numpy.typing as npt
from metaworld.env_dict import ALL_V3_ENVIRONMENTS
from metaworld.policies import ENV_POLICY_MAP

# The expert policies warn on every call that their gains may saturate the [-1, 1] action clip.
warnings.filterwarnings("ignore", message="Constant\\(s\\) may be too high", category=UserWarning)

#: Five tasks whose scripted expert succeeds in every one of 20 seeded episodes here, in 48-78 steps.
DEFAULT_TASKS: tuple[str, ...] = (
    "reach-v3",
    "push-v3",
    "drawer-close-v3",
    "button-press-topdown-v3",
    "plate-slide-v3",
)

#: Default camera: the wide fixed view of the table (upside-down in the model; rotated upright here).
DEFAULT_CAMERA = "corner"

#: Default episode cap; the experts finish the default tasks in at most ~85 steps.
DEFAULT_MAX_STEPS = 150

#: One language instruction per Meta-World v3 task.
INSTRUCTIONS: dict[str, str] = {
    "assembly-v3": "put the ring on the peg",
    "basketball-v3": "dunk the ball into the basket",
    "bin-picking-v3": "move the puck from one bin to the other",
    "box-close-v3": "put the lid on the box",
    "button-press-topdown-v3": "press the button from the top",
    "button-press-topdown-wall-v3": "press the button behind the wall from the top",
    "button-press-v3": "press the button",
    "button-press-wall-v3": "press the button behind the wall",
    "coffee-button-v3": "press the button on the coffee machine",
    "coffee-pull-v3": "pull the mug away from the coffee machine",
    "coffee-push-v3": "push the mug under the coffee machine",
    "dial-turn-v3": "turn the dial",
    "disassemble-v3": "take the ring off the peg",
    "door-close-v3": "close the door",
    "door-lock-v3": "lock the door",
    "door-open-v3": "open the door",
    "door-unlock-v3": "unlock the door",
    "drawer-close-v3": "close the drawer",
    "drawer-open-v3": "open the drawer",
    "faucet-close-v3": "turn the faucet off",
    "faucet-open-v3": "turn the faucet on",
    "hammer-v3": "hammer the nail into the wall",
    "hand-insert-v3": "put your hand into the hole",
    "handle-press-side-v3": "press the handle down from the side",
    "handle-press-v3": "press the handle down",
    "handle-pull-side-v3": "pull the handle up from the side",
    "handle-pull-v3": "pull the handle up",
    "lever-pull-v3": "pull the lever up",
    "peg-insert-side-v3": "insert the peg into the hole from the side",
    "peg-unplug-side-v3": "unplug the peg from the side",
    "pick-out-of-hole-v3": "pick the puck out of the hole",
    "pick-place-v3": "pick up the puck and place it at the goal",
    "pick-place-wall-v3": "pick up the puck and place it at the goal behind the wall",
    "plate-slide-back-side-v3": "slide the plate back into the cabinet from the side",
    "plate-slide-back-v3": "slide the plate back into the cabinet",
    "plate-slide-side-v3": "slide the plate into the cabinet from the side",
    "plate-slide-v3": "slide the plate into the cabinet",
    "push-back-v3": "push the puck back to the goal",
    "push-v3": "push the puck to the goal",
    "push-wall-v3": "push the puck to the goal behind the wall",
    "reach-v3": "reach the goal",
    "reach-wall-v3": "reach the goal behind the wall",
    "shelf-place-v3": "place the puck on the shelf",
    "soccer-v3": "kick the ball into the goal",
    "stick-pull-v3": "pull the container with the stick",
    "stick-push-v3": "push the container with the stick",
    "sweep-into-v3": "sweep the puck into the hole",
    "sweep-v3": "sweep the puck off the table",
    "window-close-v3": "close the window",
    "window-open-v3": "open the window",
}

#: Length of the proprio state: hand position (x, y, z) and gripper opening.
STATE_DIM = 4
#: Action: hand displacement (dx, dy, dz) and gripper effort, each in [-1, 1].
ACTION_DIM = 4

Obs = dict[str, Any]


def instruction_for(task: str) -> str:
    """Return the language instruction for a Meta-World task name such as ``"reach-v3"``."""
    if task in INSTRUCTIONS:
        return INSTRUCTIONS[task]
    return task.rsplit("-v", 1)[0].replace("-", " ")


@dataclass
class MetaWorldEnv:
    """One Meta-World v3 task with goal-observable state, seeded random layouts and offscreen images.

    Each :meth:`reset` draws a new object/goal layout from the env's own seeded generator, so a fixed
    ``seed`` gives the same sequence of layouts run after run. ``reset(seed=s)`` re-seeds first and so
    reproduces one exact layout.

    Attributes:
        task: Meta-World task name, e.g. ``"reach-v3"``.
        seed: Seed of the layout generator.
        image_size: Height of the rendered image in pixels (and its width unless ``image_width`` is set).
        image_width: Width of the rendered image in pixels; ``None`` renders a square image.
        camera: Name of a camera in the Meta-World model (``corner``, ``corner2``, ``corner3``, ``corner4``,
            ``topview``, ``behindGripper``, ``gripperPOV``).
        max_steps: Episode length cap; ``done`` is set when it is reached (at most 500, Meta-World's own cap).
        terminate_on_success: Whether ``done`` is also set on the first successful step.
        render: Whether to render images (``False`` gives a zero image, for fast state-only runs).
        supersample: Render at ``supersample * image_size`` and box-filter down (anti-aliasing that is
            cheaper than MSAA in software GL). Ignored with ``full_quality``.
        full_quality: Keep Meta-World's own look (4096^2 shadow map, 4x MSAA): about 10x slower on a CPU
            (~7 fps instead of ~60-70 fps at 64 px on Mesa llvmpipe). The default turns shadows and MSAA off.
    """

    task: str
    seed: int
    image_size: int = 64
    image_width: int | None = None
    camera: str = DEFAULT_CAMERA
    max_steps: int = DEFAULT_MAX_STEPS
    terminate_on_success: bool = True
    render: bool = True
    supersample: int = 2
    full_quality: bool = False
    instruction: str = field(init=False)
    raw_obs: npt.NDArray[np.float64] = field(init=False, repr=False)
    t: int = field(init=False, default=0)
    _env: Any = field(init=False, repr=False)
    _renderer: mujoco.Renderer | None = field(init=False, repr=False, default=None)
    _camera_id: int = field(init=False, repr=False)
    _rotate_180: bool = field(init=False, repr=False, default=False)
    _expert: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.task not in ALL_V3_ENVIRONMENTS:
            raise ValueError(f"unknown Meta-World v3 task {self.task!r}")
        env = ALL_V3_ENVIRONMENTS[self.task]()
        # Same set-up as metaworld's "goal-observable" envs, but with layouts drawn from env.np_random
        # (seeded, reproducible) instead of the global np.random.
        env._partially_observable = False
        env._freeze_rand_vec = False
        env.seeded_rand_vec = True
        env._set_task_called = True
        # The observation-space bounds are cached by the constructor with the goal hidden; step() clips
        # the observation to them, which would zero the goal and make the scripted experts fail.
        env.__dict__.pop("sawyer_observation_space", None)
        self.max_steps = min(self.max_steps, int(env.max_path_length))
        self._env = env
        self._expert = ENV_POLICY_MAP[self.task]()
        self.instruction = instruction_for(self.task)
        self._camera_id = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_CAMERA, self.camera)
        if self._camera_id < 0:
            raise ValueError(f"no camera named {self.camera!r} in the Meta-World model")
        if self.full_quality:
            self.supersample = 1
        if self.render:
            if not self.full_quality:
                env.model.vis.quality.offsamples = 0  # no MSAA (must be set before the renderer exists)
            height, width = (self.supersample * n for n in self.shape)
            buffer = env.model.vis.global_  # the offscreen buffer (640x480 in Meta-World's model)
            buffer.offwidth, buffer.offheight = max(buffer.offwidth, width), max(buffer.offheight, height)
            self._renderer = mujoco.Renderer(env.model, height, width)
            if not self.full_quality:
                self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        env.seed(self.seed)

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width of the images."""
        return self.image_size, self.image_width or self.image_size

    @property
    def unwrapped(self) -> Any:
        """The underlying Meta-World ``SawyerXYZEnv``."""
        return self._env

    def reset(self, seed: int | None = None) -> Obs:
        """Start an episode on a new random layout (re-seeding first when ``seed`` is given)."""
        if seed is not None:
            self._env.seed(seed)
        self.raw_obs, _ = self._env.reset()
        self.t = 0
        # Fixed "corner*" cameras are mounted upside down (their image-up axis points to -z): rotate their
        # images by 180 degrees. A vertical flip alone would mirror the scene.
        up_z = float(self._env.data.cam_xmat[self._camera_id].reshape(3, 3)[2, 1])
        self._rotate_180 = up_z < 0.0
        return self._obs()

    def step(self, action: npt.ArrayLike) -> tuple[Obs, bool, bool]:
        """Apply a 4-d action in [-1, 1]; return ``(obs, success, done)``."""
        a = np.clip(np.asarray(action, dtype=np.float32).reshape(ACTION_DIM), -1.0, 1.0)
        self.raw_obs, _, _, truncated, info = self._env.step(a)
        self.t += 1
        success = bool(info["success"])
        done = (success and self.terminate_on_success) or truncated or self.t >= self.max_steps
        return self._obs(), success, bool(done)

    def expert_action(self) -> npt.NDArray[np.float32]:
        """The scripted expert's action for the current state (uses privileged object and goal positions)."""
        return np.asarray(self._expert.get_action(self.raw_obs), dtype=np.float32)

    def render_image(self) -> npt.NDArray[np.uint8]:
        """Render the current scene from the camera as an upright uint8 HxWx3 image."""
        if self._renderer is None:
            return np.zeros((*self.shape, 3), dtype=np.uint8)
        self._renderer.update_scene(self._env.data, camera=self._camera_id)
        img = self._renderer.render()
        k = self.supersample
        if k > 1:
            h, w = self.shape
            img = img.reshape(h, k, w, k, 3).mean(axis=(1, 3), dtype=np.float32).round().astype(np.uint8)
        if self._rotate_180:
            img = img[::-1, ::-1]
        return np.ascontiguousarray(img)

    def close(self) -> None:
        """Free the GL context and the simulator."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._env.close()

    def _obs(self) -> Obs:
        return {
            "image": self.render_image(),
            "state": self.raw_obs[:STATE_DIM].astype(np.float32),
            "instruction": self.instruction,
        }


def make_env(
    task: str,
    seed: int,
    image_size: int = 64,
    camera: str = DEFAULT_CAMERA,
    max_steps: int = DEFAULT_MAX_STEPS,
    render: bool = True,
    supersample: int = 2,
    full_quality: bool = False,
    image_width: int | None = None,
) -> MetaWorldEnv:
    """Build one Meta-World v3 task env with ``reset() -> obs`` and ``step(a) -> (obs, success, done)``.

    ``obs`` is ``{"image": uint8 (S, S, 3), "state": float32 (4,), "instruction": str}`` (``(S, W, 3)``
    with ``image_width``).
    """
    return MetaWorldEnv(
        task=task,
        seed=seed,
        image_size=image_size,
        image_width=image_width,
        camera=camera,
        max_steps=max_steps,
        render=render,
        supersample=supersample,
        full_quality=full_quality,
    )


def collect_demos(
    tasks: Sequence[str],
    episodes_per_task: int,
    seed: int,
    image_size: int,
    out_path: str | Path,
    camera: str = DEFAULT_CAMERA,
    max_steps: int = DEFAULT_MAX_STEPS,
    action_noise: float = 0.0,
    max_attempts_factor: int = 3,
    verbose: bool = True,
) -> dict[str, Any]:
    """Run the scripted experts and save ``episodes_per_task`` successful episodes per task to an ``.npz``.

    An episode ends at the first success or after ``max_steps``; failed episodes are dropped and retried,
    up to ``max_attempts_factor * episodes_per_task`` attempts per task. With ``action_noise > 0`` the
    executed action is the expert's plus Gaussian noise of that standard deviation (clipped to [-1, 1]),
    while the recorded label is the clean expert action, so the data shows recoveries from perturbations.

    Each recorded frame is the observation *before* an action. The ``.npz`` holds ``images`` (N, S, S, 3)
    uint8, ``states`` (N, 4) float32, ``actions`` (N, 4) float32, ``task_ids`` (N,) int16, ``episode_ids``
    (N,) int32 (numbered across tasks), ``steps`` (N,) int16, ``task_names`` and ``instructions``
    (indexed by task id), per-task ``attempts`` and ``successes``, and the settings used.

    Returns:
        A summary: per-task attempts, successes, mean episode length, frames, and the wall time.
    """
    rng = np.random.default_rng(seed)
    images: list[npt.NDArray[np.uint8]] = []
    states: list[npt.NDArray[np.float32]] = []
    actions: list[npt.NDArray[np.float32]] = []
    task_ids: list[int] = []
    episode_ids: list[int] = []
    steps: list[int] = []
    summary: dict[str, Any] = {"tasks": {}}
    episode_id = 0
    t_start = time.perf_counter()
    for task_id, task in enumerate(tasks):
        # One layout stream per task, distinct across tasks.
        env = make_env(
            task, seed=seed + 10_007 * task_id, image_size=image_size, camera=camera, max_steps=max_steps
        )
        attempts = successes = 0
        lengths: list[int] = []
        t_task = time.perf_counter()
        while successes < episodes_per_task and attempts < max_attempts_factor * episodes_per_task:
            attempts += 1
            ep_img: list[npt.NDArray[np.uint8]] = []
            ep_state: list[npt.NDArray[np.float32]] = []
            ep_act: list[npt.NDArray[np.float32]] = []
            obs = env.reset()
            success = done = False
            while not done:
                label = env.expert_action()
                executed = label
                if action_noise > 0.0:
                    noise = rng.normal(0.0, action_noise, size=ACTION_DIM)
                    executed = np.clip(label + noise, -1.0, 1.0).astype(np.float32)
                ep_img.append(obs["image"])
                ep_state.append(obs["state"])
                ep_act.append(np.clip(label, -1.0, 1.0))
                obs, success, done = env.step(executed)
            if not success:
                continue
            successes += 1
            n = len(ep_act)
            lengths.append(n)
            images.extend(ep_img)
            states.extend(ep_state)
            actions.extend(ep_act)
            task_ids.extend([task_id] * n)
            episode_ids.extend([episode_id] * n)
            steps.extend(range(n))
            episode_id += 1
        env.close()
        info = {
            "attempts": attempts,
            "successes": successes,
            "success_rate": successes / max(attempts, 1),
            "mean_length": float(np.mean(lengths)) if lengths else float("nan"),
            "frames": int(sum(lengths)),
            "seconds": time.perf_counter() - t_task,
        }
        summary["tasks"][task] = info
        if verbose:
            print(
                f"{task:28s} success {successes}/{attempts}  mean length {info['mean_length']:.1f}  "
                f"frames {info['frames']}  {info['seconds']:.1f}s "
                f"({info['frames'] / max(info['seconds'], 1e-9):.0f} recorded frames/s)",
                flush=True,
            )

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    img_shape = (0, image_size, image_size, 3)
    np.savez_compressed(
        out,
        images=np.stack(images) if images else np.zeros(img_shape, dtype=np.uint8),
        states=np.stack(states).astype(np.float32) if states else np.zeros((0, STATE_DIM), np.float32),
        actions=np.stack(actions).astype(np.float32) if actions else np.zeros((0, ACTION_DIM), np.float32),
        task_ids=np.asarray(task_ids, dtype=np.int16),
        episode_ids=np.asarray(episode_ids, dtype=np.int32),
        steps=np.asarray(steps, dtype=np.int16),
        task_names=np.asarray(list(tasks)),
        instructions=np.asarray([instruction_for(t) for t in tasks]),
        attempts=np.asarray([summary["tasks"][t]["attempts"] for t in tasks], dtype=np.int32),
        successes=np.asarray([summary["tasks"][t]["successes"] for t in tasks], dtype=np.int32),
        camera=np.asarray(camera),
        image_size=np.asarray(image_size),
        seed=np.asarray(seed),
        max_steps=np.asarray(max_steps),
        action_noise=np.asarray(action_noise),
    )
    summary["frames"] = len(actions)
    summary["episodes"] = episode_id
    summary["seconds"] = time.perf_counter() - t_start
    summary["out_path"] = str(out)
    summary["bytes"] = out.stat().st_size
    return summary


def _parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Collect scripted-expert Meta-World demos with camera images.")
    p.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS), help="Meta-World v3 task names")
    p.add_argument("--episodes", type=int, default=20, help="successful episodes per task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--camera", default=DEFAULT_CAMERA)
    p.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS)
    p.add_argument(
        "--action-noise", type=float, default=0.0, help="std of Gaussian noise on executed actions"
    )
    p.add_argument("--out", required=True, help="output .npz path")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """CLI entry point: collect demos and print timing."""
    args = _parse_args(argv)
    print(f"MUJOCO_GL={os.environ.get('MUJOCO_GL')}  mujoco {mujoco.__version__}", flush=True)
    summary = collect_demos(
        args.tasks,
        args.episodes,
        seed=args.seed,
        image_size=args.image_size,
        out_path=args.out,
        camera=args.camera,
        max_steps=args.max_steps,
        action_noise=args.action_noise,
    )
    print(
        f"saved {summary['frames']} frames / {summary['episodes']} episodes to {summary['out_path']} "
        f"({summary['bytes'] / 1e6:.1f} MB) in {summary['seconds']:.1f}s",
        flush=True,
    )


if __name__ == "__main__":
    main()
