"""`python -m bot …`: offline reframes, batch classification, database and benchmarks."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from bot.domain.detection import detect
from bot.domain.questions import QuestionLibrary

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.privacy import PrivacyService
    from bot.services.reframe import Reframe

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Benchmarks take their own options; everything else is parsed strictly.
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passes_options_on", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    handler: Command | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    reframe = sub.add_parser("reframe", help="print what the bot would answer to a situation")
    reframe.add_argument("text", nargs="+", help="the situation, as a rep would write it")
    reframe.set_defaults(handler=run_reframe)

    classify = sub.add_parser(
        "classify", help='read JSON lines {"id", "text"} on stdin, write one verdict per line'
    )
    classify.set_defaults(handler=run_classify)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="run Alembic migrations up to the newest")
    upgrade.add_argument("--revision", default="head")
    upgrade.set_defaults(handler=run_db_upgrade)

    data = sub.add_parser("data", help="people's data: export one rep's, enforce retention")
    data_sub = data.add_subparsers(metavar="ACTION")
    export = data_sub.add_parser("export", help="write one rep's data as JSON to stdout")
    export.add_argument("--team", required=True, help="workspace id, T…")
    export.add_argument("--user", required=True, help="the rep's user id, U…")
    export.set_defaults(handler=run_data_export)
    purge = data_sub.add_parser("purge", help="delete nudges and check-ins past retention")
    purge.add_argument(
        "--older-than", help="an age such as 365d, 52w or 12h (default: DATA_RETENTION_DAYS)"
    )
    purge.set_defaults(handler=run_data_purge)

    checkins = sub.add_parser("checkins", help="weekly check-ins")
    checkins_sub = checkins.add_subparsers(metavar="ACTION")
    send_due = checkins_sub.add_parser("send-due", help="run one check-in tick and print it")
    send_due.add_argument("--at", help="act as if it were this time (ISO-8601: 2026-11-23T09:00Z)")
    send_due.set_defaults(handler=run_checkins_send_due)

    digest = sub.add_parser("digest", help="the managers' weekly team digest (aggregate only)")
    digest_sub = digest.add_subparsers(metavar="ACTION")
    preview = digest_sub.add_parser(
        "preview", help="print a workspace's digest (Block Kit JSON and plain text); posts nothing"
    )
    preview.add_argument("--team", required=True, help="workspace id, T…")
    preview.add_argument("--week", help="the ISO week to report on (default: the week just ended)")
    preview.add_argument("--format", choices=("both", "json", "text"), default="both")
    preview.set_defaults(handler=run_digest_preview)

    home = sub.add_parser("home", help="what a person sees in Reframe's App Home")
    home_sub = home.add_subparsers(metavar="ACTION")
    home_preview = home_sub.add_parser(
        "preview", help="print someone's App Home (Block Kit JSON and plain text); sends nothing"
    )
    home_preview.add_argument("--team", required=True, help="workspace id, T…")
    home_preview.add_argument("--user", required=True, help="the person's user id, U…")
    home_preview.add_argument(
        "--admin", action="store_true", help="as a settings admin sees it (with the settings)"
    )
    home_preview.add_argument("--format", choices=("both", "json", "text"), default="both")
    home_preview.set_defaults(handler=run_home_preview)

    bench = sub.add_parser("bench", help="benchmarks with printed reports")
    bench_sub = bench.add_subparsers(metavar="WHAT")
    detector = bench_sub.add_parser("detector", help="detector quality and speed vs. VADER")
    detector.set_defaults(handler=run_bench_detector, passes_options_on=True)

    train = sub.add_parser("train", help="rebuild trained models from the labelled data")
    train_sub = train.add_subparsers(metavar="WHAT")
    train_detector = train_sub.add_parser(
        "detector", help="retrain the detector head (needs numpy: pip install -e '.[train]')"
    )
    train_detector.set_defaults(handler=run_train_detector, passes_options_on=True)
    train_tokenizer = train_sub.add_parser(
        "tokenizer",
        help="rewrite the detector's tokenizer tables from the installed WordLlama wheel",
    )
    train_tokenizer.set_defaults(handler=run_train_tokenizer)

    from bot.processes import roles  # web and scheduler: the production process roles

    roles.add_parsers(sub)
    return parser


def run_reframe(args: argparse.Namespace) -> int:
    from bot.wiring import build_reframe_service

    answer = build_reframe_service().reframe(" ".join(args.text))
    print(format_reframe(answer))
    return 0


def format_reframe(answer: Reframe) -> str:
    lines: list[str] = []
    if answer.heard:
        lines.append("What I heard:")
        for heard in answer.heard:
            evidence = f' ("{heard.evidence[0]}")' if heard.evidence else ""
            lines.append(f"  - {heard.trap}: {heard.meaning}{evidence}")
        lines.append(f"In the channel I would ask: {answer.questions[0].text}")
    else:
        lines.append("No thinking trap stood out; in a channel I would stay silent.")
    lines.append("Questions worth a minute:")
    lines += [f"  {i}. {q.text}" for i, q in enumerate(answer.questions, 1)]
    return "\n".join(lines)


def run_classify(_args: argparse.Namespace) -> int:
    classify_stream(sys.stdin, sys.stdout, QuestionLibrary.load())
    return 0


def classify_stream(source: TextIO, sink: TextIO, library: QuestionLibrary) -> None:
    """One output line per input line, in order; a bad line gets an error object."""
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        sink.write(json.dumps(classify_line(line, number, library)) + "\n")
        sink.flush()


def classify_line(line: str, number: int, library: QuestionLibrary) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return {"line": number, "error": f"not valid JSON: {error.msg}"}
    except ValueError as error:  # well-formed, but a number past Python's digit limit
        return {"line": number, "error": f"not usable JSON: {error}"}
    except RecursionError:
        return {"line": number, "error": "not usable JSON: nested too deeply"}
    if not isinstance(item, dict):
        return {"line": number, "error": "expected a JSON object with 'id' and 'text'"}
    text = item.get("text")
    if not isinstance(text, str):
        return {"id": item.get("id"), "line": number, "error": "'text' must be a string"}
    detection = detect(text)
    question = (
        library.choose(detection.main_trap, [], heard=detection.traps) if detection.nudge else None
    )
    return {
        "id": item.get("id"),
        "nudge": detection.nudge,
        "traps": [str(trap) for trap in detection.traps],
        "question": question.text if question else None,
    }


def run_db_upgrade(args: argparse.Namespace) -> int:
    from bot.config import SettingsError, load_settings
    from bot.wiring import migrate_database

    try:
        settings = load_settings()
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        return 2
    where = migrate_database(settings, args.revision)
    print(f"database at {where} is at {args.revision}")
    return 0


def run_bench_detector(args: argparse.Namespace) -> int:
    from bot.bench.detector import main as bench_main

    return bench_main(list(args.extra))


def run_train_tokenizer(_args: argparse.Namespace) -> int:
    from bot.domain.detection.encoder import write_tables

    print(f"wrote {write_tables()}")
    return 0


def run_train_detector(args: argparse.Namespace) -> int:
    try:
        from bot.training.detector import main as train_main
    except ModuleNotFoundError as missing:
        print(f"training needs {missing.name}: pip install -e '.[train]'", file=sys.stderr)
        return 2
    return train_main(list(args.extra))


def run_checkins_send_due(args: argparse.Namespace) -> int:
    """One check-in tick, as the scheduler runs it, at `--at` or now."""
    from datetime import UTC, datetime

    from bot.config import SettingsError, load_settings, require_slack_credentials
    from bot.domain.clock import Clock, FixedClock, SystemClock
    from bot.wiring import build

    try:
        settings = load_settings()
        require_slack_credentials(settings)
        at = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else None
    except (SettingsError, ValueError) as problem:
        print(problem, file=sys.stderr)
        return 2
    clock: Clock = SystemClock()
    if at is not None:
        clock = FixedClock(at if at.tzinfo else at.replace(tzinfo=UTC))
    reframe = build(settings, clock=clock)
    try:
        report = reframe.checkins.send_due()
    finally:
        reframe.shutdown()
    for sent in report.sent:
        print(f"sent {sent.team_id} {sent.user_id} {sent.week}")
    print(f"check-ins at {clock.now().isoformat()}: {report}")
    return 0


@contextmanager
def _privacy() -> Iterator[tuple[Settings, PrivacyService] | None]:
    """Settings and the privacy service on the configured database (None, with the
    problem printed, when the settings are wrong)."""
    from bot.config import SettingsError, load_settings
    from bot.wiring import build_privacy, database

    try:
        settings = load_settings()
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        yield None
        return
    with database(settings) as db:
        yield settings, build_privacy(db=db)


def run_data_export(args: argparse.Namespace) -> int:
    with _privacy() as ready:
        if ready is None:
            return 2
        exported = ready[1].export_rep(team_id=args.team, user_id=args.user)
    json.dump(exported, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def run_data_purge(args: argparse.Namespace) -> int:
    from bot.services.privacy import parse_age

    with _privacy() as ready:
        if ready is None:
            return 2
        settings, privacy = ready
        try:
            age = parse_age(args.older_than or f"{settings.data_retention_days}d")
        except ValueError as problem:
            print(f"--older-than: {problem}", file=sys.stderr)
            return 2
        deleted = privacy.purge_older_than(age)
    print(f"deleted {deleted.nudges} nudge(s) and {deleted.checkins} check-in(s) older than {age}")
    return 0


def run_home_preview(args: argparse.Namespace) -> int:
    """Someone's App Home, printed as Slack would show it; nothing is sent or changed."""
    from bot.config import SettingsError, load_settings
    from bot.slack.digest_blocks import render_text
    from bot.wiring import build_home_preview, database

    try:
        settings = load_settings()
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        return 2
    with database(settings) as db:
        view = build_home_preview(
            settings, db=db, team_id=args.team, user_id=args.user, admin=args.admin
        )
    blocks = [b.to_dict() for b in view.blocks or []]
    if args.format in ("both", "json"):
        json.dump({"type": "home", "blocks": blocks}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    if args.format == "both":
        sys.stdout.write("\n")
    if args.format in ("both", "text"):
        sys.stdout.write(render_text([_with_buttons_shown(b) for b in blocks]))
    return 0


def _with_buttons_shown(block: dict[str, Any]) -> dict[str, Any]:
    """Buttons as [Label] lines in the text rendering."""
    if block.get("type") != "actions":
        return block
    labels = [e.get("text", {}).get("text", "") for e in block.get("elements", [])]
    return {"type": "context", "elements": [{"text": "  ".join(f"[{t}]" for t in labels)}]}


def run_digest_preview(args: argparse.Namespace) -> int:
    """The digest a workspace would get, printed; nothing is posted or recorded."""
    from bot.config import SettingsError, load_settings
    from bot.domain.schedule import parse_week
    from bot.slack.digest_blocks import (
        DigestWording,
        build_digest_blocks,
        digest_summary,
        render_text,
    )
    from bot.wiring import build_digests, database, digest_config_for

    try:
        settings = load_settings()
        if args.week:
            parse_week(args.week)
    except (SettingsError, ValueError) as problem:
        print(problem, file=sys.stderr)
        return 2
    with database(settings) as db:
        digests = build_digests(settings, db=db, config_for=digest_config_for(settings, db))
        digest = digests.compose(args.team, args.week)
    blocks = build_digest_blocks(digest, DigestWording.load())
    if args.format in ("both", "json"):
        message = {"text": digest_summary(digest), "blocks": [b.to_dict() for b in blocks]}
        json.dump(message, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    if args.format == "both":
        sys.stdout.write("\n")
    if args.format in ("both", "text"):
        sys.stdout.write(render_text(blocks))
    return 0
