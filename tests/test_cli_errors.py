"""Every expected failure of ``portal-archiver`` is one sentence on stderr, exit status 2, no
traceback, and nothing half-made: checked before anything is created or requested."""

from __future__ import annotations

import collections
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from archive.collection import Collection, take_lock
from crawler.validation import UsageError, _defaults, check_settings, rule_for
from tests.conftest import run_cli

GOOD_URL = "http://127.0.0.1:9/article"


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 and one line on stderr naming what to fix."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("portal-archiver"), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "setting",
    [
        "DOWNLOAD_DELAY=abc",
        "DOWNLOAD_DELAY=-1",
        "ARCHIVE_WARC_MAX_SIZE=big",
        "ARCHIVE_WARC_MAX_SIZE=0",
        "ROBOTSTXT_OBEY=maybe",
        "CONCURRENT_REQUESTS_PER_DOMAIN=-1",
        "CONCURRENT_REQUESTS=0",
        "DOWNLOAD_TIMEOUT=0",
        "RETRY_TIMES=2.5",
        "RETRY_HTTP_CODES=500,oops",
        "PORTAL_GC_THRESHOLDS=1,2",
        "PORTAL_PROGRESS_INTERVAL=nan",
        "ARCHIVE_REQUISITES=yes please",
        "LOG_LEVEL=LOUD",
        "DEFAULT_REQUEST_HEADERS=not json",
        "SCHEDULER_DISK_QUEUE=crawler.queues.NoSuchQueue",
        "TWISTED_REACTOR=no.such.reactor",
        'ITEM_PIPELINES={"crawler.archiving.NoSuchPipeline": 300}',
        'EXTENSIONS={"crawler.progress.ProgressExtension": "first"}',
        "ARCHIVE_NO_SUCH_THING=1",
        "DOWNLOAD_DELEY=1",
        "ARCHIVE_DIR=/tmp/elsewhere",
    ],
)
def test_a_bad_setting_is_refused_before_anything_is_created(tmp_path: Path, setting: str) -> None:
    out = tmp_path / "collection"
    result = run_cli("fetch", GOOD_URL, "--out", str(out), "-s", setting)
    assert_refused(result, setting.partition("=")[0])
    assert not out.exists(), "a refused command creates no collection"


@pytest.mark.parametrize("setting", ["DOWNLOAD_DELAY=abc", "CONCURRENT_REQUESTS_PER_DOMAIN=-1"])
@pytest.mark.parametrize("command", [["crawl", "lapvo"], ["demo"]])
def test_every_command_that_crawls_checks_its_settings(
    tmp_path: Path, setting: str, command: list[str]
) -> None:
    out = tmp_path / "collection"
    result = run_cli(*command, "--out", str(out), "-s", setting)
    assert_refused(result, setting.partition("=")[0])
    assert not out.exists()


@pytest.mark.parametrize(
    "setting",
    [
        "DOWNLOAD_DELAY=0.5",
        "ROBOTSTXT_OBEY=false",
        "ARCHIVE_REQUISITES=0",
        "RETRY_HTTP_CODES=500,503",
        "PORTAL_GC_THRESHOLDS=",
        "DEPTH_PRIORITY=-1",
        "ARCHIVE_OPERATOR=Thu vien tinh <lib@example.org>",
        "SOME_THIRD_PARTY_SETTING=whatever",
        'DEFAULT_REQUEST_HEADERS={"Accept": "text/html"}',
        "SCHEDULER_DISK_QUEUE=scrapy.squeues.PickleFifoDiskQueue",
        'EXTENSIONS={"crawler.progress.ProgressExtension": null}',
        "NEWSPIDER_MODULE=crawler.spiders",
    ],
)
def test_good_settings_pass(setting: str) -> None:
    name, _, value = setting.partition("=")
    assert check_settings([(name, value)]) == [(name, value)]


def test_a_level_is_given_in_the_case_logging_wants() -> None:
    assert check_settings([("LOG_LEVEL", "debug")]) == [("LOG_LEVEL", "DEBUG")]


def test_every_default_passes_its_own_rule() -> None:
    """The table and the defaults agree: a default written as -s would be accepted."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    checked = collections.Counter()
    for name, default in _defaults().items():
        kind = rule_for(name, default).kind
        if kind in ("bool", "int", "float", "object") and default is not None:
            check_settings([(name, str(settings[name]))])
        elif kind == "components":
            check_settings([(name, json.dumps(dict(settings[name])))])
        checked[kind] += 1
    assert checked["bool"] > 20 and checked["int"] > 20 and checked["float"] > 10
    assert checked["object"] > 10 and checked["components"] > 5


def test_a_bad_setting_names_what_is_wanted() -> None:
    with pytest.raises(UsageError, match=r"DOWNLOAD_DELAY must be a number of seconds \(0 or"):
        check_settings([("DOWNLOAD_DELAY", "abc")])
    with pytest.raises(UsageError, match="did you mean DOWNLOAD_DELAY"):
        check_settings([("DOWNLOAD_DELEY", "1")])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["crawl", "lapvo", "--since", "2024-13-45"], ["--since", "2024-13-45", "YYYY-MM-DD"]),
        (["crawl", "lapvo", "--max-articles", "-5"], ["--max-articles", "-5"]),
        (["crawl", "lapvo", "--max-articles", "0"], ["--max-articles"]),
        (["crawl", "lapvo", "--max-articles", "many"], ["--max-articles", "many"]),
        (["crawl", "no-such-site"], ["no-such-site", "lapvo"]),
        (["fetch", "notaurl", GOOD_URL, "ftp://example.org/f"], ["'notaurl'", "'ftp://"]),
        (["fetch", "http://:80/"], ["not an http(s) URL"]),
        (["demo", "--articles", "-1"], ["--articles"]),
    ],
)
def test_a_bad_option_is_refused_before_anything_is_created(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    out = tmp_path / "collection"
    assert_refused(run_cli(*args, "--out", str(out)), *words)
    assert not out.exists()


def test_fetch_with_a_bad_url_fetches_none(tmp_path: Path) -> None:
    """Refusing the whole command is the documented choice: a partial fetch would exit 1
    among real failures, and the good URL would be silently fetched without the bad one."""
    result = run_cli("fetch", "notaurl", GOOD_URL, "--out", str(tmp_path / "c"))
    assert_refused(result, "nothing was fetched")


def test_out_is_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert_refused(run_cli("fetch", GOOD_URL, "--out", str(afile)), str(afile), "is a file")
    assert afile.read_text() == "x"


def test_out_unwritable() -> None:
    # Not even root can make a directory in /proc (the tests run as root in CI).
    assert_refused(run_cli("fetch", GOOD_URL, "--out", "/proc/portal-archiver/c"), "cannot write")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('[profiles.mine]\nstart_url = "http://a/web/x"\nlistings = ["/a" "/b"]\n', ["line 3"]),
        ("[profiles.mine]\nstart_url = \n", ["line 2"]),
        ('[profiles.mine]\ncolour = "red"\n', ["colour"]),
    ],
)
def test_a_bad_profiles_file_is_named_with_its_line(
    tmp_path: Path, content: str, words: list[str]
) -> None:
    profiles = tmp_path / "sites.toml"
    profiles.write_text(content)
    out = tmp_path / "c"
    result = run_cli("crawl", "mine", "--profiles", str(profiles), "--out", str(out))
    assert_refused(result, str(profiles), *words)
    assert not out.exists()


def test_a_missing_profiles_file(tmp_path: Path) -> None:
    result = run_cli("crawl", "x", "--profiles", str(tmp_path / "no.toml"), "--out", str(tmp_path))
    assert_refused(result, "no such profiles file")


def test_extract_refuses_a_directory_or_a_file_as_parent(tmp_path: Path) -> None:
    warc = tmp_path / "a.warc.gz"
    warc.write_bytes(b"")
    assert_refused(run_cli("extract", str(warc), "--out", str(tmp_path)), "is a directory")
    (tmp_path / "afile").write_text("x")
    result = run_cli("extract", str(warc), "--out", str(tmp_path / "afile" / "x.jsonl"))
    assert_refused(result, "is a file")


def test_extract_names_a_folder_given_as_a_warc_file_and_what_to_give(tmp_path: Path) -> None:
    # "no such WARC file" for a folder that is there sends the archivist looking for a typo.
    with Collection(tmp_path / "c"):
        pass
    result = run_cli("extract", str(tmp_path / "c"), "--out", str(tmp_path / "x.jsonl"))
    assert_refused(result, "is a directory, not a WARC file", str(tmp_path / "c" / "warc"))
    result = run_cli("extract", str(tmp_path / "c" / "warc"), "--out", str(tmp_path / "x.jsonl"))
    assert_refused(result, "is a directory, not a WARC file", "*.warc.gz")
    assert not (tmp_path / "x.jsonl").exists()


def test_extract_never_overwrites_a_collections_items(tmp_path: Path) -> None:
    with Collection(tmp_path) as collection:
        collection.append_item(json.dumps({"url": "u"}))
    before = (tmp_path / "items.jsonl").read_bytes()
    warc = tmp_path / "warc" / "x.warc.gz"
    warc.write_bytes(b"")
    result = run_cli("extract", str(warc), "--out", str(tmp_path / "items.jsonl"))
    assert_refused(result, "would overwrite a file of the collection")
    assert (tmp_path / "items.jsonl").read_bytes() == before


def test_extract_and_index_refuse_a_collection_being_crawled(tmp_path: Path) -> None:
    with Collection(tmp_path) as collection:
        collection.append_item(json.dumps({"url": "u"}))
    warc = tmp_path / "warc" / "x.warc.gz"
    warc.write_bytes(b"")
    index = tmp_path / "indexes" / "index.cdxj"
    index.write_text("kept\n")
    with Collection(tmp_path):  # a crawl holds the collection
        extracted = run_cli("extract", str(warc), "--out", str(tmp_path.parent / "x.jsonl"))
        indexed = run_cli("index", str(tmp_path))
    assert_refused(extracted, "in use by another crawl")
    assert_refused(indexed, "in use by another crawl")
    assert index.read_text() == "kept\n", "no index of 0 records during a crawl"
    assert not (tmp_path.parent / "x.jsonl").exists()


def _crawled_collection(directory: Path) -> Path:
    """A collection holding a real crawl's WARC file."""
    Collection(directory).open().close()
    shutil.copy(Path(__file__).parent / "data" / "extract" / "crawl-1.warc.gz", directory / "warc")
    return directory


def test_extract_and_wacz_read_a_collection_another_reader_holds(tmp_path: Path) -> None:
    """Two extracts at once (one file per site), or a package made while items are extracted:
    readers share the collection; only a crawl, fetch, recover or index holds it alone."""
    collection = _crawled_collection(tmp_path / "c")
    warcs = [str(path) for path in sorted((collection / "warc").glob("*.warc.gz"))]
    alone = run_cli("extract", *warcs, "--out", str(tmp_path / "alone.jsonl"))
    assert alone.returncode == 0, alone.stderr
    # A killed crawl's unfinished file: closed by an extract that opens the collection alone,
    # named and left as it is by one that reads beside another reader.
    unfinished = collection / "warc" / "killed.warc.gz.open"
    shutil.copy(collection / "warc" / "crawl-1.warc.gz", unfinished)
    reader = take_lock(collection, collection / ".lock", advice="", command="wacz", shared=True)
    try:
        extracted = run_cli("extract", *warcs, "--out", str(tmp_path / "beside.jsonl"))
        packaged = run_cli("wacz", str(collection), "--out", str(tmp_path / "c.wacz"))
        indexed = run_cli("index", str(collection))
    finally:
        os.close(reader)
    assert extracted.returncode == 0, extracted.stderr
    assert (tmp_path / "beside.jsonl").read_bytes() == (tmp_path / "alone.jsonl").read_bytes()
    assert f"{unfinished} is the unfinished WARC file of a killed crawl" in extracted.stderr
    assert unfinished.exists()
    assert packaged.returncode == 0, packaged.stderr
    assert_refused(indexed, "in use by commands reading it")


def test_extracts_started_together_both_give_every_item(tmp_path: Path) -> None:
    """Found by running two at once: the second was refused ("in use by another crawl")."""
    collection = _crawled_collection(tmp_path / "c")
    warcs = [str(path) for path in sorted((collection / "warc").glob("*.warc.gz"))]
    outs = [tmp_path / f"{n}.jsonl" for n in range(4)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "extract", *warcs, "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr
    assert len({out.read_bytes() for out in outs}) == 1
    assert outs[0].read_bytes()


def test_a_locked_collection_is_refused(tmp_path: Path) -> None:
    with Collection(tmp_path):
        result = run_cli("fetch", GOOD_URL, "--out", str(tmp_path))
    assert_refused(result, "in use by another crawl")


@pytest.mark.parametrize("fresh", [True, False])
def test_a_collection_error_while_scrapy_starts_is_one_sentence(
    tmp_path: Path, fresh: bool
) -> None:
    out = tmp_path / "c"
    if not fresh:
        Collection(out).open().close()
    extension = json.dumps({"tests.cli_support.FailingExtension": 0})
    result = run_cli("fetch", GOOD_URL, "--out", str(out), "-s", f"EXTENSIONS={extension}")
    assert_refused(result, "collection refused by the test")
    assert out.exists() is not fresh, "a collection this run created is removed again"


def test_a_bug_prints_a_traceback_only_with_debug(tmp_path: Path) -> None:
    extension = json.dumps({"tests.cli_support.FailingExtension": 0})
    args = ["fetch", GOOD_URL, "--out", str(tmp_path), "-s", f"EXTENSIONS={extension}"]
    args += ["-s", "TEST_FAILURE=bug"]
    quiet = run_cli(*args)
    assert quiet.returncode == 1
    assert "Traceback" not in quiet.stderr
    assert "unexpected error (KeyError" in quiet.stderr and "--debug" in quiet.stderr
    loud = run_cli("--debug", *args)
    assert loud.returncode == 1
    assert "Traceback" in loud.stderr and "an unexpected bug" in loud.stderr


def test_replica_port_out_of_range_or_taken() -> None:
    assert_refused(run_cli("replica", "--port", "99999"), "--port", "99999")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("replica", "--port", str(port))
    assert_refused(result, f"127.0.0.1:{port}", "another --port")


def test_replica_help_describes_itself() -> None:
    result = run_cli("replica", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Serve the bundled replica" in text
    for option in ("--port", "--articles", "--edition"):
        described = text.split(option, 2)[-1]
        assert len(described.split("--")[0].split()) > 3, f"{option} is not described"


def test_a_reader_that_goes_away_is_no_bug(tmp_path: Path) -> None:
    """``portal-archiver extract ... | head -1``: the summary meets a closed pipe once the
    items are written; that is the reader's choice, said as a SIGPIPE would (141), quietly."""
    out = tmp_path / "items.jsonl"
    warc = Path(__file__).parent / "data" / "extract" / "crawl-1.warc.gz"
    command = [sys.executable, "-m", "crawler.cli", "extract", str(warc), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the command prints anything
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert stderr == ""
    assert out.read_text(encoding="utf-8").count("\n") == 14
