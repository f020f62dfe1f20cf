"""The whole stack of a SAM template on one machine: embedded broker and AWS, resources deployed from
the template, every Kafka and DynamoDB Streams mapping emulated, each function in its own worker processes
with its output on CloudWatch Logs, and the template's Api / HttpApi events served over HTTP.

Nothing here knows about logistics: point it at any SAM project's template.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from local_runtime.apigateway import ApiGatewayServer
from local_runtime.cloudformation import FunctionSpec, Template, load_template
from local_runtime.cloudformation.api_events import api_routes
from local_runtime.deploy import Deployment, create_kafka_topics, deploy_template, kafka_topics
from local_runtime.deploy.glue import delete_registries
from local_runtime.esm.dynamodb.mapping import DynamoDBStreamMapping, JsonFileCheckpointStore, MemoryCheckpointStore
from local_runtime.esm.kafka.mapping import KafkaEventSourceMapping
from local_runtime.esm.kafka.pollers import KafkaPollers, poller_bounds
from local_runtime.esm.metrics import MetricsPublisher, deployed_mapping_ids
from local_runtime.esm.schedules import ScheduleRunner, schedules
from local_runtime.esm.spec import MappingSpec
from local_runtime.invoke import Invoker, LogSink, StreamSink, found_interpreters
from local_runtime.logs import CloudWatchLogsSink
from local_runtime.remote.emulator import EmulatorFunctions, deploy_to_emulator
from local_runtime.services import aws
from local_runtime.services.aws import EmbeddedAws
from local_runtime.services.broker import EmbeddedKafka
from local_runtime.services.dynamodb import DynamoDBChoice, Preference, choose_dynamodb
from local_runtime.services.processes import ManagedProcess, stop_together

log = logging.getLogger(__name__)

KAFKA_PARAMETER = "KafkaBootstrapServers"  # passed the embedded broker's address when a template declares it
# A stop with a time limit: the share of it given to invocations in flight, the extra moment a mapping gets to
# commit and leave its group after that, and the least time a service gets between SIGTERM and SIGKILL.
_DRAIN_SHARE = 0.5
_CLOSE_S = 0.5
_MIN_GRACE_S = 0.5


class _Counters(Protocol):
    def snapshot(self) -> dict[str, Any]: ...


class RunningMapping(Protocol):
    """What the platform needs of an emulated mapping, Kafka or DynamoDB Streams alike."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> MappingSpec: ...

    @property
    def counters(self) -> _Counters: ...

    def start(self) -> None: ...

    def request_stop(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...

    def status(self) -> dict[str, Any]: ...


@dataclass
class PlatformOptions:
    """How to run a template locally."""

    template: str | os.PathLike[str] = "template.yaml"
    config_env: str | None = "local"
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    stack_name: str | None = None
    region: str | None = None
    partitions: int = 3
    # Pollers per Kafka mapping. None: Lambda's on-demand scaling, from one poller up to one per partition
    # while the lag grows (each partition then has its own batch in flight); a number: that many, fixed.
    kafka_pollers: int | None = None
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int | None = 8000  # where the template's Api/HttpApi events are served; None: not served
    # Function output goes to CloudWatch Logs (/aws/lambda/<FunctionName>) on the AWS endpoint, and is echoed
    # to ``function_log_echo`` when given (`logistics up` writes it to <state_dir>/functions.log).
    cloudwatch_logs: bool = True
    # Extra environment variables per function logical id ("*": every function), over the template's
    # (`sam local --env-vars`).
    function_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    function_log_echo: TextIO | None = None
    state_dir: str | os.PathLike[str] | None = None  # stream checkpoints survive a mapping restart here
    consumer_config: Mapping[str, Any] = field(default_factory=lambda: {"session.timeout.ms": 6000})
    retry_backoff_s: float = 0.2
    kafka_storage: str = "memory://tansu/"
    aws_endpoint: str | None = None  # use this emulator instead of starting one (else AWS_ENDPOINT_URL, else moto)
    kafka_bootstrap: str | None = None  # use this broker instead of starting one (else KAFKA_BOOTSTRAP_SERVERS)
    dynamodb: Preference = "auto"  # DynamoDB Local when it can run, else moto (see services/dynamodb.py)
    schedules: bool = True  # fire the template's rate(...) schedules
    schedule_speedup: float = 1.0
    # Deploy the functions to the AWS endpoint (MiniStack, LocalStack) and run them there: its own pollers drive
    # the DynamoDB Streams mappings, Kafka mappings and schedules invoke through its Invoke API (local_runtime/remote).
    functions_in_emulator: bool = False
    emulator_python: str | None = None  # the interpreter the emulator runs functions with (MiniStack's own)
    # Delete the stack's Glue schema registries at stop (its tables and queues stay): for an AWS endpoint that
    # outlives many stacks (a test session's moto allows 10 registries per account). Off for `logistics up`:
    # records in a persistent broker name their registry's version ids, which a new registry would not have.
    delete_registries_on_stop: bool = False


class LocalPlatform:
    """Start with :meth:`start` (or as a context manager); :meth:`stop` leaves no process behind."""

    def __init__(self, options: PlatformOptions | None = None) -> None:
        self.options = options or PlatformOptions()
        opts = self.options
        self.aws = EmbeddedAws(region=opts.region, endpoint_url=opts.aws_endpoint)
        self.kafka = EmbeddedKafka(storage_engine=opts.kafka_storage, bootstrap_servers=opts.kafka_bootstrap)
        self.dynamodb: DynamoDBChoice | None = None
        self.region = self.aws.region  # the template's region once deployed
        self.template: Template | None = None
        self.deployment: Deployment | None = None
        self.invoker: Invoker | None = None
        self.kafka_mappings: list[RunningMapping] = []
        self.stream_mappings: list[RunningMapping] = []
        self.api: ApiGatewayServer | None = None
        self.dashboard_url: str | None = None  # where the API events are served
        self.logs: CloudWatchLogsSink | None = None
        self._stop_requested_at: float | None = None
        self._checkpoints: Any = None
        self.schedules: ScheduleRunner | None = None
        self.emulator: EmulatorFunctions | None = None  # functions_in_emulator: what was deployed there
        self.metrics: MetricsPublisher | None = None  # the mappings' MetricsConfig, on the local CloudWatch
        self._registries_deleted = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, *, mappings: bool = True) -> LocalPlatform:
        """Start services, deploy the template, then the mappings and the dashboard."""
        opts = self.options
        endpoint = self.aws.start()
        self.dynamodb = choose_dynamodb(aws_is_external=self.aws.is_external, preference=opts.dynamodb)
        bootstrap = self.kafka.start()
        overrides = dict(opts.parameter_overrides)
        probe = load_template(opts.template, config_env=opts.config_env, parameter_overrides=overrides,
                              stack_name=opts.stack_name, region=opts.region, endpoint_url=endpoint)
        if KAFKA_PARAMETER in probe.parameters and KAFKA_PARAMETER not in overrides:
            overrides[KAFKA_PARAMETER] = bootstrap
            probe = load_template(opts.template, config_env=opts.config_env, parameter_overrides=overrides,
                                  stack_name=opts.stack_name, region=opts.region, endpoint_url=endpoint)
        self.deployment, self.template = deploy_template(probe, endpoint_url=endpoint, clients=self._deploy_clients())
        self.region = self.template.context.region
        create_kafka_topics(bootstrap, kafka_topics(self.template.event_source_mappings()),
                            partitions=opts.partitions)
        base_env = {**aws.aws_env(endpoint, self.region), **self.dynamodb.env(), "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
        sink: LogSink | None = None
        if opts.cloudwatch_logs:
            self.logs = CloudWatchLogsSink.for_endpoint(self.endpoint_of("logs"), self.region,
                                                        echo=opts.function_log_echo)
            sink = self.logs
        elif opts.function_log_echo is not None:
            sink = StreamSink(opts.function_log_echo)
        functions = [_with_environment(spec, opts.function_env) for spec in self.template.functions()]
        self.invoker = Invoker(functions, region=self.region, base_env=base_env, log_sink=sink)
        if opts.functions_in_emulator:
            self.emulator = deploy_to_emulator(self.template, endpoint, python=opts.emulator_python,
                                               extra_environment={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
        if opts.state_dir is not None:
            Path(opts.state_dir).mkdir(parents=True, exist_ok=True)
            self._checkpoints = JsonFileCheckpointStore(Path(opts.state_dir) / "stream-checkpoints.json")
        else:
            self._checkpoints = MemoryCheckpointStore()
        if mappings:
            self.start_mappings()
        if opts.schedules:
            invoke = self.emulator.invoke_by_name if self.emulator else self.invoker.invoke
            self.schedules = ScheduleRunner(schedules(self.template), invoke, self.region,
                                            self.template.context.account_id, speedup=opts.schedule_speedup)
            self.schedules.start()
        if opts.dashboard_port is not None:
            self._serve_api()
        return self

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` where the platform runs it (DynamoDB and its streams on the chosen
        DynamoDB, everything else on the AWS endpoint)."""
        return aws.client(service, self.endpoint_of(service), self.region)

    def endpoint_of(self, service: str) -> str:
        """The endpoint serving ``service``: the chosen DynamoDB for DynamoDB and its streams, else the AWS one."""
        if service == "dynamodbstreams":
            return self._streams_endpoint()
        if service == "dynamodb" and self.dynamodb is not None and self.dynamodb.endpoint_url:
            return self.dynamodb.endpoint_url
        return self.aws.endpoint_url

    def _deploy_clients(self) -> dict[str, Any] | None:
        """The DynamoDB client of the chosen DynamoDB, when it is not the AWS endpoint."""
        if self.dynamodb is None or self.dynamodb.endpoint_url is None:
            return None
        return {"dynamodb": self.client("dynamodb")}

    def _streams_endpoint(self) -> str:
        if self.dynamodb is not None and self.dynamodb.streams_endpoint_url:
            return self.dynamodb.streams_endpoint_url
        return self.aws.endpoint_url

    def _invoke_function(self, spec: MappingSpec) -> Any:
        assert self.invoker is not None
        if self.emulator is not None:
            return self.emulator.invoke_function(spec.function_logical_id)
        invoker, name = self.invoker, spec.function_logical_id
        return lambda event: invoker.invoke(name, event)

    def _clients(self) -> dict[str, Any]:
        endpoint = self.aws.endpoint_url
        return {f"{s}_client": aws.client(s, endpoint, self.region) for s in ("sqs", "sns", "s3")}

    def start_mappings(self, kinds: tuple[str, ...] = ("MSK", "SelfManagedKafka", "DynamoDB")) -> None:
        """Create and start one emulated mapping per Kafka / DynamoDB event source of the template
        (only those of ``kinds``)."""
        assert self.template is not None and self.invoker is not None
        bootstrap = self.kafka.bootstrap_servers
        for spec in self.template.event_source_mappings():
            if not spec.enabled or spec.kind not in kinds:
                continue
            arn = self.invoker.function(spec.function_logical_id).arn
            mapping: RunningMapping
            if spec.kind in ("MSK", "SelfManagedKafka"):
                def poller(spec: MappingSpec = spec, arn: str = arn) -> KafkaEventSourceMapping:
                    return KafkaEventSourceMapping(
                        spec, self._invoke_function(spec), bootstrap, arn, **self._clients(),
                        glue_client=self.client("glue"), consumer_config=self.options.consumer_config,
                        retry_backoff_s=self.options.retry_backoff_s)

                if self.options.kafka_pollers:  # a fixed number
                    mapping = KafkaPollers([poller() for _ in range(self.options.kafka_pollers)])
                else:  # as Lambda scales: more pollers while the lag grows, within the mode's bounds
                    start, most = poller_bounds(spec, self.options.partitions)
                    mapping = KafkaPollers([poller() for _ in range(start)], factory=poller, maximum=most)
                self.kafka_mappings.append(mapping)
            elif spec.kind == "DynamoDB" and self.emulator and (remote := self.emulator.stream_mapping(spec)):
                mapping = remote  # the emulator's own poller invokes the function
                self.stream_mappings.append(mapping)
            elif spec.kind == "DynamoDB":
                mapping = DynamoDBStreamMapping(
                    spec, self._invoke_function(spec),
                    aws.client("dynamodbstreams", self._streams_endpoint(), self.region), arn,
                    region=self.region, checkpoint_store=self._checkpoints, **self._clients(),
                    retry_backoff_s=self.options.retry_backoff_s)
                self.stream_mappings.append(mapping)
            else:  # pragma: no cover - the loader only emits the kinds above
                continue
            mapping.start()
        log.info("started %d Kafka and %d stream mappings", len(self.kafka_mappings), len(self.stream_mappings))
        self._stop_metrics()  # mappings started again: the old objects' last counts, then the new ones
        # Short timeouts: the last publication happens during a bounded stop.
        cloudwatch = aws.client("cloudwatch", self.endpoint_of("cloudwatch"), self.region, connect_timeout=1,
                                read_timeout=2)
        self.metrics = MetricsPublisher(cloudwatch, [*self.kafka_mappings, *self.stream_mappings],
                                        uuids=deployed_mapping_ids(self.template))
        self.metrics.start()

    def _stop_metrics(self) -> None:
        metrics, self.metrics = self.metrics, None
        if metrics is not None:
            try:
                metrics.stop()  # a last publication of what the stopped mappings counted
            except Exception as exc:  # the embedded AWS already gone: the counts are lost with it
                log.warning("mapping metrics not published: %s", exc)

    def stop_mappings(self, timeout_s: float | None = None) -> None:
        """Stop every mapping, all at once: each finishes its current invocation and commits what succeeded.

        ``timeout_s`` bounds the wait for invocations in flight (None: each mapping's own default). A batch
        whose invocation is still running then is left uncommitted (redelivered by the next start), unless it
        completes later: its thread then commits it (never part of a batch the function did not report done).
        """
        mappings = [*self.kafka_mappings, *self.stream_mappings]
        self.kafka_mappings.clear()
        self.stream_mappings.clear()
        for mapping in mappings:
            mapping.request_stop()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s

        def stop(mapping: RunningMapping) -> None:
            try:
                if deadline is None:
                    mapping.stop()
                else:
                    mapping.stop(max(0.0, deadline - time.monotonic()))
            except Exception:
                log.exception("%s: stop failed", mapping.name)

        threads = [threading.Thread(target=stop, args=(m,), name=f"stop-{m.name}", daemon=True) for m in mappings]
        for thread in threads:
            thread.start()
        for thread in threads:
            # Past the deadline a stop only commits and leaves the group: a moment more, then move on.
            thread.join(None if deadline is None else max(0.0, deadline + _CLOSE_S - time.monotonic()))

    def request_stop(self) -> None:
        """Begin stopping, without waiting: schedules and mappings start no new invocation and the dashboard
        shuts down. :meth:`stop` then waits for them; its ``timeout_s`` counts from the first request."""
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()
        if self.schedules is not None:
            self.schedules.request_stop()
        for mapping in [*self.kafka_mappings, *self.stream_mappings]:
            mapping.request_stop()
        if self.api is not None:
            self.api.request_stop()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop schedules, mappings and the dashboard together, then the broker, DynamoDB Local and the
        emulator together; returns once every process it started has exited (their ports are free).
        Safe to call twice.

        ``timeout_s`` bounds the whole stop, counted from :meth:`request_stop` when that came first (None: wait
        for invocations in flight as long as they take). Invocations get half of it (see :meth:`stop_mappings`);
        the services get what is left, at least half a second, between SIGTERM and SIGKILL.
        """
        self.request_stop()
        assert self._stop_requested_at is not None
        started, self._stop_requested_at = self._stop_requested_at, None
        deadline = None if timeout_s is None else started + timeout_s

        def left(minimum: float = 0.0) -> float | None:
            return None if deadline is None else max(minimum, deadline - time.monotonic())

        if timeout_s is None:
            self.stop_mappings()
        else:
            self.stop_mappings(max(0.0, started + timeout_s * _DRAIN_SHARE - time.monotonic()))
        schedules, self.schedules = self.schedules, None
        if schedules is not None:
            schedules.stop(30.0 if deadline is None else max(0.0, deadline - time.monotonic()))
        api, self.api = self.api, None
        if api is not None:
            api.stop(timeout_s=min(1.0, left() or 1.0))
        self._stop_metrics()
        if self.invoker is not None:
            self.invoker.close()  # the function workers, before the services they talk to
        if self.logs is not None:
            self.logs.flush(min(1.0, left() or 1.0))  # while the endpoint still runs
            self.logs.close(timeout_s=0.5)
            self.logs = None
        if self.options.delete_registries_on_stop:
            self._delete_registries()
        services: list[ManagedProcess] = [self.kafka]
        if self.dynamodb is not None and self.dynamodb.embedded is not None:
            services.append(self.dynamodb.embedded)
        services.append(self.aws)
        stop_together(services, left(_MIN_GRACE_S))

    def _delete_registries(self) -> None:
        if self.deployment is None or self._registries_deleted:
            return
        self._registries_deleted = True  # a second stop finds the endpoint possibly gone
        try:
            delete_registries(self.client("glue"), self.deployment.resources.values())
        except Exception as exc:  # the endpoint gone: nothing left to delete on it
            log.warning("schema registries not deleted: %s", exc)

    def __enter__(self) -> LocalPlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API events ---------------------------------------------------------------------------
    def _serve_api(self) -> None:
        """Serve every Api / HttpApi event of the template on one port, as API Gateway would (the dashboard
        is the repository's DashboardFunction, served exactly as deployed)."""
        assert self.template is not None and self.invoker is not None
        routes = api_routes(self.template)
        if not routes:
            return
        opts = self.options
        self.api = ApiGatewayServer(routes, self.invoker.invoke, host=opts.dashboard_host,
                                    port=opts.dashboard_port or 0,
                                    account_id=self.template.context.account_id).start()
        self.dashboard_url = self.api.url

    # -- status ----------------------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        """Totals over the mappings, for the status line and tests."""
        kafka = [m.counters.snapshot() for m in self.kafka_mappings]
        streams = [m.counters.snapshot() for m in self.stream_mappings]

        def total(rows: list[dict[str, Any]], key: str) -> int:
            return sum(int(r.get(key) or 0) for r in rows)

        return {
            "kafka_records_delivered": total(kafka, "records_delivered"),
            "kafka_invocations": total(kafka, "invocations"),
            "kafka_failures": total(kafka, "failures"),
            "kafka_lag": total(kafka, "lag"),
            "kafka_dead_lettered": total(kafka, "records_dead_lettered"),
            "stream_records_delivered": total(streams, "records_delivered"),
            "stream_failures": total(streams, "failures"),
            "stream_dead_lettered": total(streams, "records_dead_lettered"),
        }

    def describe(self) -> list[tuple[str, str]]:
        """What runs where, for the start-up banner."""
        rows = [("AWS endpoint", self.aws.endpoint_url + (" (external)" if self.aws.is_external else " (moto)")),
                ("DynamoDB", self.dynamodb.description if self.dynamodb else "not started"),
                ("Kafka", self.kafka.bootstrap_servers + (" (external)" if self.kafka.is_external else " (Tansu)"))]
        found = found_interpreters()
        rows.append(("Python runtimes", ", ".join(f"{name} ({i.executable})" for name, i in sorted(found.items()))
                     + " (a function whose Runtime is not found runs on the current one, with a warning)"))
        if self.deployment is not None:
            for logical_id, resource in self.deployment.resources.items():
                rows.append((logical_id, resource.physical_id))
        for m in self.kafka_mappings:
            rows.append((f"mapping {m.name}", f"{','.join(m.spec.topics)} -> {m.spec.function_logical_id}"))
        for m in self.stream_mappings:
            rows.append((f"mapping {m.name}", f"stream -> {m.spec.function_logical_id}"))
        for spec in self.schedules.specs if self.schedules else []:
            rows.append((f"schedule {spec.name}", f"{spec.expression} -> {spec.function_logical_id}"))
        if self.dashboard_url:
            rows.append(("Dashboard", self.dashboard_url))
        return rows


def _with_environment(spec: FunctionSpec, overrides: Mapping[str, Mapping[str, str]]) -> FunctionSpec:
    """``spec`` with the variables of ``overrides["*"]`` and ``overrides[<its logical id>]`` over its own."""
    extra = {**overrides.get("*", {}), **overrides.get(spec.logical_id, {})}
    return dataclasses.replace(spec, environment={**spec.environment, **extra}) if extra else spec
