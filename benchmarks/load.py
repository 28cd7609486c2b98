"""Load benchmark for the web role, against a bare Bolt app, in one run.

    python -m benchmarks.load [--rates 200,400,800,1200,1600,2000,3000] [--duration 10]
                              [--repeats 2] [--workers 2] [--threads 8] [--vent-every 10]

Starts, with the same gunicorn settings (bot/processes/gunicorn_conf.py: worker class,
workers, threads, bind, logging), two servers on loopback:

- **bare**: benchmarks/bare_bolt.py, a Bolt app that only acks (Bolt's WSGI
  adapter, Bolt's signature verification, `process_before_response`);
- **reframe**: `python -m bot web` on PostgreSQL (database `reframe_bench` on
  BENCH_PG, default 127.0.0.1:5432, dropped and created anew; SQLite when there
  is no server, and it says so).

Both talk to the fake Slack Web API in this process. First each is started
`--cold-starts` times, interleaved, to time process start to the first 200 on
/healthz; the last start of each stays up, is warmed (all channels and chat
users, a few vents), its memory printed (each worker's RSS, PSS and USS and the
master's, from /proc/<pid>/smaps_rollup; again after the ladder), and then
measured. Then the generator's ceiling against the bare app (as fast as
`--connections` keep-alive sockets allow), and the rate ladder, rate by rate
alternating the apps (bare first on odd passes, reframe first on even ones),
`--repeats` passes.

Each step is a separate generator process (no GIL shared with what it measures):
an open loop that sends signed events on a fixed schedule over keep-alive
connections; an event whose turn comes while every connection waits is sent
late (its lateness is reported), and one not sent within the step is not sent.
1 event in `--vent-every` is a vent; the rest is chatter from 500 reps over 40
deal channels. Vents come from a team of `--vent-reps` reps (default 2,000), each
seen twice in the warm-up, as in a team that uses Reframe, with Reframe's per-rep
limits lifted so that every vent is owed exactly one nudge; `--vent-reps 0` makes
every vent come from a rep never seen before, so each also pays for enrolment,
the invitation and a profile lookup (the worst case: a whole team's first day).

Per step: events/s answered 200, ack latency p50/p99 (from send to answer),
errors (non-200, refused or dropped connections, no answer in 10 s), CPU
milliseconds per event of the server (gunicorn master and workers, user+system
from /proc/<pid>/stat, before the step and after it settled), the largest
worker's RSS, for reframe PostgreSQL's CPU (its backends on the bench
database) and transactions per event, and nudges lost (a vent acked 200 whose
nudge never reached the fake Slack within 30 s) or doubled; also the
generator's own CPU and lateness, and how busy the whole machine was. A step
holds when events/s >= 95% of the target, p99 <= 250 ms and there are no errors;
an app's pass stops after `--give-up-after` steps in a row that did not hold.
`--profile DIR` samples one worker with py-spy during each ladder step (read the
result with `python -m benchmarks.profile_report DIR`). A printed report, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.slack_requests import SIGNING_SECRET  # noqa: E402

VENTS = [
    "their DM is a jerk tbh, he'll never give us a shot",
    "procurement is just stalling on purpose, they always do this",
    "their champion is useless, he never does what he promises",
]
CHATTER = [
    "sent the revised SOW to their procurement team, call booked for Thursday",
    "legal redlines came back, mostly formatting, will turn them today",
    "demo went fine, they want pricing for 40 seats",
    "updated the forecast in the CRM",
]
CHANNELS = [f"C0BENCH{i:03d}" for i in range(40)]
CHAT_REPS = 500

HOLD_RATIO = 0.95
HOLD_P99_MS = 250.0
ANSWER_TIMEOUT = 10.0  # the generator gives up on an answer after this long
SEND_GRACE = 0.5  # an event this late past the step's end is not sent at all
CLK_TCK = os.sysconf("SC_CLK_TCK")
# What each server's worker logs once its app is built (bot/processes/web_app.py, bare_bolt.py).
READY = {"reframe": "web worker ready", "bare": "bare worker ready"}


# -- the events -----------------------------------------------------------------------


def is_vent(i: int, vent_every: int) -> bool:
    return vent_every > 0 and i % vent_every == 0


# How many reps the vents come from (`--vent-reps`), read by the generator processes
# (spawned: they get it through the environment). 0: every vent from a rep never seen.
VENT_REPS_ENV = "REFRAME_BENCH_VENT_REPS"


def vent_reps() -> int:
    return int(os.environ.get(VENT_REPS_ENV, "0"))


def vent_user(i: int, vent_every: int) -> str:
    """Event i's rep: a new one, or the pool's reps in turn (7919 is prime, so
    consecutive vents go round the whole pool before a rep vents again)."""
    pool = vent_reps()
    return f"UVENT{i:08d}" if pool <= 0 else f"UVENT{(i // vent_every * 7919) % pool:08d}"


def message_ts(i: int) -> str:
    return f"{1700000000 + i // 1_000_000}.{i % 1_000_000:06d}"


def event_body(i: int, vent_every: int) -> str:
    """Event number `i` (unique over the whole run: its ts, event id and vent rep)."""
    vent = is_vent(i, vent_every)
    event = {
        "type": "message",
        "channel": CHANNELS[i % len(CHANNELS)],
        "channel_type": "channel",
        "user": vent_user(i, vent_every) if vent else f"UCHAT{i % CHAT_REPS:04d}",
        "text": VENTS[i % len(VENTS)] if vent else CHATTER[i % len(CHATTER)],
        "ts": message_ts(i),
    }
    return json.dumps(
        {
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"EvBENCH{i:010d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
            "event": event,
        }
    )


def signed_request(port: int, body: str, signer: Any) -> bytes:
    stamp = str(int(time.time()))
    signature = signer.generate_signature(timestamp=stamp, body=body)
    data = body.encode()
    head = (
        "POST /slack/events HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n"
        f"X-Slack-Request-Timestamp: {stamp}\r\n"
        f"X-Slack-Signature: {signature}\r\n"
        "\r\n"
    )
    return head.encode() + data


# -- the load generator (its own process) ---------------------------------------------


def parse_response(buf: bytes) -> tuple[int, bool] | None:
    """(status, keep-alive) once `buf` holds a whole HTTP/1.1 response, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked, keep = 0, False, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value
        elif name == "connection":
            keep = value != "close"
    body = buf[end + 4 :]
    if chunked:
        return (status, keep) if body.endswith(b"0\r\n\r\n") else None
    return (status, keep) if len(body) >= length else None


@dataclass
class _Conn:
    sock: socket.socket
    index: int = -1
    sent: float = 0.0
    buf: bytes = b""


def _connect(port: int) -> _Conn:
    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return _Conn(sock)


def generate(
    port: int,
    first: int,
    count: int,
    rate: float,
    duration: float,
    vent_every: int,
    connections: int,
    out: Any,
) -> None:
    """Send events first..first+count-1, event k due at start + k/rate; report back.

    One thread, one selector: no thread switching, and nothing else in the
    process competes for its GIL. Latency is from the request's send to its
    answer; lateness is from its due time to its send.
    """
    from slack_sdk.signature import SignatureVerifier

    signer = SignatureVerifier(SIGNING_SECRET)
    requests = [
        signed_request(port, event_body(i, vent_every), signer) for i in range(first, first + count)
    ]
    selector = selectors.DefaultSelector()
    idle: deque[_Conn] = deque()
    for _ in range(connections):
        idle.append(_connect(port))
        time.sleep(0.002)  # spread the accepts over the workers
    latencies: list[float] = []
    lateness: list[float] = []
    errors: Counter[str] = Counter()
    ok_vents: list[int] = []
    ok = 0
    busy: dict[int, _Conn] = {}
    cpu_started = time.process_time()
    start = time.perf_counter() + 0.1
    stop_sending = start + duration + SEND_GRACE
    last_answer = start
    k = 0
    unsent = 0
    next_timeout_check = start + 0.5

    def replace(conn: _Conn) -> None:
        with contextlib.suppress(OSError):
            conn.sock.close()
        try:
            idle.append(_connect(port))
        except OSError:
            errors["connect"] += 1

    while True:
        now = time.perf_counter()
        if k < count and now >= stop_sending:
            unsent, k = count - k, count
        while k < count and idle and start + k / rate <= now:
            conn = idle.popleft()
            conn.index, conn.sent, conn.buf = first + k, now, b""
            lateness.append(now - (start + k / rate))
            k += 1
            try:
                conn.sock.sendall(requests[k - 1])
            except OSError:
                errors["send"] += 1
                replace(conn)
                continue
            selector.register(conn.sock, selectors.EVENT_READ, conn)
            busy[conn.sock.fileno()] = conn
        if k >= count and not busy:
            break
        # Wake for the next due event, or at least every 50 ms (timeouts, the step's end).
        timeout = 0.05
        if k < count and idle:
            timeout = min(timeout, max(0.0, start + k / rate - time.perf_counter()))
        for key, _ in selector.select(timeout):
            conn = key.data
            try:
                data = conn.sock.recv(65536)
            except OSError:
                data = b""
            answered = time.perf_counter()
            conn.buf += data
            parsed = parse_response(conn.buf) if data else None
            if data and parsed is None:
                continue  # more of the answer to come
            selector.unregister(conn.sock)
            del busy[key.fd]
            latencies.append(answered - conn.sent)
            last_answer = answered
            if parsed is None:  # closed before a whole answer
                errors["dropped"] += 1
                replace(conn)
                continue
            status, keep = parsed
            if status == 200:
                ok += 1
                if is_vent(conn.index, vent_every):
                    ok_vents.append(conn.index)
            else:
                errors[f"http_{status}"] += 1
            if keep:
                idle.append(conn)
            else:
                replace(conn)
        now = time.perf_counter()
        if busy and now >= next_timeout_check:
            next_timeout_check = now + 0.5
            for fd, conn in list(busy.items()):
                if now - conn.sent > ANSWER_TIMEOUT:
                    selector.unregister(conn.sock)
                    del busy[fd]
                    errors["timeout"] += 1
                    latencies.append(now - conn.sent)
                    replace(conn)
    cpu = time.process_time() - cpu_started
    wall = max(last_answer, start + 1e-6) - start
    for conn in idle:
        conn.sock.close()
    out.put(
        {
            "sent": count - unsent,
            "unsent": unsent,
            "ok": ok,
            "elapsed": wall,
            "latencies": latencies,
            "lateness": lateness,
            "errors": dict(errors),
            "ok_vents": ok_vents,
            "generator_cpu": cpu,
        }
    )


def run_generator(
    port: int,
    first: int,
    count: int,
    rate: float,
    duration: float,
    vent_every: int,
    connections: int,
) -> dict[str, Any]:
    context = mp.get_context("spawn")
    out: Any = context.Queue()
    process = context.Process(
        target=generate, args=(port, first, count, rate, duration, vent_every, connections, out)
    )
    process.start()
    try:
        result: dict[str, Any] = out.get(timeout=duration + ANSWER_TIMEOUT + 120)
    finally:
        process.join(30)
        if process.is_alive():
            process.kill()
    return result


# -- what the processes spend (/proc) -------------------------------------------------


def user_system_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of one process (all its threads), 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0, 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime (14, 15)


def cpu_seconds(pid: int) -> float:
    return sum(user_system_seconds(pid))


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass(frozen=True)
class Footprint:
    """One process's memory, MB: RSS counts every page it maps, pages shared with the
    master or the other worker included; PSS splits each shared page between the
    processes mapping it (the sum over processes is what the machine spends); USS is
    its own pages only (what stopping it would give back)."""

    rss: float
    pss: float
    uss: float

    def __str__(self) -> str:
        return f"RSS {self.rss:.0f} / PSS {self.pss:.0f} / USS {self.uss:.0f} MB"


def footprint(pid: int) -> Footprint:
    """From /proc/<pid>/smaps_rollup (Linux 4.14+); zeros once the process is gone."""
    kb: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, _, value = line.partition(":")
            kb[name] = int(value.split()[0])
    except OSError:
        return Footprint(0.0, 0.0, 0.0)
    uss = kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)
    return Footprint(kb.get("Rss", 0) / 1024, kb.get("Pss", 0) / 1024, uss / 1024)


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # leave out guest time (already counted in user)
    return (total - idle) / CLK_TCK, total / CLK_TCK


class Postgres:
    """PostgreSQL's side of reframe's steps: its backends' CPU and the transactions,
    read when the server is on this machine (its processes in /proc)."""

    def __init__(self, admin_dsn: str, database: str) -> None:
        import psycopg

        self._conn = psycopg.connect(admin_dsn, autocommit=True)
        self._database = database

    def snapshot(self) -> tuple[dict[int, float], int]:
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self._database,)
        ).fetchall()
        xacts = self._conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (self._database,),
        ).fetchone()
        return {int(pid): cpu_seconds(int(pid)) for (pid,) in rows}, int(xacts[0] if xacts else 0)

    @staticmethod
    def spent(
        before: tuple[dict[int, float], int], after: tuple[dict[int, float], int]
    ) -> tuple[float, int]:
        """(CPU seconds of the bench database's backends, transactions) between two snapshots."""
        cpu = sum(seconds - before[0].get(pid, 0.0) for pid, seconds in after[0].items())
        return cpu, after[1] - before[1]

    def close(self) -> None:
        self._conn.close()


# -- the two servers ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare_database(name: str) -> tuple[str, str | None]:
    """(DATABASE_URL, admin DSN for PostgreSQL or None): a fresh database."""
    if name == "test":
        raise SystemExit("the database named `test` belongs to the test suite; choose another")
    host = os.environ.get("BENCH_PG", "127.0.0.1:5432")
    admin = f"postgresql://postgres@{host}/postgres"
    try:
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@{host}/{name}", admin
    except Exception as error:  # noqa: BLE001 - fall back to SQLite, and say so
        print(f"PostgreSQL unavailable ({type(error).__name__}); using SQLite", file=sys.stderr)
        return f"sqlite:///{tempfile.mkdtemp()}/bench.db", None


@dataclass
class Server:
    name: str  # "bare" or "reframe"
    command: list[str]
    env: dict[str, str]
    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    cold_starts: list[float] = field(default_factory=list)
    ready_starts: list[float] = field(default_factory=list)
    log: Path | None = None

    def start(self) -> float:
        """Start it; seconds from the process's start to the first 200 on /healthz (and,
        in `ready_starts`, on /readyz: a Reframe worker is alive before its app is built)."""
        self.port = _free_port()
        self.log = self.workdir / f"{self.name}-{len(self.cold_starts)}.log"
        env = {**self.env, "PORT": str(self.port)}
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, env=env, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = started + 60
        # The bare app builds everything before it serves: alive is ready there.
        paths = ["/healthz", "/readyz"] if self.name == "reframe" else ["/healthz"]
        while time.perf_counter() < deadline and paths:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited at start; see {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", paths[0])
                if conn.getresponse().status == 200:
                    took = time.perf_counter() - started
                    if paths.pop(0) == "/healthz":
                        self.cold_starts.append(took)
                    if not paths:
                        self.ready_starts.append(took)
                        return self.cold_starts[-1]
                    continue
            except OSError:
                pass
            time.sleep(0.01)
        self.stop()
        raise SystemExit(f"{self.name} did not answer {paths[0]} within 60 s; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def workers(self) -> list[int]:
        return children(self.pid)

    def cpu(self) -> float:
        """Master and workers, user + system seconds."""
        return cpu_seconds(self.pid) + sum(cpu_seconds(pid) for pid in self.workers())

    def worker_rss(self) -> list[float]:
        return [rss_mb(pid) for pid in self.workers()]

    def print_footprint(self) -> None:
        """Each worker's RSS, PSS and USS, and the master's (gunicorn's arbiter)."""
        workers = "; ".join(str(footprint(pid)) for pid in self.workers())
        print(f"  {self.name:<8} workers: {workers}")
        print(f"  {'':<8} master:  {footprint(self.pid)}")

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        """Every worker has built its app (each logs READY once): connections made
        before that would all go to the workers already up."""
        assert self.log is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count(READY[self.name]) >= count:
                return
            time.sleep(0.1)
        raise SystemExit(
            f"{self.name}: {count} workers not ready in {timeout:.0f} s; see {self.log}"
        )


def _servers(
    args: argparse.Namespace, fake: FakeSlack, database_url: str, workdir: Path
) -> list[Server]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": str(args.workers),
        "WEB_THREADS": str(args.threads),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": args.log_level,
        "PYTHONPATH": str(ROOT),
    }
    if args.vent_reps > 0:
        # Every vent deserves its nudge (the count of lost and doubled needs one per
        # vent): no per-channel cooldown, no daily limit. The bare app ignores these.
        env.update({"NUDGE_CHANNEL_COOLDOWN_HOURS": "0", "NUDGE_DAILY_LIMIT": "1000000"})
    for name in ("PROMETHEUS_MULTIPROC_DIR", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID"):
        env.pop(name, None)
    from bot.processes.roles import GUNICORN_CONFIG

    bare = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        GUNICORN_CONFIG,
        "benchmarks.bare_bolt:create_app()",
    ]
    reframe = [sys.executable, "-m", "bot", "web"]
    return [Server("bare", bare, env, workdir), Server("reframe", reframe, env, workdir)]


# -- profiling (py-spy) ---------------------------------------------------------------


class Profiler:
    """py-spy on one worker during each measured step: collapsed stacks (by default of
    the thread holding the GIL), sampled `hz` times a second, saved as <app>-<rate>-<n>.txt with
    the events that worker answered in <same>.json (benchmarks/profile_report.py)."""

    def __init__(self, py_spy: str, directory: Path, hz: int, flags: list[str]) -> None:
        self._py_spy = py_spy
        self._flags = flags
        self.directory = directory
        self._hz = hz
        self._n = 0
        directory.mkdir(parents=True, exist_ok=True)

    def start(
        self, server: Server, pid: int
    ) -> tuple[subprocess.Popen[bytes], Path, int, tuple[float, float]]:
        self._n += 1
        out = self.directory / f"{server.name}-{self._n:02d}.txt"
        command = [self._py_spy, "record", "--pid", str(pid), "--rate", str(self._hz)]
        command += ["--format", "raw", "--nonblocking", *self._flags, "--output", str(out)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # attached before the first event
        return process, out, pid, user_system_seconds(pid)

    def finish(
        self,
        sampling: tuple[subprocess.Popen[bytes], Path, int, tuple[float, float]],
        app: str,
        rate: float,
        events: float,
    ) -> None:
        process, out, pid, (user_before, system_before) = sampling
        user, system = user_system_seconds(pid)
        process.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        if not out.exists():
            print(f"py-spy wrote nothing: {err.decode(errors='replace')[-300:]}", file=sys.stderr)
            return
        meta = {
            "app": app,
            "rate": rate,
            "events": events,
            "hz": self._hz,
            # What /proc says the profiled worker spent meanwhile (py-spy sees only Python
            # holding the GIL: not the kernel's side of sockets, nor C code that lets go).
            "worker_user_seconds": user - user_before,
            "worker_system_seconds": system - system_before,
        }
        out.with_suffix(".json").write_text(json.dumps(meta))


# -- one step -------------------------------------------------------------------------


class Nudges:
    """Counts the nudges the fake Slack received, per vent (a nudge replies in the
    thread of the message it answers: its thread_ts is the vent's ts)."""

    def __init__(self, fake: FakeSlack) -> None:
        self._fake = fake
        self._seen = 0
        self.per_message: Counter[str] = Counter()

    def update(self) -> None:
        with self._fake.lock:
            calls = self._fake.state.calls[self._seen :]
            self._seen += len(calls)
        for call in calls:
            user, ts = call.params.get("user"), call.params.get("thread_ts")
            if (
                call.method == "chat.postEphemeral"
                and isinstance(user, str)
                and user.startswith("UVENT")
                and isinstance(ts, str)
            ):
                self.per_message[ts] += 1

    def settle(self, vents: list[int], timeout: float = 30) -> tuple[int, int]:
        """(lost, doubled) among these vents, once every one has its nudge or `timeout`."""
        stamps = [message_ts(i) for i in vents]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.update()
            if all(self.per_message[ts] for ts in stamps):
                break
            time.sleep(0.2)
        time.sleep(1)  # anything beyond one per vent would be a double
        self.update()
        lost = sum(1 for ts in stamps if not self.per_message[ts])
        doubled = sum(self.per_message[ts] - 1 for ts in stamps if self.per_message[ts] > 1)
        return lost, doubled


@dataclass
class Run:
    """The numbering of events over the whole run (each event is unique)."""

    next_event: int = 1

    def take(self, count: int) -> int:
        first = self.next_event
        self.next_event += count
        return first


def step(
    server: Server,
    rate: float,
    duration: float,
    *,
    run: Run,
    vent_every: int,
    connections: int,
    nudges: Nudges,
    postgres: Postgres | None,
    profiler: Profiler | None = None,
) -> dict[str, Any]:
    count = max(1, int(rate * duration))
    first = run.take(count)
    workers_before = server.workers()
    worker_cpu_before = [cpu_seconds(pid) for pid in workers_before]
    cpu_before = server.cpu()
    own_before = time.process_time()
    busy_before = machine_busy_seconds()
    db_before = postgres.snapshot() if postgres is not None and server.name == "reframe" else None
    wall_before = time.perf_counter()
    sampling = profiler.start(server, workers_before[0]) if profiler and workers_before else None
    result = run_generator(server.port, first, count, rate, duration, vent_every, connections)
    lost = doubled = 0
    if server.name == "reframe":
        lost, doubled = nudges.settle(result["ok_vents"])
    else:
        time.sleep(1)  # the same tail as reframe's settling, for the CPU reading
    cpu = server.cpu() - cpu_before
    worker_cpu = [
        cpu_seconds(pid) - before
        for pid, before in zip(workers_before, worker_cpu_before, strict=True)
    ]
    if sampling is not None and profiler is not None:
        # The profiled worker's share of the events, by its share of the workers' CPU.
        share = worker_cpu[0] / sum(worker_cpu) if sum(worker_cpu) > 0 else 1.0
        profiler.finish(sampling, server.name, rate, events=result["ok"] * share)
    wall = time.perf_counter() - wall_before
    busy = machine_busy_seconds()
    db_cpu, xacts = (
        Postgres.spent(db_before, postgres.snapshot())
        if postgres is not None and db_before is not None
        else (0.0, 0)
    )
    own = time.process_time() - own_before
    latencies = sorted(result["latencies"]) or [0.0]
    lateness = sorted(result["lateness"]) or [0.0]
    answered = max(1, result["ok"])
    events_per_s = result["ok"] / result["elapsed"] if result["elapsed"] > 0 else 0.0
    errors = sum(result["errors"].values())
    p99 = 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    machine = busy[0] - busy_before[0]
    ours = cpu + result["generator_cpu"] + own + db_cpu
    return {
        "app": server.name,
        "target": rate,
        "sent": result["sent"],
        "unsent": result["unsent"],
        "ok": result["ok"],
        "events_per_s": events_per_s,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": p99,
        "max_ms": 1000 * latencies[-1],
        "late_p99_ms": 1000 * lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))],
        "errors": errors,
        "error_kinds": result["errors"],
        "cpu_ms_per_event": 1000 * cpu / answered,
        "db_cpu_ms_per_event": 1000 * db_cpu / answered,
        "xacts_per_event": xacts / answered,
        "rss_mb": max(server.worker_rss() or [0.0]),
        "workers_restarted": server.workers() != workers_before,
        "worker_cpu_shares": [c / sum(worker_cpu) if sum(worker_cpu) else 0 for c in worker_cpu],
        "vents": len(result["ok_vents"]),
        "lost": lost,
        "doubled": doubled,
        "generator_cpu_pct": 100 * result["generator_cpu"] / max(result["elapsed"], 1e-6),
        "machine_busy_cores": machine / wall,
        "other_load_cores": max(0.0, machine - ours) / wall,
        "holds": events_per_s >= HOLD_RATIO * rate and p99 <= HOLD_P99_MS and errors == 0,
    }


# -- the report -----------------------------------------------------------------------

BARE_COLUMNS = f"{'ev/s':>6} {'p50':>6} {'p99':>6} {'err':>4} {'cpu/ev':>6} {'RSS':>4} {'ok':>2}"
REFRAME_COLUMNS = (
    f"{'ev/s':>6} {'p50':>6} {'p99':>6} {'err':>4} {'cpu/ev':>6} {'db/ev':>5} {'tx/ev':>5} "
    f"{'RSS':>4} {'lost':>4} {'dbl':>3} {'ok':>2}"
)


def _bare_cells(r: dict[str, Any] | None) -> str:
    if r is None:
        return f"{'(not run)':>{len(BARE_COLUMNS)}}"
    return (
        f"{r['events_per_s']:>6.0f} {r['p50_ms']:>6.1f} {r['p99_ms']:>6.1f} {r['errors']:>4} "
        f"{r['cpu_ms_per_event']:>6.2f} {r['rss_mb']:>4.0f} {'Y' if r['holds'] else '-':>2}"
    )


def _reframe_cells(r: dict[str, Any] | None) -> str:
    if r is None:
        return f"{'(not run)':>{len(REFRAME_COLUMNS)}}"
    return (
        f"{r['events_per_s']:>6.0f} {r['p50_ms']:>6.1f} {r['p99_ms']:>6.1f} {r['errors']:>4} "
        f"{r['cpu_ms_per_event']:>6.2f} {r['db_cpu_ms_per_event']:>5.2f} "
        f"{r['xacts_per_event']:>5.2f} {r['rss_mb']:>4.0f} {r['lost']:>4} {r['doubled']:>3} "
        f"{'Y' if r['holds'] else '-':>2}"
    )


def _side_cells(bare: dict[str, Any] | None, reframe: dict[str, Any] | None) -> str:
    runs = [r for r in (bare, reframe) if r is not None]
    gen = "/".join(f"{r['generator_cpu_pct']:.0f}" for r in runs)
    late = "/".join(f"{r['late_p99_ms']:.0f}" for r in runs)
    other = "/".join(f"{r['other_load_cores']:.1f}" for r in runs)
    return f"{gen:>7} {late:>9} {other:>7}"


def print_ladder(
    pass_no: int, rates: list[float], results: dict[tuple[str, float], dict[str, Any]]
) -> None:
    print(f"\npass {pass_no} ({'bare' if pass_no % 2 else 'reframe'} first at each rate)")
    print(f"{'':>6} | {'bare Bolt':^{len(BARE_COLUMNS)}} | {'Reframe':^{len(REFRAME_COLUMNS)}} |")
    side = f"{'gen CPU%':>7} {'late p99':>9} {'others':>7}"
    print(f"{'target':>6} | {BARE_COLUMNS} | {REFRAME_COLUMNS} | {side}")
    for rate in rates:
        bare, reframe = results.get(("bare", rate)), results.get(("reframe", rate))
        if bare is None and reframe is None:
            continue
        cells = f"{_bare_cells(bare)} | {_reframe_cells(reframe)} | {_side_cells(bare, reframe)}"
        print(f"{rate:>6.0f} | {cells}")
        for r in (bare, reframe):
            if r is None:
                continue
            shares = r["worker_cpu_shares"]
            uneven = len(shares) > 1 and max(shares) > 0.65
            if r["errors"] or r["unsent"] or r["workers_restarted"] or uneven:
                notes = []
                if uneven:
                    split = "/".join(f"{100 * x:.0f}" for x in shares)
                    notes.append(f"workers' CPU split {split}% (connections landed unevenly)")
                if r["errors"]:
                    notes.append(f"errors {r['error_kinds']}")
                if r["unsent"]:
                    notes.append(f"{r['unsent']} events never sent (all connections waiting)")
                if r["workers_restarted"]:
                    notes.append("a worker was replaced during the step")
                print(f"{'':>6}   {r['app']}: " + "; ".join(notes))


def highest_holding(
    results: dict[tuple[str, float], dict[str, Any]], app: str, rates: list[float]
) -> float:
    """The highest rate that held, with every lower rate run holding too."""
    best = 0.0
    for rate in rates:
        r = results.get((app, rate))
        if r is None or not r["holds"]:
            break
        best = rate
    return best


def print_summary(
    rates: list[float],
    passes: list[dict[tuple[str, float], dict[str, Any]]],
    ceilings: list[dict[str, Any]],
) -> None:
    print("\nsummary")
    tops: dict[str, list[float]] = {"bare": [], "reframe": []}
    for results in passes:
        for app in tops:
            tops[app].append(highest_holding(results, app, rates))
    for app, values in tops.items():
        print(
            f"  {app:<8} highest holding rate per pass: {', '.join(f'{v:.0f}/s' for v in values)}"
        )
    bare_top, reframe_top = min(tops["bare"]), min(tops["reframe"])
    if bare_top:
        print(
            f"  Reframe/bare, highest rate held in every pass: {reframe_top:.0f}/{bare_top:.0f} "
            f"= {reframe_top / bare_top:.2f}"
        )
    ratios = []
    for rate in rates:
        per_pass = []
        for results in passes:
            bare, reframe = results.get(("bare", rate)), results.get(("reframe", rate))
            if bare and reframe and bare["holds"] and reframe["holds"]:
                per_pass.append(reframe["cpu_ms_per_event"] / bare["cpu_ms_per_event"])
        if per_pass:
            ratios.extend(per_pass)
            print(
                f"  at {rate:>5.0f}/s Reframe's server CPU per event is "
                + ", ".join(f"{x:.1f}x" for x in per_pass)
                + " bare's"
            )
    if ratios:
        median = statistics.median(ratios)
        print(f"  Reframe's CPU per event relative to bare (median over held steps): {median:.1f}x")
    for ceiling in ceilings:
        server_cores = ceiling["cpu_ms_per_event"] * ceiling["events_per_s"] / 1000
        print(
            f"  generator ceiling against bare: {ceiling['events_per_s']:.0f} events/s answered "
            f"({ceiling['connections']} connections, p99 {ceiling['p99_ms']:.0f} ms), generator "
            f"CPU {ceiling['generator_cpu_pct']:.0f}% of a core, bare server {server_cores:.2f} "
            f"cores, others {ceiling['other_load_cores']:.1f} cores"
        )


LEGEND = """
ev/s: answered 200 per second; p50/p99: ack latency, ms; err: errors;
cpu/ev: server CPU ms per event (gunicorn master + workers, user + system);
db/ev: PostgreSQL backends' CPU ms per event; tx/ev: database transactions per event;
RSS: largest worker, MB; lost/dbl: nudges lost/doubled after settling;
ok: the step held (>= 95% of target, p99 <= 250 ms, no errors);
gen CPU%: the generator's own CPU, % of a core (bare/reframe); late p99: sends behind
schedule, ms; others: cores busy with anything but these servers, the generator,
PostgreSQL's bench backends and this process (other people's work on the machine)"""


# -- the run --------------------------------------------------------------------------


def warm_up(server: Server, run: Run, vent_every: int, nudges: Nudges, connections: int) -> None:
    """Every chat rep in every channel once per worker, and a few vents: caches
    (channel names, known reps, auth.test, settings) filled, code paths taken.
    With a pool of venting reps (`--vent-reps`), each of them vents twice first:
    enrolled, invited and known to both workers, as the reps of a team in use are."""
    rate, duration = 250.0, 2 * CHAT_REPS * 2 / 250.0
    pool = vent_reps()
    if pool > 0:
        rate = 1000.0
        duration = max(duration, 2 * pool * vent_every / rate)
    first = run.take(int(rate * duration))
    result = run_generator(
        server.port, first, int(rate * duration), rate, duration, vent_every, connections
    )
    if server.name == "reframe":
        nudges.settle(result["ok_vents"])


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f} s" for v in values) + f" (median {statistics.median(values):.2f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rates", default="200,400,800,1200,1600,2000,3000", help="the ladder, events/s"
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds of steady load per step"
    )
    parser.add_argument("--repeats", type=int, default=2, help="passes over the ladder")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (WEB_THREADS)")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL of both servers")
    parser.add_argument(
        "--vent-every", type=int, default=10, help="1 event in N is a vent (0: none)"
    )
    parser.add_argument(
        "--vent-reps",
        type=int,
        default=2000,
        help="vents come from this many reps of the team, each seen before the measured steps "
        "(Reframe's per-rep limits lifted so every vent is nudged); 0: each vent from a rep "
        "never seen before (enrolment and invitation on every vent)",
    )
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--cold-starts", type=int, default=2, help="starts timed per app")
    parser.add_argument(
        "--give-up-after",
        type=int,
        default=2,
        help="an app's pass stops after this many steps in a row that did not hold",
    )
    parser.add_argument(
        "--ceiling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure the generator's ceiling against the bare app",
    )
    parser.add_argument("--only", choices=("bare", "reframe"), help="measure one app (profiling)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy one worker in each ladder step; read with benchmarks/profile_report.py",
    )
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="the py-spy binary")
    parser.add_argument("--profile-hz", type=int, default=250, help="py-spy samples per second")
    parser.add_argument(
        "--profile-flags",
        default="--gil",
        help="py-spy record flags: --gil (Python holding the GIL, the default), '' (every "
        "running thread), '--native' (with C frames)",
    )
    parser.add_argument(
        "--database", default="reframe_bench", help="PostgreSQL database (recreated)"
    )
    args = parser.parse_args(argv)
    os.environ[VENT_REPS_ENV] = str(args.vent_reps)
    if args.profile and not args.py_spy:
        parser.error("--profile needs py-spy (pip install py-spy, or --py-spy PATH)")
    profiler = (
        Profiler(args.py_spy, args.profile, args.profile_hz, args.profile_flags.split())
        if args.profile
        else None
    )
    rates = [float(r) for r in args.rates.split(",")]

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average at start "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"gunicorn: bot/processes/gunicorn_conf.py for both, {args.workers} workers x "
        f"{args.threads} threads; "
        f"{args.duration:.0f} s per step; 1 in {args.vent_every} a vent, from "
        + (f"a team of {args.vent_reps} reps; " if args.vent_reps > 0 else "new reps; ")
        + f"{args.connections} keep-alive connections"
    )
    from bot.processes.cpu_pinning import PinningMode, should_pin, usable_cpus

    # The servers read the same variable (and refuse a value outside auto|on|off).
    pinning = cast(PinningMode, os.environ.get("WEB_CPU_PINNING", "auto"))
    pinned = should_pin(pinning, usable_cpus(), args.workers)
    print(
        f"WEB_CPU_PINNING={pinning}: each worker {'on a CPU of its own' if pinned else 'unpinned'}"
    )
    fake = FakeSlack().start()
    for i, channel in enumerate(CHANNELS):
        fake.add_channel(channel, f"deal-bench-{i:03d}")
    database_url, admin = _prepare_database(args.database)
    workdir = Path(tempfile.mkdtemp(prefix="reframe-load-"))
    servers = _servers(args, fake, database_url, workdir)
    if args.only:
        servers = [s for s in servers if s.name == args.only]
    # Migrate once here: every timed start of reframe is a restart onto a current schema.
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=servers[0].env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    migrated = time.perf_counter() - began
    print(f"database: {database_url.split('@')[-1]} (migrating it from empty: {migrated:.1f} s)")
    postgres = Postgres(admin, args.database) if admin else None
    nudges = Nudges(fake)
    run = Run()
    try:
        for n in range(args.cold_starts):
            for server in servers:
                server.start()
                if n < args.cold_starts - 1:
                    server.stop()
        print(
            "\ncold start (process start -> first 200 on /healthz; reframe: `python -m bot web`, "
            "settings, auth.test, schema check, gunicorn, first worker alive), then to the "
            "first 200 on /readyz (reframe: that worker's app built, detector loaded)"
        )
        for server in servers:
            print(f"  {server.name:<8} {_seconds(server.cold_starts)}")
            if server.name == "reframe":
                print(f"  {'/readyz':<8} {_seconds(server.ready_starts)}")
        for server in servers:
            server.wait_for_workers(args.workers)
            warm_up(server, run, args.vent_every, nudges, args.connections)
        print("\nmemory after warm-up (RSS: every page mapped; PSS: shared pages split; USS: own)")
        for server in servers:
            server.print_footprint()

        ceilings = []
        passes: list[dict[tuple[str, float], dict[str, Any]]] = []
        bare_server = next((s for s in servers if s.name == "bare"), None)
        for pass_no in range(1, args.repeats + 1):
            if args.ceiling and bare_server is not None:
                ceiling = step(
                    bare_server,
                    20000,
                    args.duration / 2,
                    run=run,
                    vent_every=args.vent_every,
                    connections=args.connections,
                    nudges=nudges,
                    postgres=None,
                )
                ceiling["connections"] = args.connections
                ceilings.append(ceiling)
            results: dict[tuple[str, float], dict[str, Any]] = {}
            failing = {s.name: 0 for s in servers}
            order = servers if pass_no % 2 else list(reversed(servers))
            for rate in rates:
                for server in order:
                    if failing[server.name] >= args.give_up_after:
                        continue
                    r = step(
                        server,
                        rate,
                        args.duration,
                        run=run,
                        vent_every=args.vent_every,
                        connections=args.connections,
                        nudges=nudges,
                        postgres=postgres,
                        profiler=profiler,
                    )
                    results[(server.name, rate)] = r
                    failing[server.name] = 0 if r["holds"] else failing[server.name] + 1
            passes.append(results)
            print_ladder(pass_no, rates, results)
        print(LEGEND)
        print_summary(rates, passes, ceilings)
        print("\nmemory after the ladder")
        for server in servers:
            server.print_footprint()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\nload average at end {load}; logs in {workdir}")
        if profiler is not None:
            print(f"profiles in {profiler.directory}")
    finally:
        for server in servers:
            server.stop()
        if postgres is not None:
            postgres.close()
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
