"""What one Slack post costs the bot: the SDK's own transport next to kept connections.

    python -m benchmarks.slack_transport [--posts 1500] [--rounds 3]

Posts a nudge-sized chat.postMessage (text and one section block) `--posts` times
through slack_sdk's `WebClient` (urllib's urlopen: a new connection every call) and
through Reframe's `KeepAliveWebClient` (bot/slack/transport.py), rounds interleaved,
to the fake Slack in another process, over plain HTTP and over HTTPS (a throwaway
self-signed certificate; slack.com is HTTPS only). Prints CPU of this process and
wall time per post, best round, and the connections the fake accepted. The fake's
own CPU is not counted. A printed report, not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import ssl
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from bot.slack.transport import KeepAliveWebClient  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.tls import answer_over_tls, self_signed  # noqa: E402

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "A reframing question?"}}]


def _serve(conn: Any, tls_files: tuple[str, str] | None) -> None:
    fake = FakeSlack()
    if tls_files is not None:
        answer_over_tls(fake, *tls_files)
    fake.add_channel("C1", "deal-bench")
    fake.start()
    conn.send(fake.api_url)
    while conn.recv() == "accepted?":
        conn.send(fake.connections_accepted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.slack_transport", description=__doc__
    )
    parser.add_argument("--posts", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"reframe-bench-tls-{os.getpid()}"
    directory.mkdir(exist_ok=True)
    cert, key = self_signed(directory)
    trusted = ssl.create_default_context(cafile=str(cert))
    print(
        f"python {sys.version.split()[0]}; {args.posts} posts per round, best of {args.rounds}"
        " interleaved rounds; load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    context = multiprocessing.get_context("fork")
    for scheme, tls_files in (("http", None), ("https", (str(cert), str(key)))):
        parent, child = context.Pipe()
        server = context.Process(target=_serve, args=(child, tls_files), daemon=True)
        server.start()
        url = parent.recv()
        tls = trusted if scheme == "https" else None
        clients: dict[str, WebClient] = {
            "slack_sdk WebClient (a new connection a call)": WebClient(
                token="xoxb-bench", base_url=url, ssl=tls
            ),
            "KeepAliveWebClient (kept connections)": KeepAliveWebClient(
                token="xoxb-bench", base_url=url, ssl=tls
            ),
        }
        best: dict[str, tuple[float, float, int]] = {}
        for _ in range(args.rounds):
            for name, client in clients.items():
                parent.send("accepted?")
                before = parent.recv()
                cpu, wall = time.process_time(), time.perf_counter()
                for n in range(args.posts):
                    client.chat_postMessage(channel="C1", text=f"question {n}", blocks=BLOCKS)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                parent.send("accepted?")
                accepted = parent.recv() - before
                per = (1e6 * cpu / args.posts, 1e6 * wall / args.posts, accepted)
                if name not in best or per[0] < best[name][0]:
                    best[name] = per
        print(f"\nover {scheme.upper()}:")
        for name, (cpu_us, wall_us, accepted) in best.items():
            print(
                f"  {cpu_us:8.1f} us CPU  {wall_us:8.1f} us wall a post"
                f"  {accepted:6d} new connections  {name}"
            )
        parent.send("stop")
        server.join(5)
        server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
