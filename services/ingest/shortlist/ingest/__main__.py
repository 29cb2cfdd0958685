"""``python -m shortlist.ingest``: run the ingest service."""

from shortlist.ingest.app import build
from shortlist.ingest.config import Settings
from shortlist.runtime.service import run


def main() -> None:
    settings = Settings()
    service, app = build(settings)
    run(service, app)


if __name__ == "__main__":
    main()
