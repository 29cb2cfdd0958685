from shortlist.notify.app import build
from shortlist.notify.config import Settings
from shortlist.runtime.service import run


def main() -> None:
    settings = Settings()
    service, app = build(settings)
    run(service, app)


if __name__ == "__main__":
    main()
