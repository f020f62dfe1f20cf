"""When a Kafka mapping's lag calls for one more poller (local_runtime/esm/kafka/pollers.py)."""

from __future__ import annotations

import pytest

from local_runtime.esm.kafka.pollers import DRAIN_HORIZON_EVALUATIONS, lag_calls_for_a_poller


@pytest.mark.parametrize(
    ("lag", "previous", "adds"),
    [
        (600, None, False),  # the first evaluation has nothing to compare with
        (400, 300, False),  # growing, but within one batch (BatchSize 500)
        (600, 600, True),  # not shrinking
        (900, 600, True),  # growing
        (18_000, 20_000, True),  # a backlog drained 2,000 an evaluation: nine more to go
        (10_000, 20_000, False),  # drained 10,000 an evaluation: gone in one more
        (2_000 * DRAIN_HORIZON_EVALUATIONS, 2_000 * DRAIN_HORIZON_EVALUATIONS + 2_000, False),  # just in time
        (0, 5_000, False),
    ],
)
def test_a_poller_is_added_for_a_lag_that_stays(lag: int, previous: int | None, adds: bool) -> None:
    assert lag_calls_for_a_poller(lag, previous, scale_up_lag=500) is adds
