"""The local API the agent of agent.py talks to, on 127.0.0.1 in a thread of the test:
POST /v1/chat answers with a tool call naming `items` item ids (overlapping from task to
task, so the agent's memory sees some again), GET /items/{id} returns an item after
`delay` seconds (a backend's latency), POST /hooks/done accepts the agent's report."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def chat_ids(task: int, items: int) -> list[int]:
    return [(task * 3 + j) % 20 for j in range(items)]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:
        data = self._body()
        self.server.count(self.command, self.path)
        if self.path == "/v1/chat":
            task = int(json.loads(data)["messages"][-1]["content"].split()[-1])
            self._send({"tool_call": {"name": "lookup",
                                      "ids": chat_ids(task, self.server.items)}})
        elif self.path.startswith("/hooks/done"):
            self._send({"ok": True})
        else:
            self.send_error(404)

    def do_GET(self) -> None:
        self.server.count(self.command, self.path)
        if self.path.startswith("/items/"):
            time.sleep(self.server.delay)
            item_id = int(self.path.rsplit("/", 1)[1])
            self._send({"id": item_id, "name": f"item {item_id}", "tags": ["a", "b"]})
        else:
            self.send_error(404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, items: int, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.items, self.delay = items, delay
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str], int] = {}

    def count(self, method: str, path: str) -> None:
        route = path.split("?", 1)[0]
        route = "/items/{id}" if route.startswith("/items/") else route
        with self.lock:
            self.requests[(method, route)] = self.requests.get((method, route), 0) + 1


class LocalAPI:
    """`with LocalAPI(items=8) as api:` serves until the block ends; `api.base`,
    `api.requests` (requests served per (method, route))."""

    def __init__(self, items: int = 8, delay: float = 0.005) -> None:
        self.server = _Server(items, delay)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def requests(self) -> dict[tuple[str, str], int]:
        with self.server.lock:
            return dict(self.server.requests)

    def __enter__(self) -> LocalAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
