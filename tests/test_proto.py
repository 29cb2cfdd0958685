"""The generated event code in libs/ must match proto/: run `make proto` after changing a schema."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from gen_proto import generate  # noqa: E402


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*_pb2.py*")}
    committed_dir = ROOT / "libs"
    committed = {p.relative_to(committed_dir): p.read_text() for p in (committed_dir / "shortlist").rglob("*_pb2.py*")}
    assert fresh.keys() == committed.keys(), "run `make proto`: schema files were added or removed"
    stale = [str(name) for name, text in fresh.items() if committed[name] != text]
    assert not stale, f"run `make proto`: generated code is stale for {', '.join(stale)}"
