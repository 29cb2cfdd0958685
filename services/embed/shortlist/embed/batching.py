"""Model batches formed across records: the chunks of every CV being handled share model calls.

Handlers ``await batcher.embed(texts)``; each of ``concurrency`` worker tasks (one per model worker thread)
forms a call from the queued texts, runs the model once off the event loop, and resolves each request when
all its texts are embedded. When the model is idle it waits at most ``linger`` for ``batch_size`` texts, so
a lone CV goes through at once.

Two ways to form a call:

- **Grouped by length** (when the batcher can ``measure`` texts, e.g. in word pieces): a call is one
  model batch of ``batch_size`` texts: the oldest queued text, plus the queued texts closest to it in
  length among the oldest ``window`` ones. A batch is padded to its longest text, so texts of similar
  length waste little work on padding, close to sorting the whole backlog at once; the oldest text is
  always in the batch, so every request makes progress in arrival order, and a call stays short.
- **Oldest first** (otherwise): up to ``max_texts`` texts from the oldest requests in one call.

A request may span several calls and a call several requests. While the model runs, the event loop
keeps consuming, committing and answering health checks, and the queue fills up.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from shortlist.embed import metrics as embed_metrics
from shortlist.embed.embedder import Vectors

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], Awaitable[Vectors]]
MeasureFn = Callable[[list[str]], list[int]]
"""Blocking: the length of each text in the model's units (run off the event loop)."""


@dataclass(eq=False)
class _Request:
    texts: list[str]
    future: asyncio.Future[Vectors]
    sizes: list[int]
    untaken: list[int]
    """Indexes of the texts not handed to a call yet, in order."""
    vectors: dict[int, Vectors] = field(default_factory=dict)


_Slot = tuple[_Request, int]
"""One text of a request: (request, index)."""


class MicroBatcher:
    def __init__(
        self,
        embed: EmbedFn,
        dimension: int,
        batch_size: int = 16,
        linger_seconds: float = 0.01,
        max_texts: int | None = None,
        measure: MeasureFn | None = None,
        window: int = 1024,
        concurrency: int = 1,
    ) -> None:
        self._embed = embed
        self._dimension = dimension
        self.batch_size = max(1, batch_size)
        self.max_texts = max(self.batch_size, max_texts or self.batch_size)
        self._measure = measure
        self.window = max(self.batch_size, window)
        self._linger = max(0.0, linger_seconds)
        self._pending: deque[_Request] = deque()
        self._arrived = asyncio.Event()
        self._concurrency = max(1, concurrency)
        self._workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._run(), name=f"embedding batches {n}") for n in range(self._concurrency)
            ]

    async def stop(self) -> None:
        """Stop after the batches the model is running; requests still queued are cancelled."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        while self._pending:
            self._pending.popleft().future.cancel()

    @property
    def queued(self) -> int:
        """Texts waiting for the model."""
        return sum(len(r.untaken) for r in self._pending if not r.future.done())

    async def embed(self, texts: list[str]) -> Vectors:
        """Vectors of ``texts``, in order, computed together with other callers' texts."""
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        if not self._workers:
            raise RuntimeError("the batcher is not started")
        texts = list(texts)
        sizes = await asyncio.to_thread(self._measure, texts) if self._measure else [0] * len(texts)
        request = _Request(texts, asyncio.get_running_loop().create_future(), sizes, list(range(len(texts))))
        self._pending.append(request)
        self._arrived.set()
        return await request.future

    async def _run(self) -> None:
        while True:
            await self._fill()
            batch = self._take()
            if not batch:
                continue
            texts = [request.texts[index] for request, index in batch]
            started = time.perf_counter()
            try:
                vectors = await self._embed(texts)
            except asyncio.CancelledError:
                for request, _ in batch:
                    request.future.cancel()
                raise
            except Exception as exc:
                self._fail(batch, exc)
                continue
            finally:
                embed_metrics.EMBED_SECONDS.observe(time.perf_counter() - started)
            embed_metrics.BATCH_TEXTS.observe(len(texts))
            for (request, index), vector in zip(batch, vectors, strict=True):
                request.vectors[index] = vector
                if len(request.vectors) == len(request.texts) and not request.future.done():
                    request.future.set_result(np.stack([request.vectors[i] for i in range(len(request.texts))]))

    async def _fill(self) -> None:
        """Wait for a first text, then up to ``linger`` for a full batch."""
        while not self._live():
            self._arrived.clear()
            await self._arrived.wait()
        if self.queued >= self.batch_size or self._linger == 0:
            return
        deadline = asyncio.get_running_loop().time() + self._linger
        while self.queued < self.batch_size:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    def _live(self) -> bool:
        while self._pending and (self._pending[0].future.done() or not self._pending[0].untaken):
            self._pending.popleft()  # all handed out, or the caller gave up (cancelled)
        return bool(self._pending)

    def _oldest(self, limit: int) -> list[_Slot]:
        """Up to ``limit`` untaken texts, oldest request first."""
        slots: list[_Slot] = []
        for request in self._pending:
            if len(slots) >= limit:
                break
            if not request.future.done():
                slots.extend((request, index) for index in request.untaken[: limit - len(slots)])
        return slots

    def _take(self) -> list[_Slot]:
        """The texts of the next call (see the module's docstring), marked as taken."""
        if self._measure is None:
            batch = self._oldest(self.max_texts)
        else:
            pool = self._oldest(self.window)
            if not pool:
                return []
            anchor, rest = pool[0], pool[1:]
            size = anchor[0].sizes[anchor[1]]
            rest.sort(key=lambda slot: abs(slot[0].sizes[slot[1]] - size))  # stable: older first on ties
            batch = [anchor, *rest[: self.batch_size - 1]]
        taken: dict[_Request, set[int]] = {}
        for request, index in batch:
            taken.setdefault(request, set()).add(index)
        for request, indexes in taken.items():
            request.untaken = [i for i in request.untaken if i not in indexes]
        self._live()
        return batch

    def _fail(self, batch: list[_Slot], exc: Exception) -> None:
        log.warning("embedding a batch of %d texts failed: %s", len(batch), type(exc).__name__)
        for request, _ in batch:
            if not request.future.done():
                request.future.set_exception(exc)
            request.untaken = []  # its other texts are not worth embedding any more
        self._live()
