"""The reading room's search index: Vietnamese folding, ranking, incremental updates."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path
from typing import Any

import pytest

import archive.search as search_module
from archive.folding import fold, folded_words, words
from archive.search import (
    Query,
    QueryError,
    SearchIndex,
    parse_day,
    read_line,
    snippet,
    update_search_index,
)


def _item(key: str, title: str, *paragraphs: str, version: int = 1, **fields: Any) -> dict:
    return {
        "key": key,
        "version": version,
        "url": f"https://lapvo.dongthap.gov.vn/a/{key}",
        "title": title,
        "summary": fields.pop("summary", None),
        "paragraphs": list(paragraphs),
        "captions": [],
        "site": fields.pop("site", "lapvo.dongthap.gov.vn/web/hlv"),
        "category": fields.pop("category", "Tin tức"),
        "published": fields.pop("published", "2024-03-05T08:00:00+07:00"),
        **fields,
    }


def _write(directory: Path, *items: dict, mode: str = "a") -> None:
    with (directory / "items.jsonl").open(mode, encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")


def _keys(directory: Path, text: str, **filters: str) -> list[str]:
    with SearchIndex(directory) as index:
        index.update()
        return [hit.key for hit in index.search(Query(text, **filters)).hits]


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        _item("k1", "Thường trực Huyện uỷ Lấp Vò làm việc với Mặt trận", "Nội dung buổi làm việc."),
        _item("k2", "Phường An Hoà ra quân", "Đoàn thanh niên Định Yên tham gia."),
        _item(
            "k3",
            "Giao thông nông thôn",
            "Thường trực huyện ủy chỉ đạo; huyện ủy Lấp Vò họp.",
            site="sadec.dongthap.gov.vn",
            category="Kinh tế",
            published="2021-11-20",
        ),
        _item("k4", "Không có ngày", "Văn bản.", published=None, category=None),
    )
    return tmp_path


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("hoà", "hoa"),
        ("hòa", "hoa"),
        ("HOÀ", "hoa"),
        ("uỷ", "uy"),
        ("ủy", "uy"),
        ("Đồng Tháp", "dong thap"),
        (unicodedata.normalize("NFD", "Huyện uỷ Lấp Vò"), "huyen uy lap vo"),
    ],
)
def test_fold_makes_every_spelling_of_a_word_equal(variant: str, expected: str) -> None:
    assert fold(variant) == expected


def test_words_split_on_punctuation_and_underscores() -> None:
    assert words("Số 347/TB-UBND, snake_case") == ["so", "347", "tb", "ubnd", "snake", "case"]


def test_the_indexed_words_are_the_words_of_every_character() -> None:
    """The index's one-pass folding gives what the searches fold: every character of the
    Basic Multilingual Plane alone and between letters (marks, ß, digits, separators)."""
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates are no text
        for text in (chr(code), f"a{chr(code)}b", f"{chr(code)}\u0301x_{chr(code)}"):
            assert folded_words(text) == " ".join(words(text)), hex(code)


@pytest.mark.parametrize(
    "text",
    [
        "thuong truc huyen uy lap vo",
        "Thường trực Huyện ủy Lấp Vò",  # the new tone placement for a title written "uỷ"
        unicodedata.normalize("NFD", "Thường trực Huyện uỷ Lấp Vò"),
        "THUONG TRUC",
    ],
)
def test_search_ignores_marks_tone_placement_case_and_normalization(
    collection: Path, text: str
) -> None:
    assert _keys(collection, text)[0] == "k1"


def test_d_with_stroke_matches_d_and_old_tone_forms_match_new(collection: Path) -> None:
    assert _keys(collection, "dinh yen") == ["k2"]
    assert _keys(collection, "an hòa") == ["k2"]  # archived as "Hoà"


def test_title_matches_come_first(collection: Path) -> None:
    # k3 says "huyện ủy" twice in its body; k1 once, in its title.
    assert _keys(collection, "huyen uy") == ["k1", "k3"]
    # A word once in a long title outranks the same word all over a short lead and body.
    long_title = "Khánh thành " + " ".join(["đường giao thông nông thôn"] * 12) + " cây cầu"
    _write(
        collection,
        _item("k7", "Bản tin", *["cầu cầu cầu"] * 8, summary="Cầu, cầu và cầu."),
        _item("k8", long_title, "Nội dung."),
    )
    assert _keys(collection, "cau") == ["k8", "k7"]


def test_phrases_in_quotes_keep_word_order(collection: Path) -> None:
    assert set(_keys(collection, "lap vo huyen uy")) == {"k1", "k3"}
    assert _keys(collection, '"huyen uy lap vo"') == ["k1", "k3"]
    assert _keys(collection, '"lap vo huyen uy"') == []
    assert _keys(collection, "“huyện ủy lấp vò”") == ["k1", "k3"]  # typographic quotes


def test_filters_and_facets(collection: Path) -> None:
    assert _keys(collection, "", site="sadec.dongthap.gov.vn") == ["k3"]
    assert _keys(collection, "", section="Kinh tế") == ["k3"]
    assert _keys(collection, "", date_from="2024-01-01") == ["k2", "k1"]  # newest line first
    assert _keys(collection, "", date_to="2021-12-31") == ["k3"]
    with SearchIndex(collection) as index:
        results = index.search(Query(""))
    assert results.total == 4
    assert results.facets["site"] == [
        ("lapvo.dongthap.gov.vn/web/hlv", 3),
        ("sadec.dongthap.gov.vn", 1),
    ]
    assert results.facets["section"] == [("Tin tức", 2), ("Kinh tế", 1)]
    assert results.facets["year"] == [("2024", 2), ("2021", 1)]


def test_browsing_without_words_lists_newest_first_undated_last(collection: Path) -> None:
    assert _keys(collection, "") == ["k2", "k1", "k3", "k4"]


def test_only_the_newest_version_is_searched(collection: Path) -> None:
    _write(collection, _item("k2", "Phường An Hoà tổng kết", "Đã sửa.", version=2))
    assert _keys(collection, "ra quan") == []
    assert _keys(collection, "tong ket") == ["k2"]
    with SearchIndex(collection) as index:
        assert [version for version, _, _ in index.versions("k2")] == [1, 2]
        assert index.search(Query("")).total == 4


def test_update_reads_only_new_complete_lines(collection: Path) -> None:
    assert update_search_index(collection) == 4
    assert update_search_index(collection) == 0
    line = json.dumps(_item("k5", "Lễ giao nhận quân", "Xã Tân Mỹ."), ensure_ascii=False)
    items = collection / "items.jsonl"
    with items.open("a", encoding="utf-8") as out:
        out.write(line[:40])  # a crawl is writing this line right now
    assert update_search_index(collection) == 0
    assert _keys(collection, "giao nhan") == []
    with items.open("a", encoding="utf-8") as out:
        out.write(line[40:] + "\n")
    assert update_search_index(collection) == 1
    assert _keys(collection, "giao nhan") == ["k5"]


def test_a_replaced_items_file_is_indexed_again(collection: Path) -> None:
    update_search_index(collection)
    _write(collection, _item("k9", "Hoàn toàn khác", "Mới."), mode="w")
    assert update_search_index(collection) == 1
    assert _keys(collection, "") == ["k9"]


def test_a_deleted_index_is_rebuilt_from_the_collection(collection: Path) -> None:
    update_search_index(collection)
    for path in collection.glob("search.sqlite*"):
        path.unlink()
    assert update_search_index(collection) == 4
    assert _keys(collection, "giao thong") == ["k3"]


def test_a_line_that_is_not_an_item_is_skipped_and_reported(
    collection: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (collection / "items.jsonl").open("a", encoding="utf-8") as out:
        out.write('{"no key": 1}\nnot json\n')
    _write(collection, _item("k6", "Sau dòng hỏng", "Vẫn tìm được."))
    assert update_search_index(collection) == 5
    assert _keys(collection, "dong hong") == ["k6"]
    assert "not an item" in caplog.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"lấp vò', "never closed"),
        ("!!! ???", "no letters or digits"),
        ("a " * 40, "more than 32 words"),
        ("x" * 501, "longer than 500"),
    ],
)
def test_malformed_searches_are_refused_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        Query(text)


def test_days() -> None:
    assert parse_day("2024", end=False) == "2024-01-01"
    assert parse_day("2024", end=True) == "2024-12-31"
    assert parse_day("2024-02", end=True) == "2024-02-31"  # compared as text: still the end
    assert parse_day("2024-02-10", end=False) == "2024-02-10"
    for bad in ("2024-13", "yesterday", "2024-02-32", "24-01-01"):
        with pytest.raises(QueryError, match="not a date"):
            parse_day(bad, end=False)


def test_snippet_highlights_the_words_as_written(collection: Path) -> None:
    with SearchIndex(collection) as index:
        index.update()
        hit = index.search(Query("huyen uy lap vo")).hits[1]
        item = read_line(index.items_path, hit.line_offset, hit.line_length)
    parts = snippet(item, Query("huyen uy lap vo"))
    assert [text for text, marked in parts if marked] == ["huyện", "ủy", "huyện", "ủy", "Lấp", "Vò"]
    assert "".join(text for text, _ in parts) == item["paragraphs"][0]


@pytest.mark.parametrize(
    "module", ["archive.search", "archive.lookup", "reading_room.app", "reading_room.server"]
)
def test_the_reading_room_never_imports_scrapy(module: str) -> None:
    # A crawl's end hook and `serve` alike must stay light: no Scrapy, no Twisted.
    code = f"import sys, {module}; sys.exit('scrapy' in sys.modules or 'twisted' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_version_arriving_after_a_newer_one_is_kept_but_not_searched(collection: Path) -> None:
    _write(collection, _item("k2", "Phường An Hoà tổng kết", "Đã sửa.", version=3))
    _write(collection, _item("k2", "Phường An Hoà sơ kết", "Bản cũ.", version=2))
    assert _keys(collection, "tong ket") == ["k2"]
    assert _keys(collection, "so ket") == []
    with SearchIndex(collection) as index:
        assert [version for version, _, _ in index.versions("k2")] == [1, 2, 3]
        assert index.search(Query("an hoa")).hits[0].version == 3


def test_two_updaters_at_once_index_each_line_once(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crawl's update after its run and the reading room's may run together: the second
    reads how far the index has got only once the first has committed."""
    assert update_search_index(collection) == 4
    _write(collection, _item("k5", "Lễ giao nhận quân", "Xã Tân Mỹ."))
    first_reading, second_read = threading.Event(), threading.Event()
    complete_lines = search_module._complete_lines

    def paused(items: Any, offset: int) -> Any:
        if threading.current_thread().name == "first":
            first_reading.set()
            # Give the second updater the chance to read the offset the first works from.
            second_read.wait(timeout=1.0)
        return complete_lines(items, offset)

    monkeypatch.setattr(search_module, "_complete_lines", paused)
    added: dict[str, int] = {}

    def first() -> None:
        with SearchIndex(collection) as index:
            added["first"] = index.update()

    with SearchIndex(collection) as second:
        resume_offset = second._resume_offset

        def reading(items: Any) -> int:
            offset = resume_offset(items)
            second_read.set()
            return offset

        second._resume_offset = reading  # type: ignore[method-assign]
        thread = threading.Thread(target=first, name="first")
        thread.start()
        assert first_reading.wait(timeout=60)
        added["second"] = second.update()
        thread.join()
    assert added == {"first": 1, "second": 0}
    with SearchIndex(collection) as index:
        assert [version for version, _, _ in index.versions("k5")] == [1]
