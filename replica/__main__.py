"""``python -m replica``: run the replica portal until SIGTERM or SIGINT.

The first line on stdout is the base URL (``http://127.0.0.1:PORT/``), printed once listening.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from replica.server import Options, make_server


def _pair(text: str) -> tuple[str, str]:
    # Split on the last "=": a path may carry a query such as "?plidlayout=5101".
    path, sep, value = text.rpartition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"expected PATH=VALUE, got {text!r}")
    return path, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m replica", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--articles", type=int, default=60, help="listed articles across sites")
    parser.add_argument("--edition", type=int, default=0, help="content edition (mutations)")
    parser.add_argument("--no-conditional", action="store_true", help="ignore If-None-Match etc.")
    parser.add_argument("--chunked-all", action="store_true", help="chunk every response")
    parser.add_argument("--broken-html", action="store_true", help="serve one broken article")
    parser.add_argument("--link-faults", action="store_true", help="link fault paths from pages")
    parser.add_argument("--fail-first", type=_pair, action="append", default=[], metavar="PATH=K")
    parser.add_argument("--retry-after", type=_pair, action="append", default=[], metavar="PATH=K")
    parser.add_argument("--slow", type=_pair, action="append", default=[], metavar="PATH=SECONDS")
    parser.add_argument("--reset", action="append", default=[], metavar="PATH")
    parser.add_argument("--log-limit", type=int, default=100_000)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        articles=args.articles,
        edition=args.edition,
        conditional=not args.no_conditional,
        chunked_all=args.chunked_all,
        broken_html=args.broken_html,
        link_faults=args.link_faults,
        fail_first={path: int(k) for path, k in args.fail_first},
        retry_after={path: int(k) for path, k in args.retry_after},
        slow={path: float(s) for path, s in args.slow},
        reset=tuple(args.reset),
        log_limit=args.log_limit,
    )


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None, prog: str = "python -m replica") -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        server = make_server(args.host, args.port, options_from(args))
    except (OSError, OverflowError) as error:
        # A port in use or privileged: the user picks another; not a crash.
        reason = getattr(error, "strerror", None) or error
        print(
            f"{prog}: cannot listen on {args.host}:{args.port}: {reason}; "
            "choose another --port (0 picks a free one)",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(server.url, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
