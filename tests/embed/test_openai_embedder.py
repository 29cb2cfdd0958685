"""The ``openai`` embedder against a small OpenAI-compatible embeddings server started by the test."""

import asyncio
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from shortlist.embed.config import Settings
from shortlist.embed.embedder import MiniLmEmbedder, OpenAiEmbedder, create_embedder
from shortlist.embed.onnx_embedder import OnnxMiniLmEmbedder
from shortlist.runtime.broker import free_port
from shortlist.runtime.errors import PermanentError, TransientError

DIMENSION = 8


def expected_vector(text: str) -> list[float]:
    """The server's deterministic, unnormalised vector of ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    return [digest[i] - 127.5 for i in range(DIMENSION)]


@dataclass
class EmbeddingsServer:
    url: str
    requests: list[list[str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    """Statuses to answer with, one per request, before answering normally."""


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddingsServer]:
    port = free_port()
    state = EmbeddingsServer(url=f"http://127.0.0.1:{port}/v1")
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(body: dict[str, Any]) -> JSONResponse:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if state.fail_next:
            status = state.fail_next.pop(0)
            state.statuses.append(status)
            return JSONResponse({"error": {"message": "try later", "type": "rate_limit"}}, status_code=status)
        state.statuses.append(200)
        state.requests.append(texts)
        data = [{"object": "embedding", "index": i, "embedding": expected_vector(t)} for i, t in enumerate(texts)]
        # Answered out of order on purpose: clients must place vectors by index.
        return JSONResponse(
            {
                "object": "list",
                "model": body["model"],
                "data": list(reversed(data)),
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )

    uvi = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uvi.run, daemon=True)
    thread.start()
    while not uvi.started:
        threading.Event().wait(0.02)
    yield state
    uvi.should_exit = True
    thread.join(timeout=5)


def embedder(server: EmbeddingsServer, **options: Any) -> OpenAiEmbedder:
    return OpenAiEmbedder(
        model="test-embed",
        dimension=DIMENSION,
        base_url=server.url,
        api_key="k",
        batch_size=4,
        retry_initial_seconds=0.01,
        retry_max_seconds=0.05,
        **options,
    )


def normalised(rows: list[list[float]]) -> np.ndarray[Any, np.dtype[np.float32]]:
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


async def test_texts_are_sent_in_batches_and_a_429_is_retried(server: EmbeddingsServer) -> None:
    server.requests.clear()
    server.statuses.clear()
    server.fail_next[:] = [429]
    texts = [f"chunk number {i}" for i in range(10)]
    model = embedder(server)
    try:
        vectors = await model.aembed(texts)
    finally:
        await model.close()
    assert server.statuses == [429, 200, 200, 200]
    assert server.requests == [texts[0:4], texts[4:8], texts[8:10]]
    assert vectors.shape == (10, DIMENSION)
    assert np.allclose(vectors, normalised([expected_vector(t) for t in texts]), atol=1e-6)


async def test_blocking_embed_works_from_a_worker_thread(server: EmbeddingsServer) -> None:
    server.fail_next.clear()
    vectors = await asyncio.to_thread(embedder(server).embed, ["a search query"])
    assert np.allclose(vectors, normalised([expected_vector("a search query")]), atol=1e-6)


async def test_errors_that_persist_are_transient_and_refused_input_is_permanent(server: EmbeddingsServer) -> None:
    model = embedder(server, max_attempts=3)
    try:
        server.fail_next[:] = [503, 503, 503]
        with pytest.raises(TransientError) as unavailable:
            await model.aembed(["x"])
        assert unavailable.value.code == "embedder_unavailable"
        assert server.statuses[-3:] == [503, 503, 503]

        server.fail_next[:] = [400]
        with pytest.raises(PermanentError) as rejected:
            await model.aembed(["x"])
        assert rejected.value.code == "embedder_rejected"
        assert server.statuses[-1] == 400, "a refused input is not retried"

        assert (await model.aembed(["x"])).shape == (1, DIMENSION)
    finally:
        server.fail_next.clear()
        await model.close()


def test_the_embedder_is_chosen_by_setting(server: EmbeddingsServer) -> None:
    assert isinstance(create_embedder(Settings()), OnnxMiniLmEmbedder), "int8 is the default"
    assert isinstance(create_embedder(Settings(embedder="minilm")), MiniLmEmbedder)
    chosen = create_embedder(
        Settings(embedder="openai", openai_base_url=server.url, openai_embed_model="m", embed_dimension=DIMENSION)
    )
    assert isinstance(chosen, OpenAiEmbedder)
    assert chosen.model_name == "m" and chosen.dimension == DIMENSION
    with pytest.raises(ValidationError, match="SHORTLIST_EMBEDDER"):
        Settings(embedder="word2vec")
