"""Model batches across callers: several CVs' chunks share one model call, off the event loop."""

import asyncio
from collections.abc import Callable

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


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the condition never held")


class GatedModel(CountingModel):
    """The real model, recording the texts of every call; the first call waits until ``gate`` is set."""

    def __init__(self, model: MiniLmEmbedder) -> None:
        super().__init__(model)
        self.texts: list[list[str]] = []
        self.gate = asyncio.Event()

    async def __call__(self, texts: list[str]) -> Vectors:
        self.texts.append(list(texts))
        if len(self.texts) == 1:
            await self.gate.wait()
        return await super().__call__(texts)


SHORT = ["Python", "Kafka", "SQL", "Go"]
LONG = [
    f"Led a team of {n} engineers that migrated the billing platform to event-driven services on Kubernetes, "
    "cutting infrastructure costs and release times while keeping every payment flow available"
    for n in range(4)
]


async def test_texts_of_similar_length_share_a_model_batch(embedder: MiniLmEmbedder) -> None:
    """Queued texts are grouped by length, so a batch is not padded to a long text it happens to queue with."""
    model = GatedModel(embedder)
    batcher = MicroBatcher(model, embedder.dimension, batch_size=4, linger_seconds=0, measure=embedder.token_counts)
    await batcher.start()
    try:
        busy = asyncio.create_task(batcher.embed(["keeps the model busy"]))
        await until(lambda: bool(model.texts))
        # Each CV mixes short and long chunks; they arrive one after the other.
        cvs = [[SHORT[0], LONG[0], SHORT[1], LONG[1]], [LONG[2], LONG[3]], [SHORT[2], SHORT[3]]]
        waiting = []
        for texts in cvs:
            waiting.append(asyncio.create_task(batcher.embed(texts)))
            await until(lambda: batcher.queued == sum(map(len, cvs[: len(waiting)])))
        model.gate.set()
        results = await asyncio.wait_for(asyncio.gather(busy, *waiting), 60)
    finally:
        await batcher.stop()
    assert [call[0] for call in model.texts[1:]] == [SHORT[0], LONG[0]], "the oldest queued text leads each batch"
    assert [set(call) for call in model.texts[1:]] == [set(SHORT), set(LONG)], (
        "joined by the queued texts closest to it in length, whichever CV they belong to"
    )
    for texts, vectors in zip(cvs, results[1:], strict=True):
        assert np.allclose(vectors, embedder.embed(texts), atol=1e-5), "each CV gets its own vectors, in order"


async def test_a_lone_cv_does_not_wait_for_a_full_batch(embedder: MiniLmEmbedder) -> None:
    model = CountingModel(embedder)
    batcher = MicroBatcher(model, embedder.dimension, batch_size=16, linger_seconds=0.01, measure=embedder.token_counts)
    await batcher.start()
    try:
        vectors = await asyncio.wait_for(batcher.embed(SHORT[:3]), 60)
    finally:
        await batcher.stop()
    assert model.calls == [3] and vectors.shape == (3, embedder.dimension)


async def test_the_oldest_cv_is_served_first_under_a_backlog(embedder: MiniLmEmbedder) -> None:
    """Grouping by length never leaves the oldest CV behind: it completes before CVs queued after it."""
    model = GatedModel(embedder)
    batcher = MicroBatcher(model, embedder.dimension, batch_size=2, linger_seconds=0, measure=embedder.token_counts)
    await batcher.start()
    finished: list[int] = []

    async def cv(number: int, texts: list[str]) -> None:
        await batcher.embed(texts)
        finished.append(number)

    try:
        busy = asyncio.create_task(batcher.embed(["keeps the model busy"]))
        await until(lambda: bool(model.texts))
        oldest = asyncio.create_task(cv(0, [LONG[0], SHORT[0]]))
        await until(lambda: batcher.queued == 2)
        # Later CVs bring texts that match the oldest CV's short text better than its own long one does.
        later = [asyncio.create_task(cv(n, [SHORT[n], SHORT[(n + 1) % 4]])) for n in (1, 2, 3)]
        await until(lambda: batcher.queued == 8)
        model.gate.set()
        await asyncio.wait_for(asyncio.gather(busy, oldest, *later), 60)
    finally:
        await batcher.stop()
    assert model.texts[1][0] == LONG[0], "the oldest text goes first, though the short ones would pair up better"
    assert finished[0] == 0


async def test_a_batcher_with_two_workers_runs_a_second_call_while_the_first_waits(embedder: MiniLmEmbedder) -> None:
    """With ``concurrency=2`` (one per model thread) a held-up call does not hold the queue behind it."""
    model = GatedModel(embedder)
    batcher = MicroBatcher(model, embedder.dimension, batch_size=2, linger_seconds=0, concurrency=2)
    await batcher.start()
    try:
        held = asyncio.create_task(batcher.embed(["held up by the gate"]))
        await until(lambda: bool(model.texts))
        vectors = await asyncio.wait_for(batcher.embed(SHORT[:2]), 60)
        assert not held.done(), "the second call finished while the first was still held"
        model.gate.set()
        await asyncio.wait_for(held, 60)
    finally:
        await batcher.stop()
    assert np.allclose(vectors, embedder.embed(SHORT[:2]), atol=1e-5)
