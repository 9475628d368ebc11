"""Specimen pages and the text pools generated articles are recombined from."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

DATA = resources.files("replica") / "data"

# Title parts in the portal's own register; combined they give thousands of plausible headlines.
_SUBJECTS = (
    "Huyện Lấp Vò",
    "Thành phố Sa Đéc",
    "UBND tỉnh",
    "Hội Nông dân huyện",
    "Xã Tân Mỹ",
    "Phường An Hòa",
    "Ban Thường vụ Huyện uỷ",
    "Ủy ban MTTQ Việt Nam huyện",
    "Huyện Đoàn",
    "Hội Liên hiệp Phụ nữ thành phố",
    "Xã Định Yên",
    "Thị trấn Lấp Vò",
)
_ACTIONS = ("tổ chức", "triển khai", "sơ kết", "tổng kết", "ra quân", "phát động", "kiểm tra")
_OBJECTS = (
    "Hội nghị sơ kết công tác 6 tháng đầu năm",
    "phong trào xây dựng nông thôn mới nâng cao",
    "công tác phòng, chống dịch bệnh trên cây trồng",
    "chương trình mỗi xã một sản phẩm (OCOP)",
    "Lễ giao nhận quân",
    "Hội thi tuyên truyền pháp luật",
    "chiến dịch Thanh niên tình nguyện hè",
    "công tác cải cách hành chính",
    "Tháng hành động vì môi trường",
    "công tác chăm lo Tết cho hộ nghèo",
    "mô hình sản xuất lúa chất lượng cao",
    "Ngày hội Đại đoàn kết toàn dân tộc",
)
_NOTICE_OBJECTS = (
    "tuyển dụng viên chức",
    "lịch tiếp công dân",
    "kết quả lựa chọn nhà thầu",
    "đấu giá quyền sử dụng đất",
    "tạm ngừng cung cấp điện",
    "lấy ý kiến dự thảo quy hoạch",
)
_NEWS_CATEGORIES = (
    "Tin tức",
    "Kinh tế",
    "Văn hóa - Xã hội",
    "Quốc phòng - An ninh",
    "Nông thôn mới",
    "Tin hoạt động",
)
_SLUGS = (
    "hoi-nghi",
    "nong-thon-moi",
    "ra-quan",
    "trao-qua",
    "lua-chat-luong",
    "le-hoi",
    "kiem-tra",
)
_ATTACHMENT_TITLES = (
    "Toàn văn thông báo",
    "Phụ lục kèm theo",
    "Mẫu đơn đăng ký",
    "Danh sách chi tiết",
    "Kế hoạch thực hiện",
)


@dataclass(frozen=True, slots=True)
class Specimen:
    """One stored article page and its answer sheet."""

    name: str
    """File stem: ``a01-dtp``."""
    theme: str
    url: str
    """Where the page lives on the real portal."""
    meta: dict


@dataclass(slots=True)
class Body:
    """The words and media of one generated article."""

    title: str
    category: str
    summary: str | None
    paragraphs: list[str]
    images: list[tuple[str, str]] = field(default_factory=list)
    """``(src, caption)`` pairs; ``src`` is site-relative as on the real portal."""
    byline: str | None = None
    attachments: list[tuple[str, str]] = field(default_factory=list)
    """``(src, title)`` pairs of attached PDFs."""


SERVED_THEMES = frozenset({"dtp", "dtp71"})
"""Themes of the Đồng Tháp portal; the Liferay 6.2 specimen's URL shapes are not served."""


@cache
def specimens() -> tuple[Specimen, ...]:
    """The specimens the replica serves (its portal's themes), in file order."""
    out = []
    for entry in sorted(DATA.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            meta = json.loads(entry.read_text(encoding="utf-8"))
            if meta["theme"] in SERVED_THEMES:
                out.append(Specimen(entry.name[:-5], meta["theme"], meta["url"], meta))
    return tuple(out)


@cache
def specimen_html(name: str) -> bytes:
    return (DATA / f"{name}.html").read_bytes()


@cache
def _pools() -> dict[str, tuple[str, ...]]:
    paragraphs: dict[str, None] = {}
    captions: dict[str, None] = {}
    summaries: dict[str, None] = {}
    bylines: dict[str, None] = {}
    for spec in specimens():
        meta = spec.meta
        paragraphs.update((p, None) for p in meta["paragraphs"] if len(p) >= 80)
        captions.update((c, None) for c in meta["captions"])
        if meta["summary"]:
            summaries[meta["summary"]] = None
        if meta["byline"]:
            bylines[meta["byline"]] = None
    return {
        "paragraphs": tuple(paragraphs),
        "captions": tuple(captions),
        "summaries": tuple(summaries),
        "bylines": tuple(bylines),
    }


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def title_for(rng: random.Random, notice: bool, year: int) -> str:
    if notice:
        number = rng.randrange(12, 480)
        return f"Thông báo số {number}/TB-UBND về {rng.choice(_NOTICE_OBJECTS)} năm {year}"
    subject, action, obj = rng.choice(_SUBJECTS), rng.choice(_ACTIONS), rng.choice(_OBJECTS)
    return f"{subject} {action} {obj} năm {year}"


def generate(asset_id: int, notice: bool, ts: int, group_id: int, edits: tuple[int, ...]) -> Body:
    """The article with this asset id: a pure function of its arguments."""
    rng = random.Random(asset_id)
    pools = _pools()
    year = dt.datetime.fromtimestamp(ts, dt.UTC).year
    title = title_for(rng, notice, year)
    category = "Thông báo" if notice else rng.choice(_NEWS_CATEGORIES)
    summary = rng.choice(pools["summaries"]) if rng.random() < 0.6 else None
    paragraphs = rng.sample(pools["paragraphs"], rng.randint(3, 6))
    slug = rng.choice(_SLUGS)
    images = []
    for k in range(rng.randint(1, 3)):
        millis = (ts - 3600 + 60 * k) * 1000
        src = f"/documents/{group_id}/0/{slug}-{asset_id}-{k + 1}.jpg/{_uuid(rng)}?t={millis}"
        images.append((src, rng.choice(pools["captions"])))
    byline = rng.choice(pools["bylines"]) if rng.random() < 0.8 else None
    attachments = []
    if rng.random() < (0.7 if notice else 0.08):
        for k in range(rng.randint(1, 2)):
            name = f"tai-lieu-{asset_id}-{k + 1}.pdf"
            src = f"/documents/{group_id}/0/{name}/{_uuid(rng)}?t={ts * 1000}"
            attachments.append((src, _ATTACHMENT_TITLES[(asset_id + k) % len(_ATTACHMENT_TITLES)]))
    for n, edition in enumerate(edits, start=1):
        extra = random.Random(asset_id * 31 + edition).choice(pools["paragraphs"])
        paragraphs.append(f"Cập nhật lần {n}: {extra}")
    return Body(title, category, summary, paragraphs, images, byline, attachments)
