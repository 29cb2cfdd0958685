"""Model batches across callers: several CVs' chunks share one model call, off the event loop."""

import asyncio

import numpy as np
import pytest

from shortlist.embed.batching import MicroBatcher
from shortlist.embed.embedder import MiniLmEmbedder, Vectors

CVS = [
    [f"candidate {cv} wrote chunk {chunk} about Python, Kafka and Kubernetes" for chunk in range(5)] for cv in range(5)
]


class CountingModel:
    """The real model, recording the size of every call it gets."""

    def __init__(self, model: MiniLmEmbedder, poison: str | None = None) -> None:
        self.model = model
        self.calls: list[int] = []
        self.poison = poison

    async def __call__(self, texts: list[str]) -> Vectors:
        self.calls.append(len(texts))
        if self.poison is not None and any(self.poison in t for t in texts):
            raise ValueError("the model refused a text")
        return await self.model.aembed(texts)


async def test_chunks_of_several_cvs_share_model_calls(embedder: MiniLmEmbedder) -> None:
    model = CountingModel(embedder)
    batcher = MicroBatcher(model, embedder.dimension, batch_size=16, linger_seconds=0.05)
    await batcher.start()
    try:
        results = await asyncio.gather(*(batcher.embed(texts) for texts in CVS))
    finally:
        await batcher.stop()
    assert sum(model.calls) == 25 and max(model.calls) <= 16
    assert len(model.calls) < len(CVS), "batches are formed across CVs, not one per CV"
    for texts, vectors in zip(CVS, results, strict=True):
        assert np.allclose(vectors, embedder.embed(texts), atol=1e-5), "each CV gets its own vectors, in order"


async def test_the_event_loop_keeps_running_while_the_model_works(embedder: MiniLmEmbedder) -> None:
    batcher = MicroBatcher(embedder.aembed, embedder.dimension, batch_size=16)
    await batcher.start()
    ticks = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    try:
        texts = [f"a long chunk of experience text number {i} " * 12 for i in range(64)]
        before = ticks
        vectors = await batcher.embed(texts)
        during = ticks - before
    finally:
        done.set()
        await ticker
        await batcher.stop()
    assert vectors.shape == (64, embedder.dimension)
    assert during >= 10, "other coroutines ran while 64 chunks were embedded"


async def test_a_failing_batch_fails_only_its_callers(embedder: MiniLmEmbedder) -> None:
    model = CountingModel(embedder, poison="poison")
    batcher = MicroBatcher(model, embedder.dimension, batch_size=4, linger_seconds=0)
    await batcher.start()
    try:
        with pytest.raises(ValueError, match="refused"):
            await batcher.embed(["fine text", "poison text"])
        vectors = await batcher.embed(["fine text", "more fine text"])
        assert vectors.shape == (2, embedder.dimension)
        assert (await batcher.embed([])).shape == (0, embedder.dimension)
    finally:
        await batcher.stop()


async def test_a_caller_that_gives_up_does_not_stall_the_others(embedder: MiniLmEmbedder) -> None:
    batcher = MicroBatcher(embedder.aembed, embedder.dimension, batch_size=2, linger_seconds=0)
    await batcher.start()
    try:
        first = asyncio.create_task(batcher.embed(["one", "two", "three", "four"]))
        second = asyncio.create_task(batcher.embed(["five"]))
        await asyncio.sleep(0)
        first.cancel()
        assert (await second).shape == (1, embedder.dimension)
        assert first.cancelled()
    finally:
        await batcher.stop()
