"""The portal's sites: the province at the host root, districts under ``/web/{code}``."""

from __future__ import annotations

from dataclasses import dataclass

ASSET_PUBLISHER = "com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_INSTANCE_"
DETAIL_INSTANCE = "1mOzUrGkrdAE"
"""The detail widget id: the same on every sub-site, as on the real portal."""


@dataclass(frozen=True, slots=True)
class Site:
    """One Liferay site of the portal."""

    code: str
    """``hlv``; empty for the province site at the host root."""
    name: str
    plid: int
    """The ``plidlayout`` carried by the news listing and article links."""
    group_id: int
    """The document library group in ``/documents/{groupId}/...``."""
    listing_time: bool
    """Listings show ``HH:mm dd/MM/yyyy`` when true, ``dd/MM/yyyy`` otherwise."""
    generated: bool
    """Whether generated articles are published on this site (others hold specimens only)."""
    news_instance: str
    notice_instance: str

    @property
    def prefix(self) -> str:
        """Path prefix of every page of the site: ``/web/hlv`` or ``""``."""
        return f"/web/{self.code}" if self.code else ""

    @property
    def key(self) -> str:
        """Name used in the manifest: the code, or ``root``."""
        return self.code or "root"

    def article_path(self, asset_id: int) -> str:
        return (
            f"{self.prefix}/chi-tiet-bai-viet/-/asset_publisher/{DETAIL_INSTANCE}"
            f"/content/id/{asset_id}?plidlayout={self.plid}"
        )

    def news_path(self) -> str:
        return f"{self.prefix}/tin-tuc?plidlayout={self.plid}"


def _site(code: str, name: str, plid: int, group: int, *, time: bool, gen: bool, ids: str) -> Site:
    news, notice = ids.split()
    return Site(code, name, plid, group, time, gen, news, notice)


SITES: tuple[Site, ...] = (
    _site(
        "hlv", "Huyện Lấp Vò", 5101, 481930, time=False, gen=True, ids="Lv8nTs01aQwe Lv8nTb02kZrt"
    ),
    _site(
        "tpsd",
        "Thành phố Sa Đéc",
        5210,
        481527,
        time=True,
        gen=True,
        ids="Sd4kTt11pLmn Sd4kTb12xCvb",
    ),
    _site("", "Tỉnh Đồng Tháp", 1631, 34223, time=True, gen=True, ids="Dt0pTt21hJkl Dt0pTb22yUio"),
    _site(
        "hcl",
        "Huyện Cao Lãnh",
        5133,
        482011,
        time=False,
        gen=False,
        ids="Cl2aTt31qWer Cl2aTb32aSdf",
    ),
    _site(
        "hth",
        "Huyện Tân Hồng",
        5190,
        482560,
        time=False,
        gen=False,
        ids="Th5hTt41zXcv Th5hTb42bNmq",
    ),
    _site(
        "htm",
        "Huyện Tháp Mười",
        5072,
        482102,
        time=False,
        gen=False,
        ids="Tm7mTt51wErt Tm7mTb52yUio",
    ),
    _site(
        "hct",
        "Huyện Châu Thành",
        5177,
        482344,
        time=False,
        gen=False,
        ids="Ct9cTt61pAsd Ct9cTb62fGhj",
    ),
)
BY_CODE: dict[str, Site] = {s.code: s for s in SITES}
GENERATED_SITES: tuple[Site, ...] = tuple(s for s in SITES if s.generated)
