"""VNI pages (Vietnamese in the VNI-Windows fonts: an ASCII letter, then Latin-1 bytes the fonts
draw as its marks) are converted to Unicode NFC, as TCVN3 pages are; a page of Western Latin-1
text is never "converted", whatever fonts it names."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from crawler.parsers.legacy import decode_vni
from crawler.parsers.page import Page
from tests.vietnamese import vietnamese_letters, vni

VNI_PAGE = Path(__file__).parent / "data" / "encoding" / "vni-dnn2004.html"
CONVERTED = "text in the VNI font encoding, converted to Unicode"
PARAGRAPH = (
    "Sáng ngày 11/4/2024, Ủy ban nhân dân tỉnh Đồng Tháp tổ chức Hội nghị công bố Chỉ số cải "
    "cách hành chính năm 2023 của các sở, ban, ngành tỉnh và UBND các huyện, thành phố. Ông "
    "Phạm Thiện Nghĩa, Chủ tịch UBND tỉnh, phát biểu chỉ đạo: những kết quả đạt được rất đáng "
    "ghi nhận, song vẫn còn hạn chế cần khắc phục; HĐND tỉnh sẽ giám sát việc thực hiện. "
    "ĐẢNG CỘNG SẢN VIỆT NAM QUANG VINH MUÔN NĂM! Lưu ý: hồ sơ nộp trước ngày 15 tháng Mười."
)


def _page(text: bytes, header: str = "text/html") -> Page:
    body = b'<html><body><p><font face="VNI-Times">' + text + b"</font></p></body></html>"
    return Page("http://x/", body, {"content-type": header})


def test_every_vietnamese_letter_round_trips() -> None:
    letters = vietnamese_letters()
    spelled = {vni(letter) for letter in letters}
    assert len(spelled) == 134  # no two letters share a spelling
    for letter in letters:
        # In a line of Vietnamese: a lone single-byte letter ("í") is not evidence of VNI.
        line = f"Cộng hòa xã hội chủ nghĩa Việt Nam: x{letter}, {letter}a"
        assert decode_vni(vni(line)) == line, letter
    assert decode_vni(vni(" ".join(letters))) == " ".join(letters)


def test_a_real_paragraph_round_trips_as_nfc() -> None:
    page = _page(vni(PARAGRAPH), "text/html; charset=ISO-8859-1")
    text = page.tree.findtext(".//font")
    assert text == PARAGRAPH
    assert unicodedata.is_normalized("NFC", text)
    assert (page.charset, page.encoding_note) == (
        "VNI",
        CONVERTED + "; HTTP header says iso-8859-1; read as VNI",
    )


def test_a_vni_page_of_the_2004_portal_is_converted() -> None:
    page = Page("http://x/", VNI_PAGE.read_bytes(), {"content-type": "text/html"})
    fonts = [font.xpath("string()") for font in page.tree.iter("font")]
    assert fonts == [
        "Thông báo lịch tiếp công dân tháng 9 năm 2004",
        "Ngày đăng: 28/08/2004",
        "Chủ tịch Ủy ban nhân dân huyện tiếp công dân vào sáng thứ Ba hàng tuần tại Phòng "
        "tiếp dân của huyện.",
        "Công dân đến liên hệ mang theo giấy tờ tùy thân và các tài liệu có liên quan.",
        "Văn phòng HĐND và UBND huyện",
    ]
    assert (page.charset, page.encoding_note) == ("VNI", CONVERTED)


WESTERN = [
    # French and German: marks after consonants, which VNI never writes.
    "Les élèves ont présenté leurs travaux à la mairie. Der Bürgermeister grüßt die Gäste.",
    # Portuguese: "saúde" spells ẳ in VNI, but most high bytes are in no VNI spelling.
    "A saúde pública é uma questão de saúde.",
    # Spanish: ó and ñ are VNI letters on their own (ĩ, đ); VNI's letter-and-mark pairs, which
    # every Vietnamese sentence has, are missing.
    "Información del año: el señor Muñoz.",
]


@pytest.mark.parametrize("text", WESTERN)
def test_western_text_in_a_vni_font_is_kept_as_read(text: str) -> None:
    page = _page(text.encode("windows-1252"), "text/html; charset=windows-1252")
    assert page.tree.findtext(".//font") == text
    assert page.encoding_note is not None and "(not converted)" in page.encoding_note
    assert page.charset != "VNI"


@pytest.mark.parametrize("text", WESTERN)
def test_western_text_without_vni_fonts_is_read_as_declared(text: str) -> None:
    body = f"<html><body><p>{text}</p></body></html>".encode("windows-1252")
    page = Page("http://x/", body, {"content-type": "text/html; charset=windows-1252"})
    assert (page.charset, page.encoding_note) == ("windows-1252", None)
    assert page.tree.findtext(".//p") == text
