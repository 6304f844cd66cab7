"""Compression passes, one file each; ``PASSES`` maps the recipe key to the pass class."""

from __future__ import annotations

from edgecompress.passes.base import Pass, PassConfig, PassResult
from edgecompress.passes.bn_prune import BNPrunePass
from edgecompress.passes.distill import DistillPass
from edgecompress.passes.feature_cache import FeatureCachePass
from edgecompress.passes.layer_prune import LayerPrunePass
from edgecompress.passes.mlp_prune import MlpPrunePass
from edgecompress.passes.policy_finetune import PolicyFinetunePass
from edgecompress.passes.resolution import ResolutionPass
from edgecompress.passes.sparsity_train import SparsityTrainPass
from edgecompress.passes.token_prune import TokenPrunePass

PASSES: dict[str, type[Pass]] = {
    cls.name: cls
    for cls in (
        SparsityTrainPass,
        BNPrunePass,
        DistillPass,
        LayerPrunePass,
        TokenPrunePass,
        FeatureCachePass,
        MlpPrunePass,
        ResolutionPass,
        PolicyFinetunePass,
    )
}

__all__ = ["PASSES", "Pass", "PassConfig", "PassResult"]
