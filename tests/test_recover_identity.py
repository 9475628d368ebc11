"""Archived redirects as evidence of identity: an article URL the site redirected to another
article URL of the same site is one article with it (one history), and nothing else is."""

from __future__ import annotations

from pathlib import Path

from crawler.recover.cdx import Capture
from crawler.recover.identity import Redirect, resolve
from crawler.recover.plan import Found, make_plan, merge_histories
from crawler.recover.state import CaptureRead, RecoveryLog
from crawler.urls import Scope

H = "http://a.dongthap.gov.vn"
SCOPES = [Scope.from_url(H), Scope.from_url("http://b.dongthap.gov.vn")]
DNN = f"{H}/Default.aspx?tabid=61&ArticleId=1207"
DNN_KEY = "a.dongthap.gov.vn#dnn:1207"
LIFERAY = f"{H}/tin-tuc/-/asset_publisher/Xy7/content/id/4411209"
LIFERAY_KEY = "a.dongthap.gov.vn#4411209"
WP_QUERY = f"{H}/?p=77"
WP_LINK = f"{H}/2019/01/25/hoi-thi/"


def test_a_redirect_between_two_article_urls_makes_one_history() -> None:
    identities = resolve([Redirect(DNN, LIFERAY, "20200101000000")], SCOPES)
    assert identities.key(DNN) == identities.key(LIFERAY) == LIFERAY_KEY
    assert identities.key(f"{H}/Default.aspx?tabid=63&ArticleId=1207") == LIFERAY_KEY
    assert identities.members(LIFERAY_KEY) == {DNN_KEY, LIFERAY_KEY}
    (merge,) = identities.merges
    assert (merge.url, merge.target, merge.key) == (DNN, LIFERAY, LIFERAY_KEY)
    assert identities.key(WP_QUERY) == "a.dongthap.gov.vn#wp:77"  # untouched


def test_chains_end_at_the_last_address() -> None:
    identities = resolve(
        [Redirect(WP_QUERY, WP_LINK, "20190201000000"), Redirect(DNN, WP_QUERY, "20180101000000")],
        SCOPES,
    )
    assert identities.key(DNN) == identities.key(WP_QUERY) == identities.key(WP_LINK)
    assert identities.key(DNN) == "a.dongthap.gov.vn#wp:/2019/01/25/hoi-thi"


def test_a_loop_is_one_history_keyed_by_the_latest_target() -> None:
    identities = resolve(
        [Redirect(DNN, LIFERAY, "20200101000000"), Redirect(LIFERAY, DNN, "20210101000000")],
        SCOPES,
    )
    assert identities.key(LIFERAY) == identities.key(DNN) == DNN_KEY
    # The same evidence in another order gives the same answer.
    again = resolve(
        [Redirect(LIFERAY, DNN, "20210101000000"), Redirect(DNN, LIFERAY, "20200101000000")],
        SCOPES,
    )
    assert again.key(LIFERAY) == DNN_KEY


def test_redirects_to_home_listings_logins_or_other_sites_are_no_evidence() -> None:
    redirects = [
        Redirect(DNN, f"{H}/", "20200101000000"),
        Redirect(DNN, f"{H}/Default.aspx?tabid=63", "20200101000000"),
        Redirect(DNN, "https://sso.example/login?next=/x", "20200101000000"),
        Redirect(DNN, "http://b.dongthap.gov.vn/?p=1", "20200101000000"),
        Redirect(DNN, DNN.replace("http:", "https:"), "20200101000000"),  # the same article
        Redirect(f"{H}/Default.aspx?tabid=63", LIFERAY, "20200101000000"),  # from a listing
    ]
    identities = resolve(redirects, SCOPES)
    assert identities.key(DNN) == DNN_KEY and identities.merges == []
    assert identities.ignored == {
        "not-an-article": 3, "other-site": 1, "same-article": 1, "not-from-an-article": 1,
    }  # fmt: skip


def test_a_catch_all_target_merges_nothing() -> None:
    """A portal that sends every dead article to one page does not make them one article."""
    dead = [f"{H}/Default.aspx?tabid=61&ArticleId={n}" for n in range(1, 8)]
    redirects = [Redirect(url, LIFERAY, "20200101000000") for url in dead]
    redirects.append(Redirect(WP_QUERY, WP_LINK, "20200101000000"))
    identities = resolve(redirects, SCOPES)
    assert {identities.key(url) for url in dead} == {
        f"a.dongthap.gov.vn#dnn:{n}" for n in range(1, 8)
    }
    assert identities.key(LIFERAY) == LIFERAY_KEY
    assert identities.ignored == {"catch-all": 7}
    assert identities.key(WP_QUERY) == identities.key(WP_LINK)


def test_relative_and_repeated_redirects() -> None:
    redirects = [
        Redirect(DNN, "/tin-tuc/-/asset_publisher/Xy7/content/id/4411209", "20200101000000"),
        Redirect(DNN, LIFERAY, "20210101000000"),
    ]
    identities = resolve(redirects, SCOPES)
    assert identities.key(DNN) == LIFERAY_KEY
    assert len(identities.merges) == 2  # each capture is evidence the report names


def _found(url: str, stamp: str, status: str = "200", digest: str = "D") -> Found:
    return Found("ia", Capture(url, stamp, status, "text/html", digest))


def test_the_plan_reads_article_redirects_and_merges_their_histories() -> None:
    plan = make_plan(
        [
            _found(DNN, "20080101000000", digest="A"),
            _found(DNN, "20120101000000", digest="B"),
            _found(DNN, "20200101000000", status="301"),
            _found(DNN, "20200201000000", status="302"),  # read by an earlier run
            _found(f"{H}/Default.aspx?tabid=63", "20200101000000", status="302"),  # a listing
            _found(LIFERAY, "20200101000500", digest="C"),
            _found(LIFERAY, "20230101000000", digest="B"),  # the 2012 text, as it moved
        ],
        [SCOPES[0]],
        done={("ia", DNN, "20200201000000")},
        known_digests=lambda key: set(),
    )
    assert [f.capture.timestamp for f in plan.redirects] == ["20200101000000"]
    assert sorted(plan.articles) == sorted([DNN_KEY, LIFERAY_KEY])
    identities = resolve([Redirect(DNN, LIFERAY, "20200101000000")], SCOPES)
    merge_histories(plan, identities, known_digests=lambda key: {"A"} if key == DNN_KEY else set())
    assert list(plan.articles) == [LIFERAY_KEY]
    assert [f.capture.digest for f in plan.articles[LIFERAY_KEY]] == ["B", "C"]
    assert plan.quirks["duplicate"] == 2 and plan.quirks["redirect"] == 3  # A known, B again


def test_where_redirects_led_is_kept_for_later_runs(tmp_path: Path) -> None:
    log = RecoveryLog(tmp_path / "recover.sqlite")
    log.add(CaptureRead("ia", DNN, "20200101000000", DNN_KEY, "X", "redirect", LIFERAY))
    log.add(CaptureRead("ia", LIFERAY, "20200101000500", LIFERAY_KEY, "Y", "http-200"))
    assert log.redirects() == [Redirect(DNN, LIFERAY, "20200101000000")]  # noted, not saved
    log.close()
    assert RecoveryLog(tmp_path / "recover.sqlite").redirects() == []  # a kill loses the note
    log = RecoveryLog(tmp_path / "recover.sqlite")
    log.add(CaptureRead("ia", DNN, "20200101000000", DNN_KEY, "X", "redirect", LIFERAY))
    log.save()
    log.close()
    again = RecoveryLog(tmp_path / "recover.sqlite")
    assert again.redirects() == [Redirect(DNN, LIFERAY, "20200101000000")]
    assert ("ia", DNN, "20200101000000") in again.done()
    again.close()


def test_a_redirect_to_an_address_no_browser_could_follow_is_no_evidence() -> None:
    """Found by fuzzing the parsers' link handling: urllib raises for an unclosed IPv6 host or
    a port that is no number, and an archived ``Location`` can be anything."""
    redirects = [
        Redirect(DNN, "http://[::1/x", "20200101000000"),
        Redirect(DNN, "http://a.dongthap.gov.vn:port/x", "20200101000000"),
        Redirect(DNN, LIFERAY, "20200101000000"),
    ]
    identities = resolve(redirects, SCOPES)
    assert identities.key(DNN) == identities.key(LIFERAY)
    assert identities.ignored == {"unusable-target": 2}
