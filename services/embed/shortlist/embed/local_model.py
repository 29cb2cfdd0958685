"""What the two in-process all-MiniLM-L6-v2 embedders share: tokenise once, batch by word pieces, ``workers`` threads.

``LocalModel`` keeps the word pieces of texts measured by ``token_counts`` until they are embedded, sorts a
call's texts by word pieces and cuts them into batches of ``batch_size`` (each padded only to its own longest
text), and runs the batches on ``workers`` model threads (each using ``threads`` intra-op threads). A subclass
loads its model (``_load``), tokenises (``_tokenise``) and turns one padded batch into pooled vectors
(``_forward``), which must be safe to call from several threads at once.

Two workers of one intra-op thread each keep both cores of a small machine busy with whole batches, where one
worker of two intra-op threads splits every operation of a batch in two and waits for the slower half: when
another process takes one core, the split batch stalls, the separate one goes on.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
"""One L2-normalised row per text."""

_TOKENISED_KEPT = 16_384
MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_WORD_PIECES = 256
MIN_FILL = 0.75
"""A batch holds only texts of at least this share of its longest text's word pieces."""


class LocalModel:
    model_name = MODEL_NAME
    dimension = DIMENSION
    embedder_id = "minilm"
    """Stored with the vector store's collections: vectors of different embedders never share one."""

    def __init__(self, threads: int = 2, batch_size: int = 16, workers: int = 1) -> None:
        self._threads = threads
        self.batch_size = batch_size
        self.workers = max(1, workers)
        """Model batches run at once, each on its own thread."""
        self._lock = threading.Lock()
        self._loaded = False
        self._executor: ThreadPoolExecutor | None = None
        self._model_threads: ThreadPoolExecutor | None = None
        self._tokenised: dict[str, list[int]] = {}
        self._tokenised_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        with self._lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    def _load(self) -> None:
        raise NotImplementedError

    def _tokenise(self, texts: list[str]) -> list[list[int]]:
        """Word pieces of each text, special tokens included, truncated to what the model reads."""
        raise NotImplementedError

    def _forward(self, input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64]) -> Vectors:
        """Mean-pooled (not yet normalised) vectors of one padded batch."""
        raise NotImplementedError

    def _pad_id(self) -> int:
        return 0

    def embed(self, texts: list[str]) -> Vectors:
        """Blocking: call it off the event loop (or use ``aembed``).

        The texts are tokenised once, sorted by their number of word pieces and cut into batches of
        ``batch_size``, so each batch is padded only to its own longest text. With several ``workers`` the
        batches run on the model threads, at most ``workers`` at once across all callers.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        ids = self._ids(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)

        def run(batch: list[int]) -> None:
            input_ids, attention_mask = padded([ids[i] for i in batch], self._pad_id())
            pooled = self._forward(input_ids, attention_mask)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[batch] = pooled / np.maximum(norms, 1e-12)

        batches = self._batches(order, [len(row) for row in ids])
        if self.workers == 1:
            for batch in batches:
                run(batch)
        else:
            list(self._pool().map(run, batches))
        return vectors

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._model_threads is None:
                self._model_threads = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="model")
            return self._model_threads

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """``order`` (longest first) cut into batches of at most ``batch_size``, and wherever a text is shorter
        than ``MIN_FILL`` of its batch's longest: padding a short text to a long one costs more than a call."""
        batches: list[list[int]] = []
        for i in order:
            if batches and len(batches[-1]) < self.batch_size and lengths[i] >= MIN_FILL * lengths[batches[-1][0]]:
                batches[-1].append(i)
            else:
                batches.append([i])
        return batches

    def token_counts(self, texts: list[str]) -> list[int]:
        """Blocking: the number of word pieces the model reads of each text (at most its 256).

        The word pieces are kept until the text is embedded, so it is not tokenised again.
        """
        self.load()
        ids = self._tokenise(texts)
        with self._tokenised_lock:
            for text, row in zip(texts, ids, strict=True):
                self._tokenised[text] = row
            while len(self._tokenised) > _TOKENISED_KEPT:
                del self._tokenised[next(iter(self._tokenised))]
        return [len(row) for row in ids]

    def _ids(self, texts: list[str]) -> list[list[int]]:
        with self._tokenised_lock:
            known = [self._tokenised.pop(text, None) for text in texts]
        missing = [text for text, row in zip(texts, known, strict=True) if row is None]
        fresh = iter(self._tokenise(missing) if missing else [])
        return [row if row is not None else next(fresh) for row in known]

    async def aembed(self, texts: list[str]) -> Vectors:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=self.embedder_id)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.embed, texts)

    async def close(self) -> None:
        for pool in (self._executor, self._model_threads):
            if pool is not None:
                pool.shutdown(wait=True)
        self._executor = self._model_threads = None


def padded(rows: list[list[int]], pad_id: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Word pieces padded to the longest row, and the attention mask."""
    width = max(len(row) for row in rows)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)
    for n, row in enumerate(rows):
        input_ids[n, : len(row)] = row
        attention_mask[n, : len(row)] = 1
    return input_ids, attention_mask
