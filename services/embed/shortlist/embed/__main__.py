"""``python -m shortlist.embed``: run the embed service."""

from shortlist.embed.app import build
from shortlist.embed.config import Settings
from shortlist.runtime.service import run


def main() -> None:
    settings = Settings()
    service, app = build(settings)
    run(service, app)


if __name__ == "__main__":
    main()
