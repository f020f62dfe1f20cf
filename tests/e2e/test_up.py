"""`logistics up` (what `make demo` runs) as a user runs it: comes up, serves, and stops cleanly.

* Ctrl-C at full load stops everything within 5 s (measured from the signal) and leaves no process and no port
  behind; a batch in flight at the stop is committed only if its invocation completed (checked against a broker
  and a DynamoDB that outlive the runtime).
* SIGKILL of ``logistics up`` itself takes every process it started with it (they die with their parent), and
  frees every port.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.services.aws import EmbeddedAws, client, free_port
from local_runtime.services.broker import EmbeddedKafka
from local_runtime.services.dynamodb_local import EmbeddedDynamoDB, can_run
from logistics.adapters.registry_serializer import unframe

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

FULL_LOAD_RATE = "200"  # events/s: more than ingest keeps up with on 2 cores, so batches are always in flight
STOP_LIMIT_S = 5.0  # issue 10: Ctrl-C stops everything within 5 s
GONE_WITHIN_S = 5.0  # after SIGKILL: the kernel signals the children at once; they exit in well under a second
ADDRESS = re.compile(r"(?:127\.0\.0\.1|localhost):(\d+)")


# -- processes, read from /proc ---------------------------------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (index 0 = state, 1 = ppid, 3 = session, 19 =
    start time), or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:160].decode(errors="replace")
    except OSError:
        return "?"


def process_tree(pid: int) -> dict[int, tuple[str, str]]:
    """Every live descendant of ``pid`` (children of each of its threads, recursively): pid -> (start time,
    command line). The start time tells a survivor from a new process that got a recycled pid."""
    found: dict[int, tuple[str, str]] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                pids = [int(p) for p in children.read_text().split()]
            except OSError:
                continue
            for child in pids:
                stat = _stat(child)
                if child not in found and stat is not None and stat[0] != "Z":
                    found[child] = (stat[19], _command(child))
                    frontier.append(child)
    return found


def survivors(recorded: dict[int, tuple[str, str]], leader: int) -> list[str]:
    """Recorded processes still running (same pid and start time, not a zombie), plus any process still in the
    session or process group of ``leader`` (the runtime ran as a session leader)."""
    left = []
    for pid, (started, command) in recorded.items():
        stat = _stat(pid)
        if stat is not None and stat[0] != "Z" and stat[19] == started:
            left.append(f"{pid} {command}")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != leader:
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] != "Z" and leader in (int(stat[2]), int(stat[3])):
                left.append(f"{entry.name} {_command(int(entry.name))} (session/group of {leader})")
    return left


def port_in_use(port: int) -> bool:
    """True while something accepts connections on the port or holds it bound."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return True
    with socket.socket() as bind:
        bind.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            bind.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def eventually(check: Callable[[], list[Any]], within_s: float) -> list[Any]:
    """Poll ``check()`` (what is still wrong) until it returns nothing or ``within_s`` passed; the last result."""
    deadline = time.monotonic() + within_s
    while (wrong := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return wrong


# -- `logistics up` as a subprocess -----------------------------------------------------------------------------
class Up:
    """``logistics up --simulate`` in its own session, with stdout (banner) and stderr (status lines) collected."""

    def __init__(self, state_dir: Path, rate: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_runtime.cli", "up", "--simulate", "--rate", rate, "--port", str(self.port),
             "--state-dir", str(state_dir), "--status-every", "0.5"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            lines.append(raw.decode(errors="replace").rstrip("\n"))

    def output(self) -> str:
        return "\n".join(["--- stdout", *self.stdout[-40:], "--- stderr", *self.stderr[-40:]])

    def wait_serving(self, timeout_s: float = 180) -> None:
        """Until the dashboard answers HTTP."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"`logistics up` exited\n{self.output()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5) as response:
                    assert response.status in (200, 302, 401)
                return
            except urllib.error.HTTPError as exc:
                assert exc.code in (302, 401), exc
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        raise AssertionError(f"the dashboard did not answer on {self.port}\n{self.output()}")

    def counters(self) -> tuple[int, int]:
        """(records ingested, Kafka lag) of the latest status line; (0, 0) before the first."""
        for line in reversed(self.stderr):
            if (ingested := re.search(r"\bingested (\d+)", line)) and (lag := re.search(r"\blag (\d+)", line)):
                return int(ingested.group(1)), int(lag.group(1))
        return 0, 0

    def wait_flowing(self, backlog: bool = False, timeout_s: float = 120) -> None:
        """Until a status line shows records delivered to the ingest function and, with ``backlog``, records
        still waiting behind them (Kafka lag): the mappings are busy, with batches in flight."""
        deadline = time.monotonic() + timeout_s
        while (counts := self.counters())[0] < 1 or (backlog and counts[1] < 1):
            assert self.process.poll() is None, f"`logistics up` exited\n{self.output()}"
            assert time.monotonic() < deadline, f"events are not flowing (ingested, lag: {counts})\n{self.output()}"
            time.sleep(0.2)

    def banner(self) -> dict[str, str]:
        """The banner's "what runs where" rows: name -> where."""
        rows = {}
        for line in self.stdout:  # "  <name padded>  <where>"
            if line.startswith("  ") and len(parts := re.split(r"\s{2,}", line.strip(), maxsplit=1)) == 2:
                rows[parts[0]] = parts[1]
        return rows

    def own_ports(self) -> set[int]:
        """The dashboard's port and those of the services the runtime started itself (not "(external)")."""
        rows = self.banner()
        ports = {self.port}
        for name in ("AWS endpoint", "DynamoDB", "Kafka", "Dashboard"):
            where = rows.get(name, "")
            if "(external)" not in where and (match := ADDRESS.search(where)):
                ports.add(int(match.group(1)))
        return ports

    def stop_with(self, signum: int, timeout_s: float = 60) -> float:
        """Send ``signum``; seconds until the process exited."""
        sent = time.monotonic()
        os.kill(self.process.pid, signum)
        while self.process.poll() is None:
            if time.monotonic() - sent > timeout_s:
                raise AssertionError(f"`logistics up` still runs {timeout_s}s after signal {signum}\n{self.output()}")
            time.sleep(0.01)
        took = time.monotonic() - sent
        for reader in self._readers:
            reader.join(5)
        return took

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def runtime_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_ENDPOINT_URL", "KAFKA_BOOTSTRAP_SERVERS", "AWS_ENDPOINT_URL_DYNAMODB",
                        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")}
    return {**env, **extra}


@pytest.fixture
def up_factory(tmp_path: Path) -> Iterator[Callable[..., Up]]:
    started: list[Up] = []

    def start(rate: str = FULL_LOAD_RATE, **env: str) -> Up:
        up = Up(tmp_path / "state", rate, runtime_env(**env))
        started.append(up)
        return up

    yield start
    for up in started:
        up.kill()


# -- Ctrl-C -----------------------------------------------------------------------------------------------------
def test_ctrl_c_at_full_load_stops_everything_within_5s(up_factory: Callable[..., Up]) -> None:
    up = up_factory()
    up.wait_serving()
    up.wait_flowing(backlog=True)  # a backlog: batches are in flight when the signal comes
    tree = process_tree(up.process.pid)
    commands = [command for _, command in tree.values()]
    assert any("tansu" in c for c in commands) and any("moto" in c for c in commands), commands
    ports = up.own_ports()
    assert len(ports) >= 3, up.banner()  # dashboard, moto, Tansu (and DynamoDB Local when it runs here)

    took = up.stop_with(signal.SIGINT)

    assert up.process.returncode == 0, up.output()
    assert took < STOP_LIMIT_S, f"Ctrl-C took {took:.1f}s\n{up.output()}"
    assert "Dashboard" in "\n".join(up.stdout) and "IngestFunction" in "\n".join(up.stdout)
    assert any("stopped: every process" in line for line in up.stderr), up.output()
    assert eventually(lambda: survivors(tree, up.process.pid), 2.0) == []
    assert eventually(lambda: sorted(p for p in ports if port_in_use(p)), 2.0) == []


@pytest.fixture
def external_kafka(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedKafka]:
    """A broker of the test's own, which outlives `logistics up`."""
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with EmbeddedKafka() as kafka:
        yield kafka


@pytest.fixture
def external_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A DynamoDB (and streams) endpoint of the test's own: DynamoDB Local when it runs here, else moto."""
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"):
        monkeypatch.delenv(variable, raising=False)  # the suite's own DynamoDB would win over this one
    service: EmbeddedDynamoDB | EmbeddedAws = EmbeddedDynamoDB() if can_run() else EmbeddedAws()
    with service:
        yield service.endpoint_url


def kafka_mappings(bootstrap: str) -> tuple[list[Any], set[str]]:
    """The template's Kafka mappings that read its source topics, and its ``kafka://`` on-failure topics."""
    from local_runtime.cloudformation import load_template

    template = load_template(ROOT / "template.yaml", config_env="local",
                             parameter_overrides={"KafkaBootstrapServers": bootstrap})
    mappings = template.event_source_mappings()
    failure_topics = {m.on_failure.target for m in mappings if m.on_failure and m.on_failure.kind == "kafka"}
    # The failure topics' own reader is left out: a refused record's letter is filed under its original source.
    sources = [m for m in mappings if m.kind in ("MSK", "SelfManagedKafka") and not set(m.topics) <= failure_topics]
    return sources, failure_topics


def committed_offsets(bootstrap: str, mappings: list[Any]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the offset each of ``mappings``' consumer groups committed."""
    from confluent_kafka import Consumer, TopicPartition

    offsets = {}
    for spec in mappings:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": spec.consumer_group_id,
                             "enable.auto.commit": False})
        try:
            for topic in spec.topics:
                partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
                for tp in consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10):
                    offsets[(tp.topic, tp.partition)] = tp.offset
        finally:
            consumer.close()
    return offsets


def records_before(bootstrap: str, topic: str, partition: int, end: int) -> list[Any]:
    """The messages of a partition at offsets [0, end)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-up-reader", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, partition, 0)])
    records: list[Any] = []
    deadline = time.monotonic() + 60
    try:
        while len(records) < end and time.monotonic() < deadline:
            # Asks for no more than are missing: consume() returns once it has them instead of waiting out its
            # timeout for a full batch.
            for message in consumer.consume(end - len(records), timeout=1):
                if message.error() is None and message.offset() < end:
                    records.append(message)
    finally:
        consumer.close()
    assert len(records) == end, f"{topic}-{partition}: read {len(records)} of {end} records"
    return records


def given_up_sources(bootstrap: str, topics: set[str]) -> set[str]:
    """The sources (``<topic>-<partition>@<offset>``) of every record the mappings sent to the ``kafka://``
    on-failure ``topics`` (AWS's on-failure record, which carries the record)."""
    from confluent_kafka import Consumer, TopicPartition

    from logistics.adapters.dead_letter import letters_from_failure_message

    sources: set[str] = set()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-up-reader", "enable.auto.commit": False})
    try:
        ends = {(topic, p): consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for topic in topics for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions}
    finally:
        consumer.close()
    for (topic, partition), end in ends.items():
        for message in records_before(bootstrap, topic, partition, end):
            sources |= {letter.source for letter in letters_from_failure_message(message.value())}
    return sources


def scan(dynamodb: Any, table: str, attribute: str) -> set[str]:
    values: set[str] = set()
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="#a",
                                                     ExpressionAttributeNames={"#a": attribute})
    for page in pages:
        values |= {item[attribute]["S"] for item in page["Items"] if attribute in item}
    return values


def test_ctrl_c_commits_no_offset_past_what_was_stored(
        up_factory: Callable[..., Up], external_kafka: EmbeddedKafka, external_dynamodb: str) -> None:
    """Offsets committed at the stop never pass a record whose event was not stored: every record below a
    committed offset is on the timeline (by event id), dead-lettered (by source), or in the mapping's on-failure
    topic (refused by the schema registry: DeadLettersFunction files it from there, which the stop may have cut
    short). The broker and DynamoDB outlive `logistics up`, so what it committed and stored can be read
    afterwards."""
    bootstrap = external_kafka.bootstrap_servers
    up = up_factory(KAFKA_BOOTSTRAP_SERVERS=bootstrap, AWS_ENDPOINT_URL_DYNAMODB=external_dynamodb,
                    AWS_ENDPOINT_URL_DYNAMODB_STREAMS=external_dynamodb)
    up.wait_serving()
    up.wait_flowing(backlog=True)
    tree = process_tree(up.process.pid)
    rows = up.banner()
    assert "(external)" in rows["Kafka"] and "(external)" in rows["DynamoDB"], rows

    took = up.stop_with(signal.SIGINT)

    assert up.process.returncode == 0, up.output()
    assert took < STOP_LIMIT_S, f"Ctrl-C took {took:.1f}s\n{up.output()}"
    assert eventually(lambda: survivors(tree, up.process.pid), 2.0) == []

    mappings, failure_topics = kafka_mappings(bootstrap)
    committed = {tp: offset for tp, offset in committed_offsets(bootstrap, mappings).items() if offset > 0}
    assert committed, f"nothing was committed\n{up.output()}"
    dynamodb = client("dynamodb", external_dynamodb)
    stored_ids = scan(dynamodb, rows["TimelineTable"], "event_id")
    dead_lettered = scan(dynamodb, rows["DeadLetterTable"], "source") | given_up_sources(bootstrap, failure_topics)
    not_stored = []
    for (topic, partition), end in sorted(committed.items()):
        for message in records_before(bootstrap, topic, partition, end):
            source = f"{topic}-{partition}@{message.offset()}"
            try:
                event_id = json.loads(unframe(message.value())).get("event_id")  # the registry's framing
            except (ValueError, AttributeError, TypeError):
                event_id = None
            if event_id not in stored_ids and source not in dead_lettered:
                not_stored.append(source)
    assert not_stored == [], f"committed but not stored: {not_stored[:20]} (committed {committed})"


# -- SIGKILL ----------------------------------------------------------------------------------------------------
def test_sigkill_of_up_takes_every_process_and_port_with_it(up_factory: Callable[..., Up]) -> None:
    up = up_factory()
    up.wait_serving()
    up.wait_flowing()  # the functions' workers run: they are in the tree
    tree = process_tree(up.process.pid)
    commands = [command for _, command in tree.values()]
    assert any("tansu" in c for c in commands) and any("moto" in c for c in commands), commands
    ports = up.own_ports()
    assert len(ports) >= 3, up.banner()

    up.stop_with(signal.SIGKILL)

    assert up.process.returncode == -signal.SIGKILL
    assert eventually(lambda: survivors(tree, up.process.pid), GONE_WITHIN_S) == []
    assert eventually(lambda: sorted(p for p in ports if port_in_use(p)), GONE_WITHIN_S) == []
