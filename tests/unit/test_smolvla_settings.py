"""SmolVLA's loop settings (token pruning, feature caching): their JSON round trip and the step schedule."""

from __future__ import annotations

import json

from edgecompress.models.smolvla_settings import FeatureCache, LoopSettings, TokenPruning, cache_schedule


def test_loop_settings_round_trip_through_json_and_say_what_they_reuse() -> None:
    assert LoopSettings().to_json() == {} and not LoopSettings().changed
    settings = LoopSettings(TokenPruning(2, 16, 4), FeatureCache(2, (1, 3), "mlp"))
    record = json.loads(json.dumps(settings.to_json()))
    assert record["feature_cache"] == {"interval": 2, "layers": [1, 3], "branches": "mlp"}
    assert LoopSettings.from_json(record) == settings and settings.changed
    cache = settings.feature_cache
    assert cache is not None and cache.reuses("mlp") and not cache.reuses("attention")
    assert cache.branch_count() == 1 and FeatureCache(2, (0,), "both").branch_count() == 2
    assert (
        LoopSettings.from_json({"token_pruning": {"after_layer": 1, "keep": 3, "keep_top": 0}}).feature_cache
        is None
    )


def test_the_cache_schedule_runs_step_zero_and_every_interval_th_in_full() -> None:
    assert cache_schedule(10, 2) == [True, False] * 5
    assert cache_schedule(10, 3) == [True, False, False] * 3 + [True]
    assert all(cache_schedule(4, 1))
