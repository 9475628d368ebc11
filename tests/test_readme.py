"""The README documents every project setting and every subcommand, so it cannot drift silently
from the code: a new ``ARCHIVE_*``/``PORTAL_*`` setting or subcommand fails here until the
README's Settings table or Usage section names it."""

from __future__ import annotations

import re
from pathlib import Path

from crawler import settings as project
from crawler.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the README's ``## {title}`` section, up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_every_project_setting_is_in_the_settings_table() -> None:
    ours = {name for name in dir(project) if name.startswith(("ARCHIVE_", "PORTAL_"))}
    rows = {
        name
        for line in section("Settings").splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    }
    assert sorted(ours - rows) == [], "settings missing from README's Settings table"
    assert sorted(name for name in rows - ours if name.startswith(("ARCHIVE_", "PORTAL_"))) == []


def test_every_subcommand_has_its_usage_section() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]  # argparse: no public API
    usage = section("Usage")
    headings = " ".join(re.findall(r"^### (.*)$", usage, re.M))
    missing = [name for name in commands.choices if not re.search(rf"\b{name}\b", headings)]
    assert missing == [], "subcommands without a ### section under README's Usage"
