"""What changed between the versions of an article, paragraph by paragraph."""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass
from typing import Any


@dataclass
class Change:
    """One run of the newer version against the older: kept, removed, added."""

    kind: str
    """``same``, ``removed`` or ``added``."""
    blocks: list[str]


@dataclass
class VersionChanges:
    older: int
    newer: int
    fetched_at: str | None
    title: tuple[str, str] | None
    """(old title, new title) when the title changed."""
    changes: list[Change]


def _blocks(item: dict[str, Any]) -> list[str]:
    summary = item.get("summary")
    texts = [summary] if isinstance(summary, str) and summary else []
    texts += [p for p in item.get("paragraphs") or [] if isinstance(p, str)]
    texts += [f"[{c}]" for c in item.get("captions") or [] if isinstance(c, str)]
    return texts


def compare(older: list[str], newer: list[str]) -> list[Change]:
    """The paragraphs kept, removed and added from ``older`` to ``newer``, in order."""
    changes: list[Change] = []
    matcher = difflib.SequenceMatcher(a=older, b=newer, autojunk=False)
    for op, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if op == "equal":
            changes.append(Change("same", newer[new_start:new_end]))
            continue
        if old_end > old_start:
            changes.append(Change("removed", older[old_start:old_end]))
        if new_end > new_start:
            changes.append(Change("added", newer[new_start:new_end]))
    return changes


def version_changes(versions: list[dict[str, Any]]) -> list[VersionChanges]:
    """For each version after the first, what changed since the one before it."""
    result = []
    for older, newer in itertools.pairwise(versions):
        titles = (str(older.get("title") or ""), str(newer.get("title") or ""))
        result.append(
            VersionChanges(
                older=int(older.get("version") or 0),
                newer=int(newer.get("version") or 0),
                fetched_at=newer.get("fetched_at"),
                title=titles if titles[0] != titles[1] else None,
                changes=compare(_blocks(older), _blocks(newer)),
            )
        )
    return result
