"""Running the reading room: search indexes brought up to date, pywb started, and the
application served by waitress until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path
from types import FrameType

from waitress.server import create_server

from archive.collection import not_a_collection
from reading_room.app import create_app
from reading_room.replay import Replay, ReplayUnavailable, url_host
from reading_room.shelf import Shelf, shelves

logger = logging.getLogger(__name__)

THREADS = 4
LOOPBACK_NAMES = ["127.0.0.1", "localhost"]


class NotACollection(ValueError):
    """A directory given to serve holds no collection."""


class NoSuchAddress(ValueError):
    """``--host`` names no address this machine has (nor a name that resolves to one)."""


def check_collection(directory: Path) -> None:
    if not (directory / "items.jsonl").is_file() and not (directory / "warc").is_dir():
        raise NotACollection(not_a_collection(directory, "no items.jsonl, no warc/ folder"))


def serve(
    directories: list[Path],
    host: str,
    port: int,
    *,
    replay: bool = True,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve ``directories`` on ``host:port`` (0: any free port) until interrupted."""
    for directory in directories:
        check_collection(directory)
    room = shelves(directories)
    for shelf in room:
        added = shelf.refresh()
        announce(f"{shelf.name}: {shelf.directory} (search index: {added} new item lines)")
    # SIGTERM (systemd's stop) ends the reading room as Ctrl-C does, at any moment from here:
    # the server is closed and pywb stopped on the way out.
    with ExitStack() as cleanup, suppress(KeyboardInterrupt):
        cleanup.callback(signal.signal, signal.SIGTERM, signal.signal(signal.SIGTERM, _interrupt))
        pywb = _start_replay(room, host, announce) if replay else None
        if pywb is not None:
            cleanup.callback(pywb.stop)
        trusted = LOOPBACK_NAMES if host in LOOPBACK_NAMES else None
        app = create_app(room, pywb.port if pywb else None, trusted)
        try:
            server = create_server(app, host=host, port=port, threads=THREADS)
        except ValueError as error:  # waitress's word for an address getaddrinfo refused
            raise NoSuchAddress(host) from error
        cleanup.callback(server.close)
        bound_host, bound_port = server.socket.getsockname()[:2]
        announce(f"reading room: http://{url_host(bound_host)}:{bound_port}/")
        sys.stdout.flush()
        server.run()  # returns on SIGINT/SIGTERM (waitress takes the KeyboardInterrupt)
    announce("reading room: stopped")


def _start_replay(room: list[Shelf], host: str, announce: Callable[[str], None]) -> Replay | None:
    try:
        pywb = Replay(room, host)
    except ReplayUnavailable as error:
        logger.warning("archived pages will not be replayed: %s", error)
        return None
    announce(f"replay (pywb): {pywb.base}")
    return pywb


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
