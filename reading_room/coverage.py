"""Articles per month per site as bar charts drawn on the server (SVG: nothing from elsewhere,
no script), with the months that have no article marked as gaps."""

from __future__ import annotations

from dataclasses import dataclass

BAR_WIDTH = 8
BAR_GAP = 2
CHART_HEIGHT = 80
LABEL_SPACE = 14


@dataclass
class Bar:
    month: str
    count: int
    x: int
    y: int
    height: int

    @property
    def gap(self) -> bool:
        return self.count == 0


@dataclass
class Chart:
    site: str
    total: int
    bars: list[Bar]
    years: list[tuple[int, str]]
    """(x, year) of each January, and of the first month."""
    width: int
    height: int

    @property
    def gaps(self) -> list[str]:
        return [bar.month for bar in self.bars if bar.gap]


def month_range(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last``, both included."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def coverage_charts(sites: dict[str, dict[str, int]]) -> list[Chart]:
    """A chart per site over its months from the first to the last article, one scale for all."""
    most = max((count for months in sites.values() for count in months.values()), default=1)
    charts = []
    for site, months in sites.items():
        if not months:
            continue
        bars, years = [], []
        for number, month in enumerate(month_range(min(months), max(months))):
            count = months.get(month, 0)
            height = max(2, round(CHART_HEIGHT * count / most)) if count else CHART_HEIGHT
            x = number * (BAR_WIDTH + BAR_GAP)
            bars.append(Bar(month, count, x, CHART_HEIGHT - height, height))
            if number == 0 or month.endswith("-01"):
                years.append((x, month[:4]))
        width = max(len(bars) * (BAR_WIDTH + BAR_GAP), 60)
        charts.append(
            Chart(site, sum(months.values()), bars, years, width, CHART_HEIGHT + LABEL_SPACE)
        )
    return charts
