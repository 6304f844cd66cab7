"""Every change edgecompress makes to Ultralytics' behaviour, in one module, for the tested version only.

- ``DetectionTrainer.get_model`` returns a compressed checkpoint's own module (installed when
  :mod:`edgecompress.models.yolo_modules` is imported, which unpickling a pruned checkpoint does).
- The trainer's module-level ``DistillationModel`` is swapped for edgecompress' CWD wrapper while one
  of its trainers runs (:func:`distillation_class`).
- The trainer subclasses in :mod:`edgecompress.models.yolo_training` override ``_do_train`` (to make
  that swap in every DDP process) and ``optimizer_step`` (its body is Ultralytics' with the L1 term
  added after the gradient clip); both follow the version checked here.

Importing this module checks the installed Ultralytics against :data:`TESTED_ULTRALYTICS` and fails
with one clear error outside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from torch import nn

from edgecompress.errors import InputError

TESTED_ULTRALYTICS = "8.4.190"  # pyproject.toml pins the same


def check_ultralytics_version(installed: str | None = None) -> None:
    """Refuse an Ultralytics other than the tested one: the patches below follow its private code."""
    if installed is None:
        import ultralytics

        installed = ultralytics.__version__
    if installed != TESTED_ULTRALYTICS:
        raise InputError(
            f"ultralytics {installed} is installed; edgecompress patches Ultralytics' trainer and is "
            f"tested with {TESTED_ULTRALYTICS} only",
            f"pip install ultralytics=={TESTED_ULTRALYTICS}",
        )


check_ultralytics_version()


def keep_compressed_architecture_in_training(
    is_compressed: Callable[[nn.Module], bool], as_is: Callable[[nn.Module, object], nn.Module]
) -> None:
    """Patch ``DetectionTrainer.get_model`` to return a compressed checkpoint's module instead of a rebuild.

    Ultralytics' own ``get_model`` rebuilds the full-width architecture from the YAML and keeps only
    the weights whose shapes match, so ``YOLO("pruned.pt").train(...)`` would silently un-prune it.
    Only models ``is_compressed`` accepts are affected; every other model trains as before.
    """
    from ultralytics.models.yolo.detect import DetectionTrainer

    stock = DetectionTrainer.get_model
    if getattr(stock, "keeps_compressed_architecture", False):
        return

    def get_model(self: DetectionTrainer, cfg: object = None, weights: object = None, verbose: bool = True):
        if isinstance(weights, nn.Module) and is_compressed(weights):
            return as_is(weights, self.args)
        return stock(self, cfg=cfg, weights=weights, verbose=verbose)

    get_model.keeps_compressed_architecture = True  # type: ignore[attr-defined]
    get_model.__doc__ = stock.__doc__
    DetectionTrainer.get_model = get_model  # type: ignore[method-assign]


@contextlib.contextmanager
def distillation_class(cls: type, **settings: Any) -> Iterator[None]:
    """Make Ultralytics' trainer build ``cls`` (with class attributes ``settings``) where it builds its
    ``DistillationModel``: the trainer takes that class from its own module namespace."""
    import ultralytics.engine.trainer as trainer_module

    original = trainer_module.DistillationModel
    previous = {key: getattr(cls, key) for key in settings}
    trainer_module.DistillationModel = cls
    for key, value in settings.items():
        setattr(cls, key, value)
    try:
        yield
    finally:
        trainer_module.DistillationModel = original
        for key, value in previous.items():
            setattr(cls, key, value)
