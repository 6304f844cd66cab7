"""FLOPs per chunk of candidate SmolVLA structures, without compiling or training them.

Each option applies the adapter's own edits to a copy of the policy: remove language units (VLM/expert
layer pairs) and vision layers (positions 1, 2, …: the count, not the choice, sets the FLOPs),
narrow every Llama MLP by torch-pruning as ``mlp_prune`` does, set the camera size, the token budget and
the feature-cache interval, then counts one chunk as ``report.json`` does
(:func:`edgecompress.models.smolvla_flops.flops`). It is for choosing a recipe under a FLOPs budget
before spending a compile with recovery training on it.

    python bench/policy/smolvla_flops_options.py --policy bench/policy/data/smolvla-metaworld \\
        --option pairs=2,mlp=0.25,vision=2,size=48,cache=2 --option pairs=2,mlp=0.25,vision=2,cache=2
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgecompress.models.smolvla import SmolVLAAdapter

OPTION_HELP = (
    "comma-separated KEY=VALUE: pairs (language units removed), mlp (fraction of MLP channels removed), "
    "vision (vision layers removed), size (camera side, px), tokens (AFTER_LAYER:KEEP:KEEP_TOP), "
    "cache (feature-cache interval)"
)


@dataclass(frozen=True)
class Option:
    """One candidate structure."""

    pairs: int = 0
    mlp: float = 0.0
    vision: int = 0
    size: int | None = None
    tokens: tuple[int, int, int] | None = None
    cache: int = 1

    @classmethod
    def parse(cls, text: str) -> Option:
        """``pairs=2,mlp=0.25,...`` (see ``OPTION_HELP``)."""
        fields: dict[str, Any] = {}
        for item in filter(None, text.split(",")):
            key, _, value = item.partition("=")
            if key == "tokens":
                after, keep, top = (int(v) for v in value.split(":"))
                fields[key] = (after, keep, top)
            elif key == "mlp":
                fields[key] = float(value)
            elif key in ("pairs", "vision", "size", "cache"):
                fields[key] = int(value)
            else:
                raise SystemExit(f"unknown option key {key!r}: {OPTION_HELP}")
        return cls(**fields)


def option_flops(base: SmolVLAAdapter, option: Option) -> dict[str, float]:
    """GFLOPs split of ``base`` (a loaded SmolVLA adapter) edited as ``option``."""
    from edgecompress.passes.mlp_prune import prune_mlp

    adapter = base.editable()
    if option.pairs:
        adapter.remove_layers(list(range(1, 1 + option.pairs)), "language")
    if option.mlp:
        adapter.set_intermediate_sizes([prune_mlp(mlp, option.mlp, 8) for mlp in adapter.mlps()])
    if option.vision:
        adapter.remove_layers(list(range(1, 1 + option.vision)), "vision")
    if option.size is not None:
        adapter.set_input_size(option.size)
    if option.tokens is not None:
        adapter.set_token_budget(*option.tokens)
    if option.cache > 1:
        adapter.set_feature_cache(option.cache, None, "both")
    return adapter.flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="a SmolVLA save_pretrained folder")
    parser.add_argument("--option", action="append", default=[], help=OPTION_HELP)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    from edgecompress.models.smolvla import load_smolvla

    base = load_smolvla(args.policy)
    total = base.flops()["total"]
    rows = [{"option": "original", **base.flops(), "share": 1.0}]
    for text in args.option:
        split = option_flops(base, Option.parse(text))
        rows.append({"option": text, **split, "share": split["total"] / total})
    print("| option | vision | VLM | expert | total GFLOPs | of the original |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['option']} | {row['vision']:.4f} | {row['vlm']:.4f} | {row['expert']:.4f} | "
            f"{row['total']:.4f} | {row['share']:.1%} |"
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
            handle.write("\n")


if __name__ == "__main__":
    main()
