"""Pages whose legacy font text no converter reads (VNI) are named in the run's report.

Issue 17: TCVN3 pages are converted to Unicode; a VNI page keeps its text as read, and the
archivist must be told which pages those are, not only in each item's ``encoding_note``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import LOOPBACK_SETTINGS, run_cli
from tests.scripted_server import Reply, scripted_server

VNI_PAGE = (Path(__file__).parent / "data" / "encoding" / "vni-dnn2004.html").read_bytes()
TCVN3_PAGE = (
    Path(__file__).parent / "data" / "generations" / "g09-dnn2004-tcvn3.html"
).read_bytes()


def test_a_vni_page_is_named_in_the_report_and_the_summary(tmp_path: Path) -> None:
    replies = {
        "/tintuc_vni.asp": [Reply(200, VNI_PAGE, content_type="text/html")],
        "/tintuc_tcvn3.asp": [Reply(200, TCVN3_PAGE, content_type="text/html")],
    }
    with scripted_server(replies) as server:
        vni, tcvn3 = server.url("/tintuc_vni.asp"), server.url("/tintuc_tcvn3.asp")
        done = run_cli("fetch", vni, tcvn3, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    note = "text in the VNI font encoding, kept as read (not converted)"
    assert report["encoding_not_converted"] == [{"url": vni, "note": note}]
    assert "1 article(s) in a legacy font encoding kept as read, not converted:" in done.stdout
    assert f"  {vni}: {note}" in done.stdout
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert {item["url"]: item["encoding_note"] for item in items} == {
        vni: note,
        tcvn3: "text in the TCVN3 font encoding, converted to Unicode",
    }
