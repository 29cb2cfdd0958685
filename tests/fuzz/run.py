"""Coverage-guided fuzzing of the extractors and the record decoder with atheris, each target for a bounded time.

    python -m tests.fuzz.run [--seconds 60] [--out .fuzz] [target ...]

Each target runs in its own process (libFuzzer exits when its time is up), starting from real generated
documents and the regression corpus. A crash (an exception other than the expected clear error, or an
input slower than ``--timeout`` seconds) is written to ``<out>/<target>/crash-*``; copy it to
``tests/fuzz/regressions/<target>/`` once fixed so the test suite replays it. Prints one line per target.
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_NAMES = ("pdf", "docx", "rtf", "html", "event")


def child(target: str, seconds: int, timeout: int, out: Path, corpus: Path) -> None:
    # Coverage of the project's code, the standard library's parsers it relies on and python-docx; the rest
    # (asyncio, aiokafka, protobuf's C core, MuPDF) is imported uninstrumented first, which keeps start-up short.
    import aiokafka  # noqa: F401
    import atheris
    import pymupdf  # noqa: F401

    with atheris.instrument_imports(include=["shortlist", "tests.fuzz", "docx", "html", "zipfile", "unicodedata"]):
        from tests.fuzz import targets
    for index, seed in enumerate(targets.seeds(target) + [p.read_bytes() for p in targets.regressions(target)]):
        (corpus / f"seed-{index}").write_bytes(seed)
    out.mkdir(parents=True, exist_ok=True)
    args = [
        sys.argv[0],
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        "-rss_limit_mb=3072",
        "-max_len=65536",
        "-print_final_stats=1",
        f"-artifact_prefix={out}/",
        str(corpus),
    ]
    atheris.Setup(args, targets.TARGETS[target])
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGET_NAMES)} (default: all)")
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target")
    parser.add_argument("--timeout", type=int, default=20, help="seconds after which one input counts as a hang")
    parser.add_argument("--out", type=Path, default=Path(".fuzz"), help="folder for crash artifacts")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child, options.seconds, options.timeout, options.out.resolve() / options.child, options.corpus)
        return 0
    unknown = set(options.targets) - set(TARGET_NAMES)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    failed = 0
    print(f"{'target':<7} {'seconds':>7} {'executions':>11} {'exec/s':>7} {'coverage':>9} crashes")
    for target in options.targets or TARGET_NAMES:
        started = time.monotonic()
        command = [sys.executable, "-m", "tests.fuzz.run", "--child", target, "--seconds", str(options.seconds)]
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as corpus:
            run = subprocess.run(
                [*command, "--timeout", str(options.timeout), "--out", str(options.out), "--corpus", corpus],
                capture_output=True,
                text=True,
                errors="replace",
            )
        elapsed = time.monotonic() - started
        log = run.stdout + run.stderr
        (options.out / target).mkdir(parents=True, exist_ok=True)
        (options.out / target / "fuzz.log").write_text(log)
        executions = _last_int(r"stat::number_of_executed_units:\s*(\d+)", log)
        coverage = _last_int(r"\bcov: (\d+)", log)
        crashes = sorted(p.name for p in (options.out / target).glob("*") if p.name.split("-")[0] in _ARTIFACTS)
        failed += bool(crashes) or run.returncode != 0
        print(
            f"{target:<7} {elapsed:>7.0f} {executions:>11} {executions / max(elapsed, 1e-9):>7.0f} {coverage:>9} "
            f"{len(crashes)}{' ' + ', '.join(crashes) if crashes else ''}"
            f"{'' if run.returncode == 0 else f' (exit {run.returncode}, see {options.out / target}/fuzz.log)'}"
        )
    return 1 if failed else 0


_ARTIFACTS = {"crash", "timeout", "oom", "leak", "slow"}


def _last_int(pattern: str, text: str) -> int:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else 0


if __name__ == "__main__":
    sys.exit(main())
