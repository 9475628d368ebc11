"""Dates as the portals write them, rendered ISO 8601 in Vietnam time."""

from __future__ import annotations

import pytest

from crawler.parsers.dates import find_date, image_upload_time, is_date_line, is_update_label


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("16:30 30/06/2022", "2022-06-30T16:30:00+07:00"),
        ("30/06/2022", "2022-06-30"),
        ("Thứ năm, 30/06/2022 - 15:30", "2022-06-30T15:30:00+07:00"),
        ("Ngày đăng: 30/06/2022", "2022-06-30"),
        ("Ngày đăng 30/06/2022 | Lượt xem: 1.204", "2022-06-30"),
        ("Ngày đăng14/02/2022 09:05", "2022-02-14T09:05:00+07:00"),
        ("08:15 | 01/07/2025", "2025-07-01T08:15:00+07:00"),
        ("30-6-2022 15h30", "2022-06-30T15:30:00+07:00"),
        ("30.06.2022", "2022-06-30"),
        ("Ngày đăng: Thứ năm, 16 Tháng 8 2012 09:12", "2012-08-16T09:12:00+07:00"),
        ("ngày 5 tháng 6, 2022", "2022-06-05"),
        ("14/02/22", "2022-02-14"),
        ("03:30 PM 30/06/2022", "2022-06-30T15:30:00+07:00"),
        ("ngày 30 tháng 6 năm 2022", "2022-06-30"),
        ("2022-06-30T08:30:00Z", "2022-06-30T15:30:00+07:00"),
        ("2022-06-30T15:30:00+07:00", "2022-06-30T15:30:00+07:00"),
        ("2022-06-30 15:30", "2022-06-30T15:30:00+07:00"),
        # No zone is 99 hours off: the clock stands, read as the portal's own time.
        ("2022-06-30T15:30:00+99:99", "2022-06-30T15:30:00+07:00"),
        ("2022-06-30T15:30:00+05:75", "2022-06-30T15:30:00+07:00"),
    ],
)
def test_find_date(text: str, iso: str) -> None:
    found = find_date(text)
    assert found is not None and found.iso() == iso


@pytest.mark.parametrize("text", ["", "không có ngày", "31/02/2022", "99:99 45/13/2022", "2/2023"])
def test_find_date_rejects_non_dates(text: str) -> None:
    assert find_date(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "18:40 15/09/2021",
        "Thứ năm, 30/06/2022 - 15:30",
        "Ngày đăng: 20/12/2021",
        "(20/12/2021)",
        "Ngày đăng: Thứ năm, 16 Tháng 8 2012 09:12",
    ],
)
def test_date_lines(text: str) -> None:
    assert is_date_line(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hà Nội, 30/06/2022",
        "Sáng ngày 26/02/2024, tại Quảng trường trung tâm huyện",
        "Nông dân thu hoạch lúa",
    ],
)
def test_prose_with_dates_is_not_a_date_line(text: str) -> None:
    assert not is_date_line(text)


def test_update_label() -> None:
    assert is_update_label("Cập nhật: 01/07/2022")
    assert not is_update_label("Ngày đăng: 30/06/2022")


@pytest.mark.parametrize(
    ("url", "iso"),
    [
        ("/documents/481930/0/a.jpg/1f3f?t=1656574380000", "2022-06-30T14:33:00+07:00"),
        (
            "https://x.gov.vn/documents/1/0/b.jpg?imagePreview=1&t=1631698980000",
            "2021-09-15T16:43:00+07:00",
        ),
    ],
)
def test_image_upload_time(url: str, iso: str) -> None:
    found = image_upload_time(url)
    assert found is not None and found.iso() == iso


@pytest.mark.parametrize(
    "url", ["/a.jpg", "/a.jpg?t=abc", "/a.jpg?t=12", "/a.jpg?t=99999999999999999"]
)
def test_image_without_upload_time(url: str) -> None:
    assert image_upload_time(url) is None
