"""The graph-search guard stops a runaway search with a clear error and leaves other timers running."""

import signal
import time

import pytest

from edgecompress.errors import StageFailed
from edgecompress.passes.search_guard import bounded_search


def test_a_search_past_its_time_stops_with_the_limit_named():
    with pytest.raises(StageFailed, match=r"ran past 0\.5 s"), bounded_search(0.5, 8, "the search"):
        while True:  # Python steps, as torch-pruning's search is
            sum(range(1000))


def test_a_search_that_grows_memory_stops():
    hoard = []
    limit = r"grew memory by .* GB \(limit 0\.05 GB\)"
    with pytest.raises(StageFailed, match=limit), bounded_search(60, 0.05, "the search"):
        for _ in range(400):
            hoard.append(bytearray(1 << 20))  # 1 MB a step, touched
            hoard[-1][::4096] = b"x" * len(hoard[-1][::4096])
            time.sleep(0.01)
    assert len(hoard) < 400


def test_a_quick_search_passes_and_leaves_an_earlier_timer_alone():
    signal.setitimer(signal.ITIMER_REAL, 30.0)
    try:
        with bounded_search(5, 8, "the search"):
            time.sleep(0.3)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 29.0 < left < 30.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def test_a_real_ctrl_c_is_still_a_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt), bounded_search(60, 8, "the search"):
        raise KeyboardInterrupt


@pytest.mark.timeout(120)
def test_bn_prune_stops_when_the_graph_search_passes_its_bound():
    from ultralytics.nn.tasks import DetectionModel

    from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale

    model = DetectionModel("yolo12n.yaml", nc=4, verbose=False).eval()
    with pytest.raises(StageFailed, match=r"torch-pruning's dependency-graph search ran past 0\.01 s"):
        prune_by_bn_scale(model, BNPruneConfig(ratio=0.5, search_seconds=0.01), 128)
