"""The int8 embedder: exported from the packaged weights without network, close to fp32, no torch in its process."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shortlist.embed.config import Settings
from shortlist.embed.embedder import MiniLmEmbedder, create_embedder
from shortlist.embed.handlers import cv_chunks
from shortlist.embed.onnx_embedder import OnnxMiniLmEmbedder, default_model_dir, model_path
from tests.embed.conftest import make_cv
from tests.embed.test_embedder import TEXTS


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """This installation's model folder: ``make install`` exports the model there, else the first ``load()`` does."""
    return default_model_dir()


@pytest.fixture(scope="session")
def int8(model_dir: Path) -> OnnxMiniLmEmbedder:
    model = OnnxMiniLmEmbedder(threads=2, model_dir=model_dir)
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    previous = {k: os.environ.get(k) for k in offline}
    os.environ.update(offline)  # the child process that exports inherits these: any download would fail
    try:
        model.load()
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return model


def test_the_model_is_exported_from_the_packaged_weights(int8: OnnxMiniLmEmbedder, model_dir: Path) -> None:
    path = model_path(model_dir)
    assert path.is_file() and path.parent == model_dir
    assert not list(model_dir.glob("tmp*")), "no leftovers of the export"
    assert path.stat().st_size < 40 * 2**20, "int8 weights: about a quarter of the fp32 model's 90 MB"


def test_int8_vectors_agree_with_fp32_on_cv_chunks(int8: OnnxMiniLmEmbedder, embedder: MiniLmEmbedder) -> None:
    settings = Settings()
    texts = TEXTS + cv_chunks(make_cv("app-onnx", "job-1"), settings)[1]
    quantised, reference = int8.embed(texts), embedder.embed(texts)
    assert quantised.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(quantised, axis=1), 1.0, atol=1e-5)
    cosine = (quantised * reference).sum(axis=1)
    assert cosine.mean() >= 0.98 and cosine.min() >= 0.95, cosine
    assert int8.token_counts(texts) == embedder.token_counts(texts), "the same word pieces as fp32"


def test_int8_ranks_related_text_above_unrelated(int8: OnnxMiniLmEmbedder) -> None:
    query, related, unrelated = int8.embed(
        ["operating Kubernetes clusters in production", TEXTS[1], "BSc Mathematics, University of Leeds, 2015."]
    )
    assert float(query @ related) > float(query @ unrelated) + 0.1


def test_batch_companions_move_a_vector_only_slightly(int8: OnnxMiniLmEmbedder) -> None:
    """Activations are quantised per call, so a text's vector depends a little on the batch it is in (most for a
    short text padded among long ones, which grouping batches by length avoids)."""
    alone = np.stack([int8.embed([text])[0] for text in TEXTS])
    assert ((int8.embed(TEXTS) * alone).sum(axis=1) >= 0.95).all()


def test_the_setting_selects_the_int8_embedder(model_dir: Path) -> None:
    model = create_embedder(Settings(embedder="minilm-int8", onnx_model_dir=model_dir))
    assert isinstance(model, OnnxMiniLmEmbedder) and model.embedder_id == "minilm-int8"
    assert isinstance(create_embedder(Settings(embedder="minilm")), MiniLmEmbedder)


def test_the_int8_process_never_imports_torch(int8: OnnxMiniLmEmbedder, model_dir: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from shortlist.embed.app import build\n"
        "from shortlist.embed.config import Settings\n"
        f"service, app = build(Settings(embedder='minilm-int8', onnx_model_dir=Path({str(model_dir)!r})))\n"
        "app.state.embedder.load()\n"
        "print(app.state.embedder.embed(['Python and Kafka']).shape)\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    env = {**os.environ, "SHORTLIST_STATE_DIR": str(model_dir / "state")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["(1, 384)", "False False"]


def test_two_model_workers_give_the_vectors_of_one(int8: OnnxMiniLmEmbedder, model_dir: Path) -> None:
    """``SHORTLIST_EMBED_WORKERS=2`` runs batches on two threads at once; each text keeps its own vector."""
    texts = TEXTS + [f"{n} years of Python, Kafka and Kubernetes in the payments team" for n in range(40)]
    two = OnnxMiniLmEmbedder(threads=1, batch_size=4, model_dir=model_dir, workers=2)
    one = OnnxMiniLmEmbedder(threads=1, batch_size=4, model_dir=model_dir, workers=1)
    assert np.allclose(two.embed(texts), one.embed(texts), atol=1e-4)
