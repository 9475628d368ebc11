"""The collector settings extension: applied while the engine runs, undone after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.gc_tuning import GcTuningExtension


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@pytest.mark.parametrize("value", [[], "", ["1", "2"], ["a", "b", "c"]])
def test_empty_or_malformed_thresholds_switch_it_off(value: object) -> None:
    crawler = get_crawler(settings_dict={"PORTAL_GC_THRESHOLDS": value})
    with pytest.raises(NotConfigured):
        GcTuningExtension.from_crawler(crawler)


def test_thresholds_apply_while_the_engine_runs_and_are_restored(restore_gc: None) -> None:
    before = gc.get_threshold()
    crawler = get_crawler(settings_dict={"PORTAL_GC_THRESHOLDS": "12345,6,7"})
    assert crawler.stats is not None
    extension = GcTuningExtension.from_crawler(crawler)

    extension.engine_started()
    assert gc.get_threshold() == (12345, 6, 7)
    assert gc.get_freeze_count() > 0

    extension.spider_closed()
    assert crawler.stats.get_value("gc/collections/2") == gc.get_stats()[2]["collections"]
    extension.engine_stopped()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
