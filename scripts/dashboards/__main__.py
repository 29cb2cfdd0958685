"""Write every dashboard's JSON to deploy/grafana/dashboards/ (``make dashboards``); --check only compares."""

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from scripts.dashboards import embedding, health, pipeline, scoring, webhooks
from scripts.dashboards.kit import Board, build_board

OUT = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
BOARDS: dict[str, Board] = {
    "pipeline": pipeline.BOARD,
    "scoring": scoring.BOARD,
    "embedding": embedding.BOARD,
    "webhooks": webhooks.BOARD,
    "health": health.BOARD,
}


def render(board: Board) -> str:
    return json.dumps(build_board(board), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="Fail when a committed file differs.")
    args = parser.parse_args()
    stale = []
    for name, board in BOARDS.items():
        path = OUT / f"{name}.json"
        text = render(board)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)} (run make dashboards)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
