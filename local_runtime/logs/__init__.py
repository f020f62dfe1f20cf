"""Function logs on the embedded CloudWatch Logs: shipping what functions write, and reading it back.

:mod:`.shipper` (:class:`CloudWatchLogsSink`, the sink the workers write to) sends lines in requests cut by
:mod:`.batches`; :mod:`.tail` reads them back (``logistics logs``); :mod:`.endpoints` is where ``logistics up``
records its endpoint for ``logistics logs`` to find.
"""

from local_runtime.logs.endpoints import RecordedEndpoints, read_endpoints, record_endpoints
from local_runtime.logs.shipper import CloudWatchLogsSink, SinkStats
from local_runtime.logs.tail import EndpointUnreachable, Follower, LogsUnavailable, NoLogGroup, follow, read_events

__all__ = [
    "CloudWatchLogsSink",
    "EndpointUnreachable",
    "Follower",
    "LogsUnavailable",
    "NoLogGroup",
    "RecordedEndpoints",
    "SinkStats",
    "follow",
    "read_endpoints",
    "read_events",
    "record_endpoints",
]
