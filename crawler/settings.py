"""Scrapy settings for portal-archiver: polite defaults for real government portals.

Everything here can be overridden per run with ``-s NAME=VALUE`` (``portal-archiver`` and
``scrapy crawl`` alike). Project settings carry the ``ARCHIVE_`` / ``PORTAL_`` prefixes.
"""

from scrapy.settings import default_settings

BOT_NAME = "portal-archiver"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Who we are and how to reach the operator: portals' webmasters read their logs.
# The User-Agent is built from it (crawler.middlewares.OperatorUserAgentMiddleware) unless
# USER_AGENT is set explicitly.
ARCHIVE_OPERATOR = "operator contact not configured; set ARCHIVE_OPERATOR"

# Politeness: about one request a second per host, never more than two at once.
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50%, so requests do not tick like a metronome
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_TIMEOUT = 60

# Retries with backoff on server errors and timeouts; Retry-After is honoured.
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
PORTAL_RETRY_BACKOFF_BASE = 2.0
PORTAL_RETRY_BACKOFF_MAX = 120.0

# An endless or huge body must not exhaust memory or disk.
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024

# Capture the wire bytes (status line, raw headers, still-compressed body) for the WARC.
# (crawler/stopping.py adds to it that a stopped crawl abandons the downloads in flight.)
DOWNLOAD_HANDLERS = {
    "http": "crawler.stopping.StoppableDownloadHandler",
    "https": "crawler.stopping.StoppableDownloadHandler",
}

DOWNLOADER_MIDDLEWARES = {
    "crawler.guard.RequestGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "crawler.middlewares.OperatorUserAgentMiddleware": 500,
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "crawler.middlewares.OfflineCookiesMiddleware": 700,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.ConditionalRequestMiddleware": 560,
}
REQUEST_FINGERPRINTER_CLASS = "crawler.guard.ArticleFingerprinter"

ITEM_PIPELINES = {"crawler.archiving.ArchivePipeline": 300}
EXTENSIONS = {
    "crawler.progress.ProgressExtension": 500,
    "crawler.gc_tuning.GcTuningExtension": 0,
    "crawler.stopping.GracefulStop": 0,
    "crawler.search_index.SearchIndexUpdate": 510,
}
# Scrapy's remote control is switched off (REMOTE_CONTROL_ENABLED, below) and not even
# loaded: loading it imports aiohttp and the system's CA certificates, 0.1 s of CPU a crawl.
# Scrapy loads every path of EXTENSIONS (one set to None too), so it leaves the base list.
EXTENSIONS_BASE = {
    path: order
    for path, order in default_settings.EXTENSIONS_BASE.items()
    if path != "scrapy.extensions.remote_control.RemoteControl"
}
# After the first SIGINT/SIGTERM, seconds allowed for a clean close (commit, WARC closed,
# index) before the crawl is stopped at once, as by a second signal.
PORTAL_STOP_TIMEOUT = 10.0
# Young-collection threshold and the two generation multipliers (CPython: 700, 10, 10);
# see crawler/gc_tuning.py. Empty: leave the collector alone.
PORTAL_GC_THRESHOLDS = [10_000, 20, 20]
# Scrapy hands each callback's output to CONCURRENT_ITEMS asyncio tasks that it starts
# afresh for every response: the default 100 cost about a sixth of a crawl's CPU on the
# replica. A page yields at most one item and the archive pipeline never waits on I/O.
CONCURRENT_ITEMS = 4
# Scrapy re-reads and parses a callback's source to warn about `return value` in generators
# whenever its weak cache has lost the bound method (often, with disk queues). Our
# callbacks are checked once, in the tests (tests/test_spider_callbacks.py).
WARN_ON_GENERATOR_RETURN_VALUE = False

# The archive. ARCHIVE_DIR unset switches archiving off (NotConfigured).
ARCHIVE_DIR = None
ARCHIVE_WARC_PREFIX = "portal"
ARCHIVE_WARC_MAX_SIZE = 1_000_000_000
ARCHIVE_REQUISITES = True  # fetch and archive body images and attached files
ARCHIVE_THEME_ASSETS = True  # what pages need to render (CSS, JS, fonts, logo); off: text only
# Commit the collection state every N changes, after fsyncing the WARC and items.jsonl they
# name: bounds the work a power cut can undo (a kill loses nothing either way). A change is an
# article recorded or touched, or a request settled: 200 is about 100 pages to fetch again
# after a power cut. The three fsyncs of a commit cost 5-7% of a loopback crawl's CPU at 50
# (the kernel's writeback is charged to the fsync); at 200 most of that goes.
ARCHIVE_COMMIT_EVERY = 200
# Bring DIR/search.sqlite (the reading room's search index) up to date after each run.
ARCHIVE_SEARCH_INDEX = True

# Crawl bounds.
PORTAL_MAX_URL_LENGTH = 2000

# Disk-backed queues keep memory flat on large sites (JOBDIR is set per collection).
SCHEDULER_DISK_QUEUE = "crawler.queues.RequestDiskQueue"  # Scrapy's pickle FIFO, faster
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
# Scrapy's remote-control extension serves an HTTP endpoint that runs Python code sent to it
# (token-protected, on localhost) and writes job files to the user's home directory. An
# archiving tool has no use for it, and nothing of a crawl may land outside its collection.
REMOTE_CONTROL_ENABLED = False
ARCHIVE_DURABLE = True  # fsync WARC and items.jsonl before each state commit (power-cut safe)
DUPEFILTER_CLASS = "crawler.dupefilter.ResumableDupeFilter"
# The crawl's frontier lives in the collection state (crawler/frontier.py): the scheduler
# admits and re-seeds requests through it, the middleware settles them once handled.
SCHEDULER = "crawler.frontier.FrontierScheduler"
SPIDER_MIDDLEWARES = {"crawler.frontier.FrontierMiddleware": 0}
# An unfinished crawl of other targets or options refuses a new one; True discards it
# (what it archived stays, and so do the images and files owed to archived articles).
ARCHIVE_DISCARD_OPEN_CRAWL = False
PORTAL_PROGRESS_INTERVAL = 30.0
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "vi,en;q=0.5",
}
# A 304 answers our conditional request for an unchanged article: not an error.
HTTPERROR_ALLOWED_CODES = [304]

# `recover` (crawler/spiders/recover.py; its politeness defaults are the spider's own).
# Where the archives are (tests and mirrors point these elsewhere).
PORTAL_RECOVER_IA_URL = "https://web.archive.org"
PORTAL_RECOVER_CC_INDEX_URL = "https://index.commoncrawl.org/{crawl}-index"
PORTAL_RECOVER_CC_DATA_URL = "https://data.commoncrawl.org/"
PORTAL_RECOVER_CC_CRAWLS: list[str] = []
PORTAL_RECOVER_CDX_PAGE_SIZE = 5000
# After this many 429s or refused connections in a row, pause the whole run this long
# (doubling on each repeat), as the Wayback Machine's own block would.
PORTAL_RECOVER_PAUSE_AFTER = 3
PORTAL_RECOVER_PAUSE_SECONDS = 600.0
