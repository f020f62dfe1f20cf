"""The dashboard's modules: app.py routes call these (queries, auth, views, KPIs, CSV export, replay)."""
