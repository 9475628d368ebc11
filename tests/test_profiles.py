from pathlib import Path

import pytest

from crawler.profiles import BUILTIN, SiteProfile, load_profiles, resolve_target
from crawler.urls import Scope

PORTAL_SITES = [
    "lapvo",
    "sadec",
    "tpcaolanh",
    "caolanh",
    "chauthanh",
    "hongngu",
    "laivung",
    "tamnong",
    "tanhong",
    "thanhbinh",
    "thapmuoi",
    "txhongngu",
    "snnptnt",
    "vksnd",
    "dongthap",
]


def test_every_portal_site_has_a_builtin_profile() -> None:
    assert sorted(BUILTIN) == sorted(PORTAL_SITES)
    assert all(profile.host.endswith("dongthap.gov.vn") for profile in BUILTIN.values())


def test_builtin_profile_with_site_code() -> None:
    lapvo = BUILTIN["lapvo"]
    assert lapvo.start_url == "https://lapvo.dongthap.gov.vn/web/hlv"
    assert lapvo.scope == Scope("lapvo.dongthap.gov.vn", "/web/hlv")
    assert lapvo.listing_urls() == [
        "https://lapvo.dongthap.gov.vn/web/hlv/tin-tuc",
        "https://lapvo.dongthap.gov.vn/web/hlv/thong-bao",
    ]


def test_builtin_profile_without_site_code_covers_the_host() -> None:
    province = BUILTIN["dongthap"]
    assert province.start_url == "https://dongthap.gov.vn"
    assert province.scope == Scope("dongthap.gov.vn", None)


def test_load_profiles_without_file_is_builtin() -> None:
    assert load_profiles(None) == BUILTIN


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_overrides_fields_of_a_builtin(tmp_path: Path) -> None:
    path = _write(tmp_path, '[profiles.caolanh]\nsite_code = "hcl"\nlistings = ["/tin-tuc"]\n')
    caolanh = load_profiles(path)["caolanh"]
    assert caolanh.host == "caolanh.dongthap.gov.vn"
    assert caolanh.start_url == "https://caolanh.dongthap.gov.vn/web/hcl"
    assert caolanh.listings == ("/tin-tuc",)


def test_file_adds_a_profile_from_a_start_url(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[profiles.replica]\nstart_url = "http://127.0.0.1:8123/web/tpsd"\n'
        'listings = ["/tin-tuc?plidlayout=5210", "http://127.0.0.1:8123/web/tpsd/thong-bao"]\n',
    )
    replica = load_profiles(path)["replica"]
    assert (replica.host, replica.site_code) == ("127.0.0.1:8123", "tpsd")
    assert replica.listing_urls() == [
        "http://127.0.0.1:8123/web/tpsd/tin-tuc?plidlayout=5210",
        "http://127.0.0.1:8123/web/tpsd/thong-bao",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[profiles.x]\nsite_code = "a"\n', "needs a host"),
        ('[profiles.lapvo]\nhots = "a"\n', "unknown field"),
        # Found by a review: each was a traceback, junk requests, or a lookup of host "http".
        ("profiles = 5\n", "profiles must be tables"),
        ('[profiles]\nx = "http://127.0.0.1/"\n', "profile 'x' must be a table"),
        ("[profiles.x]\nstart_url = 5\n", "start_url must be an http\\(s\\) URL"),
        ('[profiles.x]\nstart_url = "ftp://127.0.0.1/x"\n', "start_url must be an http\\(s\\) URL"),
        ('[profiles.x]\nhost = "127.0.0.1:99999"\n', "host must be a host name"),
        ('[profiles.x]\nhost = "http://127.0.0.1:8123/web/x"\n', "host must be a host name"),
        ('[profiles.x]\nhost = ""\n', "host must be a host name"),
        ('[profiles.x]\nhost = "127.0.0.1"\nlistings = "/tin-tuc"\n', "listings must be a list"),
        ('[profiles.x]\nhost = "127.0.0.1"\nlistings = [1, 2]\n', "listings must be a list"),
        ('[profiles.x]\nhost = "127.0.0.1"\nsite_code = "../../etc"\n', "site_code must be"),
        ('[profiles.x]\nhost = "127.0.0.1"\nsite_code = 3\n', "site_code must be"),
    ],
)
def test_bad_profile_tables_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_profiles(_write(tmp_path, text))


def test_resolve_target_by_name_and_url() -> None:
    assert resolve_target("sadec", BUILTIN) is BUILTIN["sadec"]
    listing = "http://127.0.0.1:8123/web/hlv/tin-tuc?plidlayout=5101"
    profile = resolve_target(f" {listing} ", BUILTIN)
    assert profile == SiteProfile(
        name="127.0.0.1:8123/web/hlv", host="127.0.0.1:8123", site_code="hlv", start_url=listing
    )
    assert profile.scope == Scope("127.0.0.1:8123", "/web/hlv")


@pytest.mark.parametrize("target", ["lapvoo", "lapvo.dongthap.gov.vn", "ftp://x/y"])
def test_resolve_target_rejects_unknown_targets(target: str) -> None:
    with pytest.raises(ValueError, match=r"unknown target .*lapvo"):
        resolve_target(target, BUILTIN)
