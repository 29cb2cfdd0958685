"""What ``bench-pipeline`` measures beside the clock: the stack's processes, and the chunks of its CVs."""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pypdfium2

from shortlist.embed.config import Settings as EmbedSettings
from shortlist.embed.handlers import cv_chunks
from shortlist.ingest.extraction import ExtractionError, extract
from shortlist.ingest.pipeline import Submission, build_ingested, derived_id

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Processes:
    """The child processes of this one (the broker and the services), by name."""

    pids: dict[str, int]

    @property
    def names(self) -> list[str]:
        return list(self.pids)

    @classmethod
    def of_children(cls) -> "Processes":
        me = os.getpid()
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) != me:
                continue
            words = [w.decode(errors="replace") for w in command]
            if "-m" in words and words.index("-m") + 1 < len(words):
                found[words[words.index("-m") + 1].removeprefix("shortlist.")] = int(entry.name)
            elif any("tansu" in w for w in words[:1]):
                found["broker"] = int(entry.name)
        return cls(dict(sorted(found.items())))

    def cpu_seconds(self) -> dict[str, float]:
        """User and system CPU seconds of each process so far."""
        out = {}
        for name, pid in self.pids.items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            out[name] = (int(fields[11]) + int(fields[12])) / _TICKS
        return out

    def memory(self) -> dict[str, tuple[float, float]]:
        """Resident and peak resident MiB of each process."""
        out = {}
        for name, pid in self.pids.items():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            rss, peak = (re.search(rf"{key}:\s+(\d+)", status) for key in ("VmRSS", "VmHWM"))
            out[name] = (int(rss.group(1)) / 1024 if rss else 0.0, int(peak.group(1)) / 1024 if peak else 0.0)
        return out


def cv_texts(documents: list[tuple[str, bytes]]) -> list[list[str]]:
    """The chunk texts embed makes of each document (ingest's extraction, embed's chunking and redaction)."""
    settings = EmbedSettings()
    texts = []
    for n, (name, data) in enumerate(documents):
        try:
            extracted = extract(data, name)
        except ExtractionError as exc:
            raise SystemExit(f"{name} cannot be extracted ({exc.code}): leave it out of the folder") from exc
        application_id = derived_id("bench", str(n), name)
        submission = Submission(application_id=application_id, job_id="", data=data, filename=name)
        texts.append(cv_chunks(build_ingested(submission, extracted, candidate_id=application_id), settings)[1])
    return texts


def two_page_pdf(files: list[Path]) -> bytes:
    """The first PDF of exactly two pages among ``files``."""
    for path in files:
        document = pypdfium2.PdfDocument(str(path))
        try:
            if len(document) == 2:
                return path.read_bytes()
        finally:
            document.close()
    raise SystemExit("no 2-page PDF in the folder for the idle latency runs")
