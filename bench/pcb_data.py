"""A writable copy of the shared DeepPCB set with ``path`` pointing at it (Ultralytics writes label caches).

python bench/pcb_data.py --shared ../shared/data --out runs/pcb-data
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import yaml


def deeppcb_copy(shared: Path, out: Path) -> Path:
    """Copy ``shared/deeppcb`` to ``out`` once (images and labels) and return its ``data.yaml``."""
    source = shared / "deeppcb"
    if not (source / "data.yaml").is_file():
        raise SystemExit(f"error: no DeepPCB at {source} (pass --shared pointing at shared/data)")
    data_yaml = out / "data.yaml"
    if not data_yaml.is_file():
        partial = out.with_name(out.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        for sub in ("images", "labels"):
            shutil.copytree(source / sub, partial / sub)
        spec = yaml.safe_load((source / "data.yaml").read_text())
        spec["path"] = str(out.resolve())
        (partial / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.rename(out)
    return data_yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--out", default="runs/pcb-data")
    args = parser.parse_args()
    print(deeppcb_copy(Path(args.shared), Path(args.out)))


if __name__ == "__main__":
    main()
