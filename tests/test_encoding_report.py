"""Pages in legacy fonts whose text was kept as read are named in the run's report.

Issue 17: TCVN3 and VNI pages are converted to Unicode; a page in VNI fonts whose bytes do not
read as VNI keeps its text as read, and the archivist must be told which pages those are, not
only in each item's ``encoding_note``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import LOOPBACK_SETTINGS, run_cli
from tests.scripted_server import Reply, scripted_server

VNI_PAGE = (Path(__file__).parent / "data" / "encoding" / "vni-dnn2004.html").read_bytes()
# The VNI page with a paragraph of French in the same font: no longer VNI text throughout.
MIXED_PAGE = VNI_PAGE.replace(
    b"</td></tr>\n</table>",
    '<p><font face="VNI-Times">D\u00e9p\u00each\u00e9 \u00e0 P\u00e9k\u00edn: r\u00e9sum\u00e9 '
    "tr\u00e8s d\u00e9taill\u00e9, r\u00e9dig\u00e9 \u00e0 l'\u00e9t\u00e9.</font></p>"
    "</td></tr>\n</table>".encode("latin-1"),
)
TCVN3_PAGE = (
    Path(__file__).parent / "data" / "generations" / "g09-dnn2004-tcvn3.html"
).read_bytes()


def test_a_page_kept_as_read_is_named_in_the_report_and_the_summary(tmp_path: Path) -> None:
    replies = {
        "/tintuc_vni.asp": [Reply(200, VNI_PAGE, content_type="text/html")],
        "/tintuc_tcvn3.asp": [Reply(200, TCVN3_PAGE, content_type="text/html")],
        "/tintuc_mixed.asp": [Reply(200, MIXED_PAGE, content_type="text/html")],
    }
    with scripted_server(replies) as server:
        vni, tcvn3 = server.url("/tintuc_vni.asp"), server.url("/tintuc_tcvn3.asp")
        mixed = server.url("/tintuc_mixed.asp")
        done = run_cli("fetch", vni, tcvn3, mixed, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    note = "text in the VNI font encoding, kept as read (not converted)"
    assert report["encoding_not_converted"] == [{"url": mixed, "note": note}]
    assert "1 article(s) in a legacy font encoding kept as read, not converted:" in done.stdout
    assert f"  {mixed}: {note}" in done.stdout
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert {item["url"]: item["encoding_note"] for item in items} == {
        mixed: note,
        vni: "text in the VNI font encoding, converted to Unicode",
        tcvn3: "text in the TCVN3 font encoding, converted to Unicode",
    }
