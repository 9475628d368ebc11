"""Listings of every generation (tests/data/generations/x*): entries with their dates and the
section, so that archived listings date and file the articles they link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.parsers.listing import ListingEntry, parse_listing
from crawler.parsers.page import Page

DATA = Path(__file__).parent / "data" / "generations"
DNN = "http://www.thanhbinh.dongthap.gov.vn/Default.aspx?ArticleId={}&ctl=Detail&mid=385&tabid=63"
NEW = "https://dongthap.gov.vn/tin-tuc/chi-tiet?id={}"
SP = "https://lapvo.dongthap.gov.vn/Pages/tin-tuc-su-kien.aspx?ItemID={}"
HLV = "https://lapvo.dongthap.gov.vn/web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/{}?plidlayout=5101"

EXPECTED = {
    "x07-sp2013-listing": (
        "Tin tức sự kiện",
        [
            ListingEntry(
                SP.format(835569),
                "Thông báo tuyển dụng viên chức giáo dục huyện Lấp Vò năm 2023",
                "2023-09-05T07:45:00+07:00",
            ),
            ListingEntry(
                SP.format(835501),
                "Lấp Vò ra quân chiến dịch tình nguyện hè năm 2023",
                "2023-08-28T15:10:00+07:00",
            ),
            # The side box's notice is no entry of this listing.
            ListingEntry(SP.format(835477), "Hội nghị sơ kết 6 tháng đầu năm 2023", "2023-07-20"),
        ],
    ),
    "x04-dnn2008-listing": (
        "Kinh tế",
        [
            ListingEntry(
                DNN.format(1207),
                "Thanh Bình: Nông dân trúng mùa lúa Hè Thu nhờ áp dụng “3 giảm, 3 tăng”",
                "2008-08-12T08:15:00+07:00",
            ),
            ListingEntry(
                DNN.format(1199), "Xã Tân Mỹ ra mắt tổ hợp tác sản xuất lúa giống", "2008-08-05"
            ),
            ListingEntry(
                DNN.format(1188), "Khuyến cáo phòng trừ bệnh vàng lùn trên lúa", "2008-07-28"
            ),
        ],
    ),
    "x05-postmerger-listing": (
        "Tin tức",
        [
            ListingEntry(
                NEW.format(12017),
                "Khởi công xây dựng cầu Cao Lãnh 2 nối phường Mỹ Trà với xã Tân Thuận",
                "2025-09-03T14:05:00+07:00",
            ),
            ListingEntry(
                NEW.format(12001),
                "Đồng Tháp tổ chức kỳ họp chuyên đề HĐND tỉnh",
                "2025-09-01T09:30:00+07:00",
            ),
            ListingEntry(
                NEW.format(11987),
                "Sơ kết hai tháng vận hành chính quyền địa phương hai cấp",
                "2025-08-29T16:00:00+07:00",
            ),
        ],
    ),
}


def _listing(name: str) -> tuple[str | None, list[ListingEntry]]:
    answer = json.loads((DATA / f"{name}.json").read_text("utf-8"))
    body = (DATA / f"{name}.html").read_bytes()
    listing = parse_listing(Page(answer["url"], body, answer.get("headers", {})))
    return listing.section, listing.entries


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_listing_of_each_generation(name: str) -> None:
    assert _listing(name) == EXPECTED[name]


def test_replica_listing_entries_carry_their_dates() -> None:
    section, entries = _listing("x02-lr73-listing")
    assert section == "Tin tức"
    assert entries[:2] == [
        ListingEntry(
            HLV.format(24950000),
            "Phường An Hòa phát động công tác phòng, chống dịch bệnh trên cây trồng năm 2025",
            "2025-06-27",
        ),
        ListingEntry(
            HLV.format(24949946),
            "Xã Định Yên sơ kết chiến dịch Thanh niên tình nguyện hè năm 2025",
            "2025-06-27",
        ),
    ]
