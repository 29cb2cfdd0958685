"""``python -m shortlist.score``: run the score service."""

import sys

from pydantic import ValidationError

from shortlist.runtime.service import run
from shortlist.score.app import build
from shortlist.score.config import Settings


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        sys.exit(f"score: invalid settings: {problems}")
    service, app = build(settings)
    run(service, app)


if __name__ == "__main__":
    main()
