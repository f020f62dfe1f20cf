"""The dashboard's modules: app.py routes call the handlers (api, pages), which share the use cases."""
