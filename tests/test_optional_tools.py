"""An optional tool that is missing fails the test in CI and skips it elsewhere, never silently."""

from __future__ import annotations

import pytest

from tests.conftest import require_tool

MISSING = "portal-archiver-no-such-tool"


def test_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"{MISSING} is not installed.*CI"):
        require_tool(MISSING)


@pytest.mark.parametrize("value", ["", "false", "0"])
def test_missing_tool_skips_outside_ci(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} is not installed"):
        require_tool(MISSING)
    assert f"skipping: {MISSING} is not installed" in capsys.readouterr().err


def test_found_tool_is_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert require_tool("python3").endswith("python3")
