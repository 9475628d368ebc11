"""Extraction quality on the specimen pages: our parser against trafilatura.

Scores per extractor, over ``replica/data/*.html`` with their ``.json`` answers:

- title and byline accuracy: share of pages where the field equals the answer exactly
  (after NFC and white-space folding; a missing byline must be reported as missing);
- caption accuracy: micro F1 of the captions returned as captions against the answers'
  (trafilatura has no caption field, so it returns none);
- body token F1: word tokens of summary + paragraphs against the answer's summary +
  paragraphs (the lead counts as body here because trafilatura cannot tell it apart),
  averaged over pages;
- leaks: answer captions and bylines found inside the returned body text.

Run alone: ``python bench/quality.py``.
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import replica

# The replica serves them; they carry the answers a perfect extractor gives.
SPECIMENS = Path(replica.__file__).parent / "data"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Specimen:
    name: str
    url: str
    html: bytes
    answer: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Extracted:
    """What one extractor returned for one page, reduced to the scored fields."""

    title: str | None
    byline: str | None
    captions: list[str]
    body: list[str]
    """Body blocks, the lead included."""


@dataclass(frozen=True, slots=True)
class PageScore:
    title_ok: bool
    byline_ok: bool
    captions_expected: int
    captions_returned: int
    captions_matched: int
    body_f1: float
    leaks: int


def fold(text: str | None) -> str | None:
    """NFC with runs of white space folded to one space; None for empty text."""
    if text is None:
        return None
    folded = " ".join(unicodedata.normalize("NFC", text).split())
    return folded or None


def load_specimens(directory: Path = SPECIMENS) -> list[Specimen]:
    specimens = []
    for answer_path in sorted(directory.glob("*.json")):
        answer = json.loads(answer_path.read_text(encoding="utf-8"))
        html = answer_path.with_suffix(".html").read_bytes()
        specimens.append(Specimen(answer_path.stem, answer["url"], html, answer))
    return specimens


def ours(specimen: Specimen) -> Extracted:
    from crawler.parsers.article import parse_article
    from crawler.parsers.page import Page

    page = Page(specimen.url, specimen.html, {"content-type": "text/html; charset=utf-8"})
    content = parse_article(page).content
    if content is None:
        return Extracted(None, None, [], [])
    lead = [content.summary] if content.summary else []
    return Extracted(content.title, content.byline, content.captions, lead + content.paragraphs)


def trafilatura_json(html: bytes, url: str) -> dict[str, Any] | None:
    """trafilatura with its metadata, as the benchmark times it."""
    import trafilatura

    result = trafilatura.extract(
        html, url=url, output_format="json", with_metadata=True, include_comments=False
    )
    return json.loads(result) if result else None


def trafilatura(specimen: Specimen) -> Extracted:
    result = trafilatura_json(specimen.html, specimen.url)
    if result is None:
        return Extracted(None, None, [], [])
    body = [line for line in (result.get("text") or "").split("\n") if line.strip()]
    return Extracted(result.get("title"), result.get("author"), [], body)


def tokens(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased word tokens of all texts, as a multiset."""
    return Counter(word for text in texts for word in _WORD.findall((fold(text) or "").lower()))


def token_f1(got: Counter[str], expected: Counter[str]) -> float:
    if not got and not expected:
        return 1.0
    common = sum((got & expected).values())
    if not common:
        return 0.0
    precision = common / sum(got.values())
    recall = common / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


def _leaks(answer: dict[str, Any], body: list[str]) -> int:
    text = "\n".join(fold(block) or "" for block in body)
    shown = [*answer["captions"], *([answer["byline"]] if answer["byline"] else [])]
    return sum(1 for item in shown if (fold(item) or "") in text)


def score_page(got: Extracted, answer: dict[str, Any]) -> PageScore:
    expected_captions = Counter(fold(c) for c in answer["captions"])
    got_captions = Counter(fold(c) for c in got.captions)
    expected_body = ([answer["summary"]] if answer["summary"] else []) + answer["paragraphs"]
    return PageScore(
        title_ok=fold(got.title) == fold(answer["title"]),
        byline_ok=fold(got.byline) == fold(answer["byline"]),
        captions_expected=sum(expected_captions.values()),
        captions_returned=sum(got_captions.values()),
        captions_matched=sum((expected_captions & got_captions).values()),
        body_f1=token_f1(tokens(got.body), tokens(expected_body)),
        leaks=_leaks(answer, got.body),
    )


def _f1(matched: int, returned: int, expected: int) -> float:
    if not returned and not expected:
        return 1.0
    if not matched:
        return 0.0
    precision, recall = matched / returned, matched / expected
    return 2 * precision * recall / (precision + recall)


def summarise(scores: list[PageScore]) -> dict[str, Any]:
    pages = len(scores)
    matched = sum(s.captions_matched for s in scores)
    returned = sum(s.captions_returned for s in scores)
    expected = sum(s.captions_expected for s in scores)
    return {
        "pages": pages,
        "title_accuracy": sum(s.title_ok for s in scores) / pages,
        "byline_accuracy": sum(s.byline_ok for s in scores) / pages,
        "caption_accuracy": _f1(matched, returned, expected),
        "caption_precision": matched / returned if returned else None,
        "caption_recall": matched / expected if expected else None,
        "body_token_f1": statistics.fmean(s.body_f1 for s in scores),
        "leaks": sum(s.leaks for s in scores),
        "pages_with_leaks": sum(1 for s in scores if s.leaks),
    }


def evaluate(
    extractor: Callable[[Specimen], Extracted], specimens: list[Specimen]
) -> dict[str, Any]:
    scores = [score_page(extractor(spec), spec.answer) for spec in specimens]
    summary = summarise(scores)
    summary["per_page"] = {
        spec.name: {"title_ok": s.title_ok, "byline_ok": s.byline_ok, "body_f1": s.body_f1}
        for spec, s in zip(specimens, scores, strict=True)
    }
    return summary


def trafilatura_available() -> bool:
    try:
        import trafilatura  # noqa: F401
    except ImportError:
        return False
    return True


def run_quality(specimens: list[Specimen] | None = None) -> dict[str, dict[str, Any]]:
    """Scores of each available extractor, by name."""
    specimens = specimens if specimens is not None else load_specimens()
    results = {"ours": evaluate(ours, specimens)}
    if trafilatura_available():
        results["trafilatura"] = evaluate(trafilatura, specimens)
    return results


def format_table(results: dict[str, dict[str, Any]]) -> str:
    columns = [
        ("title", "title_accuracy"),
        ("byline", "byline_accuracy"),
        ("caption", "caption_accuracy"),
        ("body F1", "body_token_f1"),
    ]
    header = f"{'extractor':<12}" + "".join(f"{name:>9}" for name, _ in columns) + "   leaks"
    rows = [header]
    for name, summary in results.items():
        cells = "".join(f"{summary[key]:>9.2f}" for _, key in columns)
        leaks = f"{summary['leaks']} on {summary['pages_with_leaks']}/{summary['pages']} pages"
        rows.append(f"{name:<12}{cells}   {leaks}")
    return "\n".join(rows)


if __name__ == "__main__":
    print(format_table(run_quality()))
