"""Model batches formed across records: the chunks of every CV being handled share model calls.

Handlers ``await batcher.embed(texts)``; one worker task takes queued texts, oldest request first, up to
``max_texts`` (waiting at most ``linger`` for ``batch_size`` of them when the model is idle), runs the
model once off the event loop, and resolves each request when all its texts are embedded. When the model
is busy, texts queue up and the next call takes up to ``max_texts`` of them: the model sorts one call's
texts by length into batches of its own batch size, so a larger call wastes less work on padding. A
request may span several batches and a batch several requests. While the model runs, the event loop
keeps consuming, committing and answering health checks, and the next batch fills up.
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


@dataclass
class _Request:
    texts: list[str]
    future: asyncio.Future[Vectors]
    vectors: list[Vectors] = field(default_factory=list)
    taken: int = 0
    """Texts already handed to a batch."""
    done: int = 0
    """Texts whose vectors are back."""


class MicroBatcher:
    def __init__(
        self,
        embed: EmbedFn,
        dimension: int,
        batch_size: int = 16,
        linger_seconds: float = 0.01,
        max_texts: int | None = None,
    ) -> None:
        self._embed = embed
        self._dimension = dimension
        self.batch_size = max(1, batch_size)
        self.max_texts = max(self.batch_size, max_texts or self.batch_size)
        self._linger = max(0.0, linger_seconds)
        self._pending: deque[_Request] = deque()
        self._arrived = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="embedding batches")

    async def stop(self) -> None:
        """Stop after the batch the model is running; requests still queued are cancelled."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        while self._pending:
            self._pending.popleft().future.cancel()

    @property
    def queued(self) -> int:
        """Texts waiting for the model."""
        return sum(len(r.texts) - r.taken for r in self._pending)

    async def embed(self, texts: list[str]) -> Vectors:
        """Vectors of ``texts``, in order, computed together with other callers' texts."""
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        if self._worker is None:
            raise RuntimeError("the batcher is not started")
        request = _Request(list(texts), asyncio.get_running_loop().create_future())
        self._pending.append(request)
        self._arrived.set()
        return await request.future

    async def _run(self) -> None:
        while True:
            await self._fill()
            batch = self._take()
            if not batch:
                continue
            texts = [text for request, start, end in batch for text in request.texts[start:end]]
            started = time.perf_counter()
            try:
                vectors = await self._embed(texts)
            except asyncio.CancelledError:
                for request, _, _ in batch:
                    request.future.cancel()
                raise
            except Exception as exc:
                self._fail(batch, exc)
                continue
            finally:
                embed_metrics.EMBED_SECONDS.observe(time.perf_counter() - started)
            embed_metrics.BATCH_TEXTS.observe(len(texts))
            offset = 0
            for request, start, end in batch:
                part = vectors[offset : offset + end - start]
                offset += end - start
                request.vectors.append(part)
                request.done += end - start
                if request.done == len(request.texts) and not request.future.done():
                    request.future.set_result(np.concatenate(request.vectors))

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
        while self._pending and self._pending[0].future.done():
            self._pending.popleft()  # the caller gave up (cancelled)
        return bool(self._pending)

    def _take(self) -> list[tuple[_Request, int, int]]:
        """Up to ``max_texts`` texts from the oldest requests: (request, start, end) slices."""
        batch: list[tuple[_Request, int, int]] = []
        room = self.max_texts
        for request in self._pending:
            if room == 0:
                break
            if request.future.done():
                continue
            start = request.taken
            end = min(len(request.texts), start + room)
            if end > start:
                batch.append((request, start, end))
                request.taken = end
                room -= end - start
        while self._pending and (
            self._pending[0].taken == len(self._pending[0].texts) or self._pending[0].future.done()
        ):
            self._pending.popleft()
        return batch

    def _fail(self, batch: list[tuple[_Request, int, int]], exc: Exception) -> None:
        log.warning("embedding a batch of %d requests failed: %s", len(batch), type(exc).__name__)
        for request, _, _ in batch:
            if not request.future.done():
                request.future.set_exception(exc)
            # Its other texts, if still queued, are not worth embedding any more.
            request.taken = len(request.texts)
        self._pending = deque(r for r in self._pending if not r.future.done())
