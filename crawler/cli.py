"""The ``portal-archiver`` command: fetch, crawl, recover, extract, index, wacz, demo, replica,
serve.

Exit status: 0 when everything asked for was captured, 1 when some URLs failed (the
summary names them) or the run was stopped, 2 for usage errors and for what stops a run
before it starts (a bad option or setting, an unwritable ``--out``, a missing WARC file, a
collection locked by another crawl). Every expected failure is one sentence on standard
error; a traceback means a bug, and is printed only with ``--debug``.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from archive.atomic import os_reason
from crawler import __version__
from crawler.validation import iso_date, non_negative_int, port_number, positive_int

_EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
# Errors of the machine, not of the program: a full or read-only disk, a quota, a failing
# device. Said in one sentence, exit status 2, as a collection's own errors are.
_ENVIRONMENT_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})

logger = logging.getLogger(__name__)


class Parser(argparse.ArgumentParser):
    """Usage errors as one line naming what to fix, like every other expected failure."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _collection_directory(text: str) -> Path:
    # A lone dash is standard output to Unix tools (extract takes it so): a folder of that
    # name would be a slip, and ``./-`` still names one.
    if text == "-":
        raise argparse.ArgumentTypeError(
            "'-' names standard output; a collection is a folder: give its path"
        )
    # ``--out "$ARCHIVE"`` with the variable unset: Path("") is the current folder, which
    # would become a collection among whatever it holds.
    if not text:
        raise argparse.ArgumentTypeError("an empty path; a collection is a folder: give its path")
    return Path(text)


def _add_run_options(parser: argparse.ArgumentParser, out_required: bool = True) -> None:
    parser.add_argument(
        "--out",
        type=_collection_directory,
        required=out_required,
        metavar="DIR",
        help="collection directory: DIR/items.jsonl, DIR/warc/*.warc.gz, DIR/indexes/index.cdxj",
    )
    parser.add_argument(
        "-s",
        dest="settings",
        type=_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy or project setting, as `scrapy crawl -s` does (repeatable)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show the whole log (Scrapy's included) on standard error, not only the progress "
        "line; the collection's logs/ folder has it either way",
    )


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _add_profiles_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profiles", type=Path, metavar="FILE", help="TOML file adding or overriding site profiles"
    )


def _add_articles_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--articles", type=positive_int, default=60, metavar="N", help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="portal-archiver",
        description="Crawl and archive Vietnamese provincial government portals "
        "into WARC and JSON Lines.",
    )
    parser.add_argument("--version", action="version", version=f"portal-archiver {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The order here is the order `--help` lists the commands in.
    for add_command in (
        _add_fetch,
        _add_crawl,
        _add_recover,
        _add_extract,
        _add_index,
        _add_wacz,
        _add_demo,
        _add_replica,
        _add_serve,
    ):
        add_command(sub)
    return parser


def _add_fetch(sub: Any) -> None:
    fetch = sub.add_parser(
        "fetch",
        help="capture specific article URLs",
        description="Capture specific article URLs (with their images and attached files).",
    )
    fetch.add_argument("urls", nargs="+", metavar="URL")
    _add_run_options(fetch)


def _add_crawl(sub: Any) -> None:
    crawl = sub.add_parser(
        "crawl",
        help="crawl whole sites",
        description="Crawl sites from a home or listing URL, "
        "or a built-in site profile name (lapvo, sadec, ...).",
    )
    crawl.add_argument("targets", nargs="+", metavar="TARGET")
    _add_run_options(crawl)
    crawl.add_argument(
        "--max-articles",
        type=positive_int,
        metavar="N",
        help="stop after N articles the collection does not hold yet (run again for the next N)",
    )
    crawl.add_argument(
        "--since",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="stop paging a listing once its entries are older",
    )
    crawl.add_argument(
        "--new-only",
        action="store_true",
        help="stop paging at the first listing page holding only known articles",
    )
    _add_profiles_option(crawl)


def _add_recover(sub: Any) -> None:
    recover = sub.add_parser(
        "recover",
        help="rebuild vanished sites from web archives",
        description="Recover sites (profile names or URLs; they may no longer resolve) from web "
        "archives into a collection: ia (Wayback Machine), cc (Common Crawl), or the URL of a "
        "pywb/Wayback collection.",
    )
    recover.add_argument("targets", nargs="+", metavar="TARGET")
    recover.add_argument(
        "--archive",
        dest="archives",
        action="append",
        required=True,
        metavar="ARCHIVE",
        help="ia, cc, or a collection URL (its CDX API at URL/cdx); repeatable",
    )
    _add_run_options(recover)
    recover.add_argument(
        "--from", dest="since", type=iso_date, metavar="YYYY-MM-DD", help="captures from then"
    )
    recover.add_argument(
        "--to", dest="until", type=iso_date, metavar="YYYY-MM-DD", help="captures until then"
    )
    recover.add_argument(
        "--cc-crawl",
        dest="cc_crawls",
        action="append",
        default=[],
        metavar="CRAWL",
        help="Common Crawl crawl to search with --archive cc, e.g. CC-MAIN-2024-10 (repeatable)",
    )
    _add_profiles_option(recover)


def _add_extract(sub: Any) -> None:
    extract = sub.add_parser(
        "extract",
        help="re-parse archived pages (no network)",
        description="Re-run the parsers over the responses in WARC files and write JSON Lines.",
    )
    extract.add_argument("warcs", nargs="+", type=Path, metavar="WARC")
    extract.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl")


def _add_index(sub: Any) -> None:
    index = sub.add_parser(
        "index",
        help="rebuild DIR/indexes/index.cdxj",
        description="Rebuild the CDXJ index (pywb's format) of a collection.",
    )
    index.add_argument("directory", type=Path, metavar="DIR")


def _add_wacz(sub: Any) -> None:
    wacz = sub.add_parser(
        "wacz",
        help="package a collection as a WACZ file (opens in ReplayWeb.page)",
        description="Package a collection (or one site or date range of it) as a WACZ 1.1.1 "
        "file: WARCs, a CDXJ index and the list of articles with their text.",
    )
    wacz.add_argument("directory", type=Path, metavar="DIR")
    wacz.add_argument("--out", type=Path, required=True, metavar="FILE.wacz")
    wacz.add_argument("--title", help="the package's title (default: the collection's name)")
    wacz.add_argument("--description", default="", help="what the package holds")
    _add_wacz_selection(wacz)
    wacz.add_argument(
        "--main-page", metavar="URL", help="the page opened first (default: the crawl's first seed)"
    )
    wacz.add_argument(
        "--rehash",
        action="store_true",
        help="take every WARC file's SHA-256 and CRC-32 from its bytes, not from the fixity "
        "manifest (warc/fixity.jsonl) its writer recorded",
    )
    _add_wacz_signing(wacz)


def _add_wacz_selection(wacz: argparse.ArgumentParser) -> None:
    wacz.add_argument(
        "--site",
        metavar="HOST",
        help="only this host's captures (and the images and files of its articles)",
    )
    wacz.add_argument(
        "--from",
        dest="first_day",
        type=_day,
        metavar="YYYY-MM-DD",
        help="only captures made on or after this day (UTC)",
    )
    wacz.add_argument(
        "--to",
        dest="last_day",
        type=_day,
        metavar="YYYY-MM-DD",
        help="only captures made on or before this day (UTC)",
    )


def _add_wacz_signing(wacz: argparse.ArgumentParser) -> None:
    wacz.add_argument(
        "--sign-key",
        type=Path,
        metavar="KEY.pem",
        help="sign the package with this ECDSA P-384 private key (PEM): an anonymous WACZ "
        "signature; publish the public key printed so readers know the package is yours",
    )
    wacz.add_argument(
        "--new-key",
        action="store_true",
        help="first create the --sign-key file: a new key, readable by you only (an existing "
        "file is never replaced)",
    )


def _add_demo(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="the whole pipeline on the bundled replica portal",
        description="Start the bundled replica portal on loopback, "
        "crawl one of its sites, and show the result.",
    )
    _add_run_options(demo, out_required=False)
    _add_articles_option(demo, "size of the replica (default 60)")


def _add_replica(sub: Any) -> None:
    replica = sub.add_parser(
        "replica",
        help="serve the replica portal by hand",
        description="Serve the bundled replica of the Dong Thap portal on 127.0.0.1 until "
        "Ctrl-C or SIGTERM, for trying the crawler without touching a real portal: the "
        "province and its district sites, with their listings, paging, photos, attached "
        "files and traps. Its base URL is printed first; crawl e.g. BASE/web/hlv.",
    )
    replica.add_argument(
        "--port",
        type=port_number,
        default=8080,
        help="port on 127.0.0.1 to listen on (default 8080; 0 picks a free one)",
    )
    _add_articles_option(replica, "number of listed articles across its sites (default 60)")
    replica.add_argument(
        "--edition",
        type=non_negative_int,
        default=0,
        metavar="K",
        help="content edition: each later one adds and edits articles, for trying "
        "incremental crawls (default 0)",
    )


def _add_serve(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="browse, search and check collections in the browser",
        description="Serve a reading room over collections, read only: search, articles with "
        "their versions and photos, the archived pages replayed by pywb, coverage by month.",
    )
    serve.add_argument("directories", nargs="+", type=Path, metavar="DIR")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (8080; 0 for any free one)")
    serve.add_argument(
        "--no-replay", action="store_true", help="do not start pywb for the archived pages"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # Heavy imports (Scrapy, Twisted) only once the arguments are fine: a tenth of a second
        # in which a Ctrl-C is an interruption like any other, not a traceback.
        from crawler import commands
    except KeyboardInterrupt:
        return _interrupted()
    handler = getattr(commands, f"run_{args.command}")
    # Scrapy's commands and serve stop on SIGTERM their own way; these would die where they
    # stand, their temporary output (a WACZ's may be gigabytes) left behind.
    previous = (
        signal.signal(signal.SIGTERM, _terminate) if args.command in _UNWOUND_ON_SIGTERM else None
    )
    try:
        return handler(args)
    except commands.EXPECTED_ERRORS as error:
        print(f"portal-archiver: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except Terminated:
        print("portal-archiver: stopped by SIGTERM", file=sys.stderr)
        return 128 + signal.SIGTERM
    except BrokenPipeError:
        # The reader of our output went away (``| head``): its choice, said as SIGPIPE would.
        _silence_stdout()
        return _EXIT_BROKEN_PIPE
    except Exception as error:
        if args.debug:
            raise
        if isinstance(error, OSError) and error.errno in _ENVIRONMENT_ERRORS:
            # Not a bug: the machine's state, which the user can change.
            print(f"portal-archiver: {os_reason(error)}", file=sys.stderr)
            return 2
        print(
            f"portal-archiver: unexpected error ({type(error).__name__}: {error}); this is a "
            "bug: please report it with the output of the same command run with --debug",
            file=sys.stderr,
        )
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):
    """SIGTERM during a command that writes through a temporary file: unwound as Ctrl-C is,
    so that the file goes and the destination keeps what it held."""


_UNWOUND_ON_SIGTERM = frozenset({"extract", "index", "wacz"})


def _terminate(signum: int, frame: object) -> NoReturn:
    raise Terminated


def _interrupted() -> int:
    print("portal-archiver: interrupted", file=sys.stderr)
    return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null: what Python still holds for the closed pipe would fail again
    when it flushes at exit, with a message on stderr."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run() -> NoReturn:
    """The console command: :func:`main`, then exit with its status.

    Once main has returned, the collection is closed and the status decided. A signal that
    lands while the interpreter winds down (joining Scrapy's threads, then restoring the
    system's default handlers) would kill the process by the signal instead of the decided
    status: from here on, SIGINT and SIGTERM are ignored (the exit is a matter of
    milliseconds, and CPython leaves ignored signals ignored while it finalizes).
    """
    status = main()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    sys.exit(status)


if __name__ == "__main__":
    run()
