"""`python -m bench`: every benchmark, one after the other."""

from __future__ import annotations

import sys

from bench import edd, pipeline, registry
from bench.cost import run as cost


def main() -> None:
    pipeline.main(sys.argv[1:])
    # DynamoDB request units per event and what they cost (also `python -m bench.cost`); writes its figures
    # into bench/results/latest.json under "cost".
    cost.main([])
    edd.main([])  # predicted delivery dates backtested on a simulated history (share inside p10-p90, MAE)
    registry.main([])  # schema registry: deserialization per event next to the in-function validation
    try:
        from bench import dashboard_scaling
    except ImportError as exc:  # pragma: no cover - the dashboard bench is optional
        print(f"[dashboard] skipped: {exc}")
    else:
        dashboard_scaling.main([])


if __name__ == "__main__":
    main()
