"""Embedded AWS: a moto server on 127.0.0.1, or the endpoint named by ``AWS_ENDPOINT_URL`` (LocalStack).

Credentials are always dummies (``testing``): nothing here can reach real AWS with real credentials.

Why a subprocess by default: our handlers run in this process, and moto's threaded server competes with
them for the GIL. Measured on the 2-core dev box (boto3 PutItem loop against each server; "busy" = one
pure-Python thread spinning in the client process, as an in-process handler would):

=====================  ============  =====================  ================
moto mode              PutItem/s     PutItem/s (busy)       startup
=====================  ============  =====================  ================
threaded (in-process)  214-385       6-10                   ~0.03 s
subprocess             282-333       34-62                  ~0.37 s
=====================  ============  =====================  ================

BatchWriteItem (25 items/call) was 3,700-7,400 items/s in both modes. ``mode="thread"`` stays available
for quick scripts where the 0.35 s start-up matters more.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from local_runtime.services.processes import ManagedProcess, wait_until

__all__ = [
    "DUMMY_CREDENTIALS",
    "EmbeddedAws",
    "account_id",
    "aws_env",
    "client",
    "default_region",
    "environ_overlay",
    "free_port",
    "service_endpoint",
    "service_endpoint_variable",
    "wait_until_ready",
]

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# A profile set in the environment would make botocore skip the env credentials (and could name real ones).
SCRUBBED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")

Mode = Literal["subprocess", "thread"]
# botocore service ids whose spelling differs from the client name (they name the endpoint variables).
_SERVICE_IDS = {"dynamodbstreams": "dynamodb streams"}

# `python -m moto.server`, minus werkzeug's one log line per request.
_MOTO_MAIN = (
    "import logging, sys; logging.getLogger('werkzeug').setLevel(logging.WARNING); "
    "from moto.server import main; main(sys.argv[1:])"
)


def default_region() -> str:
    """``AWS_DEFAULT_REGION`` (or ``AWS_REGION``), else ``us-east-1``."""
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the caller retries if it loses the race)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def aws_env(endpoint_url: str | None, region: str | None = None) -> dict[str, str]:
    """The environment a handler or child process needs to talk to the local endpoint: endpoint, dummy
    credentials and region. Callers should also remove :data:`SCRUBBED_VARIABLES`."""
    region = region or default_region()
    env = {**DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def service_endpoint_variable(service: str) -> str:
    """botocore's per-service endpoint variable of ``service``.

    ``dynamodbstreams`` -> ``AWS_ENDPOINT_URL_DYNAMODB_STREAMS`` (from its service id "DynamoDB Streams").
    """
    return "AWS_ENDPOINT_URL_" + _SERVICE_IDS.get(service, service).upper().replace("-", "_").replace(" ", "_")


def service_endpoint(service: str, endpoint_url: str | None) -> str | None:
    """Where a client of ``service`` should go: its per-service endpoint variable when set, else ``endpoint_url``.

    botocore itself lets ``AWS_ENDPOINT_URL_<SERVICE>`` win over ``AWS_ENDPOINT_URL``; an explicit
    ``endpoint_url`` argument would win over both, so the runtime's own clients apply the same rule here.
    """
    return os.environ.get(service_endpoint_variable(service)) or endpoint_url


@contextlib.contextmanager
def environ_overlay(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the block, then put back what was there."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def client(service: str, endpoint_url: str | None, region: str | None = None, **config: Any) -> Any:
    """A boto3 client for ``service`` on ``endpoint_url`` (or its per-service endpoint variable, see
    :func:`service_endpoint`) with dummy credentials (never the ambient ones)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region or default_region(),
    )
    cfg = Config(retries={"max_attempts": 3, "mode": "standard"}, **config)
    return session.client(service, endpoint_url=service_endpoint(service, endpoint_url), config=cfg)


def account_id(endpoint_url: str | None, region: str | None = None) -> str:
    """The account the endpoint pretends to be (moto ``123456789012``, LocalStack ``000000000000``)."""
    return str(client("sts", endpoint_url, region).get_caller_identity()["Account"])


def wait_until_ready(endpoint_url: str, timeout_s: float = 20.0, is_alive: Any = None) -> None:
    """Block until ``endpoint_url`` answers HTTP (any status), or raise ``TimeoutError``.

    ``is_alive`` (a callable) lets the caller abort early when the server process died.
    """
    def answers() -> bool:
        try:
            with urllib.request.urlopen(endpoint_url.rstrip("/") + "/moto-api/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # it answered: not moto, or a path it does not serve - either way it is up
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    wait_until(answers, f"AWS endpoint {endpoint_url}", timeout_s, is_alive)


class EmbeddedAws(ManagedProcess):
    """Start moto on 127.0.0.1 (free port) unless an endpoint is given or ``AWS_ENDPOINT_URL`` is set.

    Use as a context manager::

        with EmbeddedAws() as aws_:
            dynamodb = client("dynamodb", aws_.endpoint_url, aws_.region)

    ``mode`` is ``"subprocess"`` (default, ``python -m moto.server``) or ``"thread"`` (moto's
    ``ThreadedMotoServer`` in this process).
    """

    def __init__(self, *, mode: Mode = "subprocess", endpoint_url: str | None = None, region: str | None = None,
                 host: str = "127.0.0.1", port: int | None = None, startup_timeout_s: float = 30.0) -> None:
        self.mode = mode
        self.region = region or default_region()
        self.host = host
        self._port = port
        self._startup_timeout_s = startup_timeout_s
        external = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        self.is_external = bool(external)
        self._endpoint_url: str | None = external or None
        self._thread_server: Any = None
        self.label = "moto"

    @property
    def endpoint_url(self) -> str:
        """The endpoint (available after :meth:`start`)."""
        if self._endpoint_url is None:
            raise RuntimeError("EmbeddedAws is not started")
        return self._endpoint_url

    def env(self) -> dict[str, str]:
        """:func:`aws_env` for this endpoint."""
        return aws_env(self.endpoint_url, self.region)

    def start(self) -> str:
        """Start moto (no-op for an external endpoint) and wait until it answers. Returns the endpoint."""
        if self._endpoint_url is not None:
            return self._endpoint_url

        def launch(port: int) -> str:
            url = f"http://{self.host}:{port}"
            if self.mode == "thread":
                self._start_thread(port)
                wait_until_ready(url, self._startup_timeout_s)
            else:
                self._spawn([sys.executable, "-c", _MOTO_MAIN, "-H", self.host, "-p", str(port)],
                            env={**os.environ, **aws_env(None, self.region)})
                wait_until_ready(url, self._startup_timeout_s, is_alive=self._running())
            return url

        self._endpoint_url = self._start_on_free_port(self._port, lambda: free_port(self.host), launch)
        return self._endpoint_url

    def _start_thread(self, port: int) -> None:
        from moto.server import ThreadedMotoServer

        self._thread_server = ThreadedMotoServer(ip_address=self.host, port=port, verbose=False)
        self._thread_server.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop what :meth:`start` started (SIGTERM, wait, SIGKILL). Safe to call twice."""
        if self._thread_server is not None:
            with contextlib.suppress(Exception):
                self._thread_server.stop()
            self._thread_server = None
        self._stop_process(timeout_s, timeout_s)
        if not self.is_external:
            self._endpoint_url = None

