"""local_runtime.services.aws and local_runtime.services.broker start the real moto and Tansu, and stop them cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from local_runtime.deploy import create_kafka_topics
from local_runtime.services import aws
from local_runtime.services.aws import EmbeddedAws
from local_runtime.services.broker import EmbeddedKafka

ROOT = Path(__file__).resolve().parents[4]
MSK_TEMPLATE = ROOT / "tests" / "fixtures" / "msk" / "template.yaml"


def _gone(pid: int) -> bool:
    """True once the process no longer exists (stop() reaps it, so not even a zombie is left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# ------------------------------------------------------------------------------------ AWS


def test_aws_env_has_dummy_credentials_only() -> None:
    env = aws.aws_env("http://127.0.0.1:1234", "eu-west-1")
    assert env == {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1234",
    }


def test_moto_endpoint_answers(moto_endpoint: str) -> None:
    assert moto_endpoint.startswith("http://127.0.0.1:")
    assert aws.account_id(moto_endpoint) == "123456789012"
    assert isinstance(aws.client("dynamodb", moto_endpoint).list_tables()["TableNames"], list)


@pytest.mark.parametrize("mode", ["subprocess", "thread"])
def test_embedded_aws_starts_and_stops(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    server = EmbeddedAws(mode=mode)  # type: ignore[arg-type]
    with server:
        endpoint = server.endpoint_url
        pid = server.pid
        sqs = aws.client("sqs", endpoint)
        url = sqs.create_queue(QueueName="probe")["QueueUrl"]
        assert url.startswith(endpoint) or "probe" in url
        assert server.env()["AWS_ENDPOINT_URL"] == endpoint
    if mode == "subprocess":
        assert pid is not None and _gone(pid)
    else:
        assert pid is None
    with pytest.raises(EndpointConnectionError):
        aws.client("sqs", endpoint).list_queues()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.endpoint_url


def test_external_aws_endpoint_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    with EmbeddedAws() as server:
        assert server.is_external and server.pid is None
        assert server.endpoint_url == "http://127.0.0.1:4566"
    assert server.endpoint_url == "http://127.0.0.1:4566"


# ------------------------------------------------------------------------------------ Kafka


def test_topics_get_n_partitions_and_creation_is_idempotent(kafka_bootstrap: str, unique_name: str) -> None:
    topics = [f"{unique_name}-a", f"{unique_name}-b"]
    assert create_kafka_topics(kafka_bootstrap, topics, partitions=4) == {t: "created" for t in topics}
    assert create_kafka_topics(kafka_bootstrap, topics, partitions=4) == {t: "exists" for t in topics}
    metadata = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=5)
    assert {t: len(metadata.topics[t].partitions) for t in topics} == {t: 4 for t in topics}


def test_produce_consume_roundtrip(kafka_bootstrap: str, unique_name: str) -> None:
    topic = unique_name
    create_kafka_topics(kafka_bootstrap, [topic], partitions=3)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    sent = {f"shipment-{i}": json.dumps({"n": i}).encode() for i in range(20)}
    for key, value in sent.items():
        producer.produce(topic, key=key.encode(), value=value, headers=[("trace", b"ab")])
    assert producer.flush(10) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": unique_name,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: dict[str, bytes] = {}
    partitions: set[int] = set()
    deadline = time.monotonic() + 30
    try:
        while len(received) < len(sent) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            received[message.key().decode()] = message.value()
            partitions.add(message.partition())
            assert message.headers() == [("trace", b"ab")]
    finally:
        consumer.close()
    assert received == sent
    assert len(partitions) > 1  # keys spread over the partitions


def test_embedded_kafka_stops_even_with_a_client_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    kafka = EmbeddedKafka()
    bootstrap = kafka.start()
    pid = kafka.pid
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.list_topics(timeout=5)  # an open connection makes Tansu wait ~5 s on SIGTERM
    started = time.monotonic()
    kafka.stop()
    assert time.monotonic() - started < 4  # a short grace for memory storage, then SIGKILL
    assert pid is not None and _gone(pid)
    kafka.stop()  # idempotent
    del admin


def test_external_kafka_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    with EmbeddedKafka() as kafka:
        assert kafka.is_external and kafka.pid is None
        assert kafka.bootstrap_servers == "127.0.0.1:9"


# ------------------------------------------------------------------------------------ `logistics deploy`


def test_cli_deploy_creates_resources_and_topics(moto_endpoint: str, kafka_bootstrap: str, unique_name: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "local_runtime.cli",
            "deploy",
            "--template",
            str(MSK_TEMPLATE),
            "--stack-name",
            unique_name,
            "--endpoint-url",
            moto_endpoint,
            "--kafka-bootstrap-servers",
            kafka_bootstrap,
            "--partitions",
            "2",
            "--parameter-overrides",
            f"OrdersTopic={unique_name}-orders",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resources"]["FailureQueue"]["physical_id"] == f"{unique_name}-FailureQueue"
    assert summary["kafka_topics"][f"{unique_name}-orders"] == "created"
    assert set(summary["kafka_topics"]) == {f"{unique_name}-orders", "returns", "returns-dlq"}
    metadata = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=5)
    assert len(metadata.topics[f"{unique_name}-orders"].partitions) == 2


def test_cli_deploy_dry_run_and_missing_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    base = [sys.executable, "-m", "local_runtime.cli", "deploy", "--template", str(MSK_TEMPLATE)]
    dry = subprocess.run([*base, "--dry-run"], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert dry.returncode == 0, dry.stderr
    actions = {(i["action"], i["logical_id"]) for i in json.loads(dry.stdout)}
    assert ("CreateQueue", "FailureQueue") in actions and ("Skip", "ConsumerFunction") in actions
    refused = subprocess.run(base, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert refused.returncode == 2 and "needs an endpoint" in refused.stderr
