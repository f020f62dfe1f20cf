"""A local merchant webhook endpoint: verifies each delivery's signature and keeps what it received.

Stands in for the merchants' own servers when the platform runs locally, so signed webhooks are
delivered, verified and counted end to end.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from logistics.webhook_signature import HEADER, SignatureError, verify


class WebhookSink:
    """``POST /<merchant_id>`` verified with that merchant's secret; 401 when the signature fails."""

    def __init__(self, secrets: dict[str, str], host: str = "127.0.0.1", port: int = 0,
                 on_delivery: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.secrets = secrets
        self.deliveries: list[dict[str, Any]] = []
        self.rejected = 0
        self.ids: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._on_delivery = on_delivery
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                merchant = self.path.strip("/").split("/")[-1]
                try:
                    verify(sink.secrets.get(merchant, ""), body, self.headers.get(HEADER, ""))
                except SignatureError:
                    with sink._lock:
                        sink.rejected += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                payload = json.loads(body)
                with sink._lock:
                    sink.deliveries.append(payload)
                    sink.ids[payload.get("id", "")] += 1
                if sink._on_delivery:
                    sink._on_delivery(payload)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:  # quiet: the status line counts instead
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="webhook-sink")

    def url_for(self, merchant_id: str) -> str:
        """The webhook URL to register for ``merchant_id``."""
        return f"{self.base_url}/{merchant_id}"

    def start(self) -> WebhookSink:
        """Serve in a daemon thread; returns ``self``."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()

    @property
    def duplicates(self) -> int:
        """Deliveries of an id already received (at-least-once delivery shows up here)."""
        with self._lock:
            return sum(n - 1 for n in self.ids.values() if n > 1)
