"""The OpenAI-compatible embeddings provider against a local server speaking the protocol."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest
from waypost.retrieval.embeddings import OpenAIEmbedder
from waypost.runtime.errors import ProviderError


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []
    mode = "ok"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _Handler.requests.append(
            {"path": self.path, "auth": self.headers.get("authorization"), **body}
        )
        if _Handler.mode == "slow":
            time.sleep(1.0)
        if _Handler.mode == "error":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": "boom"}')
            return
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0]}
            for i, t in enumerate(body["input"])
        ][::-1]  # out of order: the client sorts by index
        payload = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client timed out
            super().handle()


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.requests, _Handler.mode = [], "ok"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_batches_order_and_normalisation(server: str) -> None:
    emb = OpenAIEmbedder("text-embedding-3-small", base_url=server, api_key="k", batch_size=2)
    out = emb.embed(["a", "bbb", "cc"])
    assert out.shape == (3, 3) and emb.dim == 3
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert out[1][0] > out[2][0] > out[0][0]  # kept in input order
    assert [len(r["input"]) for r in _Handler.requests] == [2, 1]
    assert _Handler.requests[0]["path"] == "/v1/embeddings"
    assert _Handler.requests[0]["auth"] == "Bearer k"


def test_errors_and_timeouts_are_provider_errors(server: str) -> None:
    _Handler.mode = "error"
    with pytest.raises(ProviderError) as failed:
        OpenAIEmbedder("m", base_url=server, api_key=None).embed(["x"])
    assert failed.value.details["status"] == 500
    _Handler.mode = "slow"
    with pytest.raises(ProviderError):
        OpenAIEmbedder("m", base_url=server, api_key=None, timeout_s=0.2).embed(["x"])
