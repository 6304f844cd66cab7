"""Every change to LeRobot's behaviour, for its SmolVLA policy: offline, on transformers 5.

LeRobot 0.4.4 is installed beside the project's torch without its dependencies (it declares
torch<2.11 and transformers<5); this module checks that version before anything of it is imported,
and makes three changes, none of them on disk:

- ``lerobot.policies.groot``'s package ``__init__`` is kept from running (its model module breaks
  under transformers 5: a dataclass field order error). The package is put into ``sys.modules``
  with its real ``__path__``, so its config module still imports and registers with draccus.
- The Hugging Face Hub is switched off (``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``).
- While a policy is built, ``SmolVLMWithExpertModel`` gets its VLM config from
  :mod:`edgecompress.models.smolvla_vlm` instead of ``AutoConfig.from_pretrained(hub id)`` and a
  processor stand-in instead of ``AutoProcessor.from_pretrained``: the model reads only two token
  ids from the processor (the tokenizer runs outside the model).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgecompress.errors import InputError

TESTED_VERSION = "0.4.4"
INSTALL = 'pip install -e ".[lerobot]" && pip install --no-deps lerobot==0.4.4'
# SmolVLM2's tokenizer: <fake_token_around_image> and <global-img> (used only with
# add_image_special_tokens=True)
FAKE_IMAGE_TOKEN_ID = 49189
GLOBAL_IMAGE_TOKEN_ID = 49152


def lerobot_version() -> str | None:
    """The installed lerobot version, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lerobot")
    except PackageNotFoundError:
        return None


def require_lerobot() -> None:
    """InputError unless the tested lerobot is installed; then make it importable offline."""
    found = lerobot_version()
    if found is None:
        raise InputError("SmolVLA policies need LeRobot, which is not installed", INSTALL)
    if found != TESTED_VERSION:
        raise InputError(f"edgecompress is tested with lerobot {TESTED_VERSION}, found {found}", INSTALL)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    _skip_groot_package()


def _skip_groot_package() -> None:
    name = "lerobot.policies.groot"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec("lerobot")  # runs only lerobot/__init__.py
    if spec is None or spec.origin is None:
        raise InputError("lerobot is installed but cannot be found", INSTALL)
    folder = Path(spec.origin).parent / "policies" / "groot"
    module = types.ModuleType(name)
    module.__path__ = [str(folder)]
    module.__package__ = name
    module.__file__ = str(folder / "__init__.py")
    sys.modules[name] = module


def processor_stand_in() -> Any:
    """What ``VLAFlowMatching`` reads of the SmolVLM processor: two token ids of its tokenizer."""
    tokenizer = types.SimpleNamespace(
        fake_image_token_id=FAKE_IMAGE_TOKEN_ID, global_image_token_id=GLOBAL_IMAGE_TOKEN_ID
    )
    return types.SimpleNamespace(tokenizer=tokenizer)


@contextmanager
def offline_vlm(vlm_config: Any) -> Iterator[None]:
    """Build SmolVLA's VLM from ``vlm_config`` and the processor stand-in, never from the Hub."""
    from lerobot.policies.smolvla import smolvlm_with_expert as module

    def config(model_id: str, *args: Any, **kwargs: Any) -> Any:
        return vlm_config

    def processor(model_id: str, *args: Any, **kwargs: Any) -> Any:
        return processor_stand_in()

    saved = module.AutoConfig, module.AutoProcessor
    module.AutoConfig = types.SimpleNamespace(from_pretrained=config)  # type: ignore[assignment]
    module.AutoProcessor = types.SimpleNamespace(from_pretrained=processor)  # type: ignore[assignment]
    try:
        yield
    finally:
        module.AutoConfig, module.AutoProcessor = saved
