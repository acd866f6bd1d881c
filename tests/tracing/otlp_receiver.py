"""A local OTLP/HTTP receiver speaking Langfuse's endpoint: decodes what the SDK really sends.

``POST /api/public/otel/v1/traces`` with a protobuf ``ExportTraceServiceRequest`` body (gzip
when ``Content-Encoding: gzip``) and Basic auth with the project's key pair. ``SilentReceiver``
accepts TCP connections and never answers (a Langfuse that hangs).
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

PATH = "/api/public/otel/v1/traces"


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    attributes: dict[str, Any]
    start_ns: int
    end_ns: int

    @property
    def type(self) -> str | None:
        return self.attributes.get("langfuse.observation.type")

    def json_attr(self, key: str) -> Any:
        raw = self.attributes.get(key)
        return json.loads(raw) if isinstance(raw, str) else raw


@dataclass
class OtlpReceiver:
    public_key: str
    secret_key: str
    spans: list[Span] = field(default_factory=list)
    requests: int = 0
    rejected: int = 0
    encodings: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> str:
        receiver = self
        expected = (
            "Basic " + base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        )

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != PATH or self.headers.get("Authorization") != expected:
                    with receiver._lock:
                        receiver.rejected += 1
                    self.send_response(401 if self.path == PATH else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._add(request, encoding)
                out = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _add(self, request: ExportTraceServiceRequest, encoding: str) -> None:
        spans = [
            Span(
                trace_id=s.trace_id.hex(),
                span_id=s.span_id.hex(),
                parent_span_id=s.parent_span_id.hex(),
                name=s.name,
                attributes={a.key: _value(a.value) for a in s.attributes},
                start_ns=s.start_time_unix_nano,
                end_ns=s.end_time_unix_nano,
            )
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]
        with self._lock:
            self.requests += 1
            self.encodings.add(encoding)
            self.spans.extend(spans)


class SilentReceiver:
    """Accepts connections and never answers: the exporter can only time out."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.connections = 0

    def start(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._conns.append(conn)
            self.connections += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._conns:
            conn.close()
        self._sock.close()
