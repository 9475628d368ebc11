"""What each ``portal-archiver`` subcommand does (the CLI module only parses arguments)."""

from __future__ import annotations

import argparse
import io
import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.atomic import full_disk_note, os_reason
from archive.collection import (
    Collection,
    CollectionError,
    collection_holding,
    not_a_collection,
    reading,
)
from archive.item_lines import Items
from archive.reader import ArchiveReadError
from archive.repair import RepairReport
from archive.writer import OPEN_SUFFIX
from crawler.running import ensure_writable, run_spider
from crawler.validation import UsageError, check_settings, check_urls

if TYPE_CHECKING:  # cryptography is imported only to sign a package: see _signer
    from archive.signing import Signer
    from crawler.reextract import ExtractStats

logger = logging.getLogger(__name__)

# What the command line reports as one sentence, exit status 2 (see crawler/cli.py).
EXPECTED_ERRORS = (UsageError, CollectionError)


def dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


DEMO_SETTINGS = {
    # The replica runs on loopback: politeness delays would only make the demo slow.
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "PORTAL_RETRY_BACKOFF_BASE": "0.1",
}


def run_fetch(args: argparse.Namespace) -> int:
    urls = check_urls(args.urls)
    return run_spider("fetch", args.out, args.settings, verbose=args.verbose, urls=urls)


def run_crawl(args: argparse.Namespace) -> int:
    kwargs: dict[str, Any] = {"targets": args.targets}
    if args.max_articles is not None:
        kwargs["max_articles"] = args.max_articles
    if args.since:
        kwargs["since"] = args.since
    if args.new_only:
        kwargs["new_only"] = True
    if args.profiles:
        kwargs["profiles_file"] = str(args.profiles)
    _check_targets(args.targets, args.profiles)
    return run_spider("portal", args.out, args.settings, verbose=args.verbose, **kwargs)


def _check_targets(targets: Sequence[str], profiles_file: Path | None) -> None:
    import tomllib

    from crawler.profiles import load_profiles, resolve_target

    try:
        profiles = load_profiles(profiles_file)
    except FileNotFoundError:
        raise UsageError(f"no such profiles file: {profiles_file}") from None
    except OSError as error:
        raise UsageError(f"cannot read profiles file {profiles_file}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        # The message ends with "(at line L, column C)".
        raise UsageError(f"profiles file {profiles_file} is not valid TOML: {error}") from None
    except (ValueError, TypeError) as error:
        raise UsageError(f"profiles file {profiles_file}: {error}") from None
    try:
        for target in targets:
            resolve_target(target, profiles)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _check_date_order(first: str | None, last: str | None) -> None:
    # ISO dates (YYYY-MM-DD), which compare as strings.
    if first and last and first > last:
        raise UsageError(f"--from {first} is after --to {last}")


def run_recover(args: argparse.Namespace) -> int:
    from crawler.recover.sources import resolve_archives

    _check_targets(args.targets, args.profiles)
    _check_date_order(args.since, args.until)
    try:
        resolve_archives(args.archives, ia_url="", cc_index="", cc_data="", cc_crawls=["-"])
        if "cc" in args.archives and not args.cc_crawls:
            resolve_archives(["cc"], ia_url="", cc_index="", cc_data="", cc_crawls=[])
    except ValueError as error:
        raise UsageError(str(error)) from None
    kwargs: dict[str, Any] = {"targets": args.targets, "archives": args.archives}
    for name in ("since", "until", "cc_crawls"):
        if getattr(args, name):
            kwargs[name] = getattr(args, name)
    if args.profiles:
        kwargs["profiles_file"] = str(args.profiles)
    status = run_spider("recover", args.out, args.settings, verbose=args.verbose, **kwargs)
    _print_recovery(args.out)
    return status


def _print_recovery(out: Path) -> None:
    path = out / "recover-report.json"
    if not path.exists():
        return
    report = json.loads(path.read_text(encoding="utf-8"))
    for site, figures in report["sites"].items():
        print(
            f"{site}: {figures['captures_found']} captures found, "
            f"{figures['articles_recovered']} articles recovered "
            f"({figures['versions']} versions), "
            f"{len(figures['listed_never_captured'])} listed but never captured, "
            f"{len(figures['requisites_missing'])} images/files missing"
        )
        if not figures["captures_found"]:
            # A wrong collection name in --archive answers like a site never archived.
            print(
                f"  no archive listed any capture of {site}: if it was archived, check the "
                "target's host and the --archive URL (a pywb collection's name)"
            )
    unreadable = (report.get("quirks") or {}).get("cdx-row-unreadable", 0)
    if unreadable:
        rows = "row" if unreadable == 1 else "rows"
        print(f"{unreadable} {rows} of CDX answers named no capture: passed over (see the log)")


_READ_ADVICE = "extract when it has finished"

# ``--out -``: standard output, as Unix tools read a lone dash (``./-`` names a file).
STANDARD_OUTPUT = Path("-")


def run_extract(args: argparse.Namespace) -> int:
    from crawler.reextract import extract_items

    for path in args.warcs:
        if path.is_dir():
            raise UsageError(f"{path} is a directory, not a WARC file: {_warcs_in(path)}")
    missing = [str(path) for path in args.warcs if not path.is_file()]
    if missing:
        raise UsageError(f"no such WARC file: {', '.join(missing)}")
    out: Path = args.out
    piped = out == STANDARD_OUTPUT
    if not piped:
        if out.exists() and any(out.samefile(warc) for warc in args.warcs):
            raise UsageError(
                f"--out {out} is one of the WARC files extract reads; give another file name"
            )
        _check_output_file(out, ".jsonl")
    warcs: list[Path] = args.warcs
    with ExitStack() as locks:
        for directory in sorted({_collection_of(warc) for warc in warcs} - {None}):
            collection = locks.enter_context(_reading(directory))
            if collection is not None:
                warcs = _after_repairs(warcs, collection.repair_reports)
        stats = _extract_to_standard_output(warcs) if piped else extract_items(warcs, out)
    print(
        f"articles: {stats.articles}   responses read: {stats.responses}   "
        f"not articles: {stats.rejected}   errors: {stats.errors}\n"
        f"items: {'standard output' if piped else out}",
        # The items hold stdout: the summary must not land among them.
        file=sys.stderr if piped else sys.stdout,
    )
    return 1 if stats.errors else 0


def _warcs_in(directory: Path) -> str:
    """What to name instead of ``directory``: its WARC files, or its collection's."""
    if (directory / "warc").is_dir():
        directory = directory / "warc"
    return f"give the WARC files in it ({directory / '*.warc.gz'})"


def _extract_to_standard_output(warcs: list[Path]) -> ExtractStats:
    from crawler.reextract import extract_to

    sys.stdout.flush()
    # UTF-8 whatever the locale says: JSON Lines are UTF-8, and an ASCII locale would stop the
    # run at the first Vietnamese letter.
    sink = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    try:
        return extract_to(warcs, sink)
    finally:
        sink.detach()  # flushed, and sys.stdout stays open for what follows


def _check_output_file(out: Path, kind: str) -> None:
    """Refuse an ``--out`` that would replace a collection's file (a typo must never cost a
    WARC file): anything in its folders, or a file it holds; a new file beside its folders
    is fine. Make sure the folder it goes in can be written."""
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give the name of a {kind} file to write")
    collection = collection_holding(out)
    if collection is not None and (out.exists() or out.resolve().parent != collection):
        raise UsageError(
            f"--out {out} would overwrite a file of the collection {collection}; "
            "give a path outside its folders"
        )
    if out.exists():
        _check_replaceable(out, kind)
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"cannot write {out}: {parent} is a file, not a directory")
    ensure_writable(parent)


# The command writing each kind of output, and what the output is: only such a file (by its
# first bytes), or an empty one, is replaced.
_OUTPUTS = {".jsonl": ("extract", "JSON Lines"), ".wacz": ("wacz", "WACZ")}


def _check_replaceable(out: Path, kind: str) -> None:
    """Refuse to replace an existing ``out`` that is not a file of the command's own kind:
    ``extract --out wget-1.warc.gz wget-2.warc.gz`` (the output name forgotten) must not cost
    a WARC file that no collection holds. A rename over a device (``/dev/null`` as root) or a
    pipe would replace it with a plain file."""
    if not out.is_file():
        raise UsageError(
            f"--out {out} is not a regular file (a device, a pipe or a socket): give the name "
            f"of a {kind} file to write"
            + (", or --out - for standard output" if kind == ".jsonl" else "")
        )
    try:
        with out.open("rb") as stream:
            head = stream.read(512)
    except OSError as error:
        raise UsageError(f"cannot read --out {out}: {os_reason(error)}") from None
    held = _held(head, kind)
    if held is not None:
        command, what = _OUTPUTS[kind]
        raise UsageError(
            f"--out {out} already holds {held}, not a {what} file: {command} replaces only its "
            "own kind of file; give another name, or remove it first"
        )


def _held(head: bytes, kind: str) -> str | None:
    """What a file starting with ``head`` holds when it is not of ``kind`` (None when it is,
    or when it is empty)."""
    text = head.lstrip()
    if not text:
        return None
    if kind == ".jsonl" and text.startswith(b"{"):
        return None
    if kind == ".wacz" and head.startswith(b"PK\x03\x04"):
        return None
    if head.startswith(b"\x1f\x8b"):
        return "gzip data (a WARC file?)"
    if head.startswith(b"WARC/"):
        return "a WARC file"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP file"
    return "something else"


def _collection_of(warc: Path) -> Path | None:
    """The collection directory holding ``warc``, a WARC file in its ``DIR/warc/``."""
    parents = warc.resolve().parents
    if len(parents) < 2:
        return None
    directory = parents[1]
    return directory if (directory / "state.sqlite").exists() else None


@contextmanager
def _reading(directory: Path) -> Iterator[Collection | None]:
    """The collection held for extract (see :func:`archive.collection.reading`); when other
    readers hold it, it is read as it is, an unfinished file named."""
    with reading(directory, command="extract", advice=_READ_ADVICE) as collection:
        if collection is None:
            _name_unfinished(Collection(directory))
        yield collection


def _name_unfinished(collection: Collection) -> None:
    for unfinished in sorted(collection.warc_dir.glob(f"*{OPEN_SUFFIX}")):
        logger.warning(
            "%s is the unfinished WARC file of a killed crawl, left as it is while another "
            "command reads the collection: read as it is only if given; run extract again "
            "alone to have it closed first",
            unfinished,
        )


def _after_repairs(warcs: list[Path], repairs: list[RepairReport]) -> list[Path]:
    """The WARC files to read once opening their collection closed the unfinished files of a
    killed crawl: one given is read under its final name (or left out if it held no complete
    record); one not given is named, for it holds captures the files given do not."""
    given = {warc.resolve() for warc in warcs}
    renamed: dict[Path, Path | None] = {}
    for repair in repairs:
        unfinished = (
            repair.path if repair.deleted else repair.path.with_name(repair.path.name + OPEN_SUFFIX)
        )
        if unfinished.resolve() in given:
            renamed[unfinished.resolve()] = None if repair.deleted else repair.path
        elif not repair.deleted and repair.path.resolve() not in given:
            logger.warning(
                "%s was the unfinished WARC file of a killed crawl, closed just now as %s: "
                "not read, as it is not among the files given",
                unfinished,
                repair.path,
            )
    read = [renamed.get(warc.resolve(), warc) for warc in warcs]
    return [warc for warc in read if warc is not None]


def run_index(args: argparse.Namespace) -> int:
    warc_dir = args.directory / "warc"
    if not warc_dir.is_dir():
        raise UsageError(not_a_collection(args.directory, "no warc/ folder"))
    # Through the collection: its lock keeps a crawl from writing while the index is rebuilt
    # (and refuses during one), and an unfinished WARC file is repaired first.
    with Collection(args.directory, checked=False, command="index") as collection:  # no state
        try:
            count = collection.build_index()
        except OSError as error:
            reason = os_reason(error) + full_disk_note(args.directory)
            # Written beside and renamed: the index in place is the previous one, whole.
            raise CollectionError(f"{collection.index_path} was not written: {reason}") from error
    print(f"indexed {count} records: {collection.index_path}")
    if collection.index_damage:
        summary = _damage_summary(collection.index_damage)
        print(f"{summary}; the whole records around them are indexed")
        return 1
    return 0


def _damage_summary(damage: list[ArchiveReadError]) -> str:
    files = len({failure.path for failure in damage})
    places = "place" if len(damage) == 1 else "places"
    noun = "file" if files == 1 else "files"
    return f"damaged: {len(damage)} {places} in {files} WARC {noun} (said above)"


def run_wacz(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from archive.wacz import PackageInfo, Selection, write_wacz

    out: Path = args.out
    if out == STANDARD_OUTPUT:
        raise UsageError(
            "--out - names standard output, and a WACZ is a ZIP file that needs a seekable "
            "file: give a file name (a .wacz)"
        )
    _check_output_file(out, ".wacz")
    _check_date_order(args.first_day, args.last_day)
    site = args.site and (urlsplit(args.site).hostname or args.site.split("/")[0].lower())
    selection = Selection(host=site or None, first_day=args.first_day, last_day=args.last_day)
    info = PackageInfo(
        title=args.title or args.directory.resolve().name,
        description=args.description,
        main_page_url=args.main_page,
        signer=_signer(args.sign_key, args.new_key),
    )
    # Its CollectionErrors: exit 2.
    report = write_wacz(args.directory, out, info, selection, rehash=args.rehash)
    print(
        f"WARC files: {report.warc_files}   captures: {report.captures}   "
        f"pages: {report.pages}   bytes: {report.bytes:,}\n"
        f"WARC sums: {report.from_manifest} files from the fixity manifest, "
        f"{report.summed} read back\nWACZ: {out}"
    )
    if info.signer:
        print(f"signed with public key: {info.signer.public_key}")
    for name in report.unfinished:
        print(f"not packaged: {name} (unfinished: run the same crawl again to finish it)")
    for name, versions in sorted(report.missing.items()):
        noun = "article version" if versions == 1 else "article versions"
        print(f"not packaged: {versions} {noun} whose WARC file is missing: {name}")
    if report.not_items:
        noun = "line" if report.not_items == 1 else "lines"
        verb = "is no item" if report.not_items == 1 else "are no items"
        print(f"not packaged: {report.not_items} {noun} of items.jsonl that {verb} (see the log)")
    if report.damage:
        print(f"{_damage_summary(report.damage)}; the whole records around them are packaged")
        return 1
    return 0


def _signer(key: Path | None, create: bool) -> Signer | None:
    if key is None:
        if create:
            raise UsageError("--new-key needs --sign-key FILE: the file to write the key to")
        return None
    from archive.signing import Signer, new_key

    # A SigningKeyError (unreadable key, a file already there) is a CollectionError: exit 2.
    return new_key(key) if create else Signer.from_file(key)


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Ask a child to stop (SIGTERM); kill it if it does not within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def replica_process(*args: str) -> Iterator[str]:
    """Start the bundled replica on a free loopback port; yield its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "replica", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise UsageError("the replica portal did not start")
        yield url
    finally:
        stop_process(process)


DEMO_MARKER = ".portal-archiver-demo"
"""File marking a directory as the demo's own, which a later demo may empty."""


def _fresh_demo_directory(out: Path) -> None:
    """A demo shows a first crawl, so it starts empty; it never empties a real collection."""
    if (out / DEMO_MARKER).exists():
        shutil.rmtree(out)
    elif out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; give the demo a new directory")
    ensure_writable(out)
    (out / DEMO_MARKER).touch()


def run_demo(args: argparse.Namespace) -> int:
    out: Path = args.out or Path("portal-archiver-demo")
    overrides = check_settings([*DEMO_SETTINGS.items(), *args.settings])
    _fresh_demo_directory(out)
    with replica_process("--articles", str(args.articles)) as url:
        print(f"Replica portal running at {url}; crawling its Lấp Vò site ({url}web/hlv)")
        status = run_spider(
            "portal", out, overrides, verbose=args.verbose, targets=[f"{url}web/hlv"]
        )
    _show_seed(out)
    return status


def _show_seed(out: Path) -> None:
    for line in Items(out / "items.jsonl"):
        item = line.item
        if item.get("asset_id") == "4961961":
            shown = {
                k: item[k]
                for k in ("title", "paragraphs", "captions", "byline", "published", "warc")
            }
            print("\nThe seed article, as archived:\n" + dump_json(shown))
            return


def run_replica(args: argparse.Namespace) -> int:
    from replica.__main__ import main as serve_replica

    argv = ["--port", str(args.port), "--articles", str(args.articles)]
    return serve_replica([*argv, "--edition", str(args.edition)], prog="portal-archiver replica")


def run_serve(args: argparse.Namespace) -> int:
    from reading_room.server import NoSuchAddress, NotACollection, serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, not {args.port}")
    try:
        serve(args.directories, args.host, args.port, replay=not args.no_replay)
    except NotACollection as error:
        raise UsageError(str(error)) from None
    except NoSuchAddress:
        raise UsageError(
            f"cannot serve on {args.host}:{args.port}: no such address or host name on this "
            "machine; give one of its addresses (127.0.0.1 by default, 0.0.0.0 for all)"
        ) from None
    except OSError as error:
        raise UsageError(
            f"cannot serve on {args.host}:{args.port}: {error.strerror or error}"
        ) from None
    return 0
