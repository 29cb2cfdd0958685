"""Reading a job description from a Markdown or plain-text file."""

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")


class JobFileError(ValueError):
    pass


@dataclass(frozen=True)
class JobText:
    title: str
    description: str


def parse_job(text: str, title: str | None = None) -> JobText:
    """Title from ``title`` or the first heading (else the first non-empty line); the rest is the description.

    The line used as the title is left out of the description; everything else (the "Must have" and
    "Nice to have" lists included) is kept as written, so ingest can derive the requirements from it.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    if title is not None and title.strip():
        return JobText(title.strip(), _clean(lines))
    for index, line in enumerate(lines):
        match = _HEADING.match(line)
        if match:
            return JobText(match["title"], _clean(lines[:index] + lines[index + 1 :]))
    for index, line in enumerate(lines):
        if line.strip():
            return JobText(line.strip(), _clean(lines[index + 1 :]))
    raise JobFileError("the job description is empty")


def _clean(lines: list[str]) -> str:
    description = "\n".join(lines).strip()
    if not description:
        raise JobFileError("the job description has a title but no text")
    return description
