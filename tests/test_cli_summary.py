"""The summary a run prints, and the one vocabulary of error kinds."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.exceptions import IgnoreRequest
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure

from crawler.guard import Forbidden
from crawler.progress import summarize
from crawler.running import print_summary
from crawler.spiders.base import failure_kind
from crawler.stopping import DownloadAbandoned


def summary(capsys: pytest.CaptureFixture[str], stats: dict, reason: str = "finished") -> str:
    report = summarize(stats, 12.0, [])
    report["finish_reason"] = reason
    report["log_file"] = "/c/logs/run.log"
    print_summary(report, Path("/c"))
    return capsys.readouterr().out


def test_a_finished_run(capsys: pytest.CaptureFixture[str]) -> None:
    out = summary(capsys, {"articles/archived": 5, "archive/bytes_written": 12345})
    assert out.startswith("articles: 5 archived, 0 unchanged\n")
    assert "WARC bytes: 12,345" in out
    assert "UNFINISHED" not in out and "resumed" not in out
    assert out.endswith("log: /c/logs/run.log\n")


def test_a_stopped_run_says_what_is_owed_and_how_to_finish(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stats = {"stop/signal": "SIGTERM", "frontier/remaining": 1234, "log_count/ERROR": 2}
    out = summary(capsys, stats, reason="shutdown")
    assert "UNFINISHED: stopped by SIGTERM; 1,234 URLs are still owed.\n" in out
    assert "Run the same command again to finish it." in out
    assert "log: /c/logs/run.log (2 errors logged there)" in out


def test_a_run_stopped_at_once_without_a_count(capsys: pytest.CaptureFixture[str]) -> None:
    stats = {"stop/signal": "SIGINT", "stop/forced": True}
    out = summary(capsys, stats, reason="stopped at once")
    assert "UNFINISHED: stopped by SIGINT, at once; what is still owed is kept" in out


def test_a_rerun_shows_what_it_took_over(capsys: pytest.CaptureFixture[str]) -> None:
    stats = {"resume/articles_done": 8, "resume/requisites_owed": 3, "frontier/remaining": 0}
    out = summary(capsys, stats)
    assert "resumed an unfinished crawl: 8 articles already done, 3 images/files owed" in out


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (twisted_errors.ConnectionRefusedError(), "connection-refused"),
        (twisted_errors.DNSLookupError(), "dns"),
        (twisted_errors.TimeoutError(), "timeout"),
        (twisted_errors.TCPTimedOutError(), "timeout"),
        (IgnoreRequest(), "ignored"),
        # Why a request was never made, not only that it was not ("failed (ignored)").
        (Forbidden("search", "http://127.0.0.1:9/tim-kiem?q=x"), "never-requested-search"),
        (IgnoreRequest("Filtered offsite request to 'example.org'"), "off-site"),
        (IgnoreRequest("Forbidden by robots.txt"), "robots-txt"),
        (IgnoreRequest("max redirections reached"), "too-many-redirects"),
        (DownloadAbandoned(), "abandoned"),
        (LookupError(), "lookup-error"),
    ],
)
def test_error_kinds_are_one_vocabulary(error: Exception, kind: str) -> None:
    assert failure_kind(Failure(error)) == kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [("DownloadConnectionRefusedError", "connection-refused"), ("CannotResolveHostError", "dns")],
)
def test_scrapy_and_twisted_errors_of_one_cause_share_a_kind(name: str, kind: str) -> None:
    from scrapy import exceptions

    assert failure_kind(Failure(getattr(exceptions, name)("x"))) == kind


def test_a_run_on_a_full_disk_names_no_file_it_could_not_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The report.json in place is then the previous run's, and the log stops where the disk
    filled: the summary must not send the reader to either as this run's."""
    report = summarize({"log_count/ERROR": 3}, 1.0, [])
    report.update(
        finish_reason="archive_write_error",
        log_file="/c/logs/run.log",
        report_written=False,
        log_cut_short=True,
    )
    print_summary(report, Path("/c"))
    out = capsys.readouterr().out
    assert "report: not written (see the error above)" in out
    assert "report: /c/report.json" not in out
    assert out.endswith("log: /c/logs/run.log (cut short where it could no longer be written)\n")


def test_pages_that_gave_no_article_are_counted_by_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stats = {
        "articles/archived": 3,
        "articles/rejected/soft-404": 2,
        "articles/rejected/empty-body": 1,
    }
    out = summary(capsys, stats)
    assert out.startswith(
        "articles: 3 archived, 0 unchanged, 3 pages gave none (empty-body: 1, soft-404: 2)\n"
    )
