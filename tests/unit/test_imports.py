"""`import edgecompress` and the CLI's help load no runtime (fast start, deploy without training deps)."""

import subprocess
import sys

HEAVY = ("openvino", "onnxruntime", "ultralytics", "nncf", "tensorrt", "torch")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return {m for m in out.strip().split(",") if m}


def test_import_loads_no_runtime():
    assert _loaded_after("import edgecompress") == set()


def test_cli_parser_loads_no_runtime():
    assert _loaded_after("from edgecompress.cli import build_parser; build_parser()") == set()
