"""A compile killed during a training stage resumes from the last finished stage and training epoch."""

import signal
import subprocess
import sys
import time

from edgecompress.report import Report


def test_killed_compile_resumes(tmp_path, demo_compile_argv, quick_ort_target):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "stages:\n  - {pass: bn_prune, ratio: 0.5}\n"
        "  - {pass: distill, method: none, epochs: 4, batch: 8, workers: 0}\n"
        "measure: {baseline: false}\n"
    )
    out = tmp_path / "art"  # passed relative to the working folder, as users type it
    argv = demo_compile_argv("--target", quick_ort_target, "--recipe", recipe, "--imgsz", 160, "--out", "art")
    command = [sys.executable, "-m", "edgecompress.cli", *argv]
    last = tmp_path / "art.work" / "stage2-distill" / "train" / "weights" / "last.pt"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    deadline = time.time() + 300
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # let the first epoch's checkpoint finish writing
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert last.exists() and not out.exists(), "the compile was not stopped inside the training stage"

    done = subprocess.run(
        [*command, "--resume"], capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stage 1: bn_prune (finished earlier, reloaded)" in done.stderr
    assert "resuming training from" in done.stderr
    report = Report.read(out / "report.json")
    assert [r.name for r in report.rows] == ["1. bn_prune", "2. distill", "result"]
    assert not (tmp_path / "art.work").exists()
