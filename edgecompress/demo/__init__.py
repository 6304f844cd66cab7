"""The built-in demo: a digits detection dataset made from scikit-learn's bundled digits, and a model."""

from edgecompress.demo.digits import DIGIT_NAMES, build_digits_dataset, demo_checkpoint, demo_data_yaml

__all__ = ["DIGIT_NAMES", "build_digits_dataset", "demo_checkpoint", "demo_data_yaml"]
