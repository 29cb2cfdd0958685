"""What extraction produces, independent of the document format."""

from dataclasses import dataclass, field


class ExtractionError(Exception):
    """A document that cannot be turned into text. ``code`` is the error code clients see."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Hidden:
    """Text that is in the document but a reader cannot see."""

    reason: str  # white_text, tiny_text, off_page, css_hidden
    text: str
    page: int = 0


@dataclass(frozen=True)
class Span:
    kind: str  # a section name or a PII kind
    start: int
    end: int


@dataclass
class Extracted:
    text: str
    pages: int
    extractor: str
    content_type: str
    sections: list[Span] = field(default_factory=list)
    hidden_text: list[Hidden] = field(default_factory=list)
    parse_quality: float = 0.0


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pages: int = 30
    max_chars: int = 300_000
    max_unzipped_bytes: int = 50 * 1024 * 1024


@dataclass
class RawText:
    """A format reader's output before normalisation, sections and quality."""

    text: str
    pages: int
    extractor: str
    hidden_text: list[Hidden] = field(default_factory=list)
