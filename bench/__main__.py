"""`python -m bench`: every benchmark, one after the other."""

from __future__ import annotations

import sys

from bench import pipeline


def main() -> None:
    pipeline.main(sys.argv[1:])
    try:
        from bench import dashboard_scaling
    except ImportError as exc:  # pragma: no cover - the dashboard bench is optional
        print(f"[dashboard] skipped: {exc}")
    else:
        dashboard_scaling.main([])


if __name__ == "__main__":
    main()
