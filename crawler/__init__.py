"""portal-archiver: crawl and archive Vietnamese provincial government portals."""

__version__ = "0.1.0"
