"""The delivery-date backtest: predictions are made, settled against the simulator's truth, and counted."""

from __future__ import annotations

from bench.edd import run


def test_backtest_settles_predictions_against_true_deliveries() -> None:
    figures = run(events=6000, seed=3, concurrency=60)
    total = figures["all"]
    assert total["predictions"] > 100
    assert 0.5 <= total["inside_window"] <= 1.0  # the goal (85%) is measured by `make bench`, not asserted here
    assert total["mae_hours"] > 0 and total["carrier_eta_mae_hours"] > 0
    # The lanes' residuals correct the carrier's ETA: the same predictions, a lower error (a seeded history).
    assert total["mae_hours"] < total["carrier_eta_mae_hours"]
    for key in ("predictions", "without_statistics"):
        assert sum(f[key] for name, f in figures.items() if name != "all") == total[key]
    # "Trending late" is scored against the truth, and tells more than flagging every shipment would (whose
    # precision would be the share that was late).
    assert 0 < total["late_share"] < 1
    assert total["trending_late_precision"] > total["late_share"] and total["trending_late_recall"] > 0.3
