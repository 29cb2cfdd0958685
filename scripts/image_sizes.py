"""Installed size of each service image's virtual environment (``make image-sizes``).

No container runtime runs here, so this runs the Dockerfile's install step (``pip install -c
requirements/constraints.txt ./libs ./services/<name>``) in a clean venv per service and measures the venv on
disk, with its largest packages. The table goes into docs/deploy.md between ``<!-- image-sizes -->`` markers.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.capacity import DEPLOY_DOC, ROOT

SERVICES = ("ingest", "embed", "score", "notify")


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def measure(service: str, workdir: Path) -> str:
    venv = workdir / service
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    started = time.monotonic()
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--no-cache-dir", "-c", "requirements/constraints.txt",
         "./libs", f"./services/{service}"],
        cwd=ROOT, check=True,
    )  # fmt: skip
    seconds = time.monotonic() - started
    site = next((venv / "lib").glob("python*/site-packages"))
    packages = sorted(((size(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)[:3]
    largest = ", ".join(f"{name} {bytes_ / 1e6:.0f}" for bytes_, name in packages)
    return f"| {service} | {size(venv) / 1e6:.0f} | {largest} | {seconds:.0f} |"


def main() -> None:
    rows = ["| image | venv MB | largest packages (MB) | install s |", "|---|---:|---|---:|"]
    with tempfile.TemporaryDirectory(prefix="image-sizes-") as tmp:
        for service in SERVICES:
            rows.append(measure(service, Path(tmp)))
            print(rows[-1], flush=True)
    text = "\n".join(rows)
    doc = DEPLOY_DOC.read_text()
    start, end = "<!-- image-sizes -->\n", "\n<!-- /image-sizes -->"
    head, rest = doc.split(start, 1)
    DEPLOY_DOC.write_text(head + start + text + end + rest.split(end, 1)[1])
    print(f"written to {DEPLOY_DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
