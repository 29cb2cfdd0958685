"""Text formats: plain text, Markdown and HTML (tags stripped with the standard library's parser)."""

import re
from html.parser import HTMLParser

from shortlist.ingest.model import ExtractionError, Hidden

_SKIPPED = {"script", "style", "head", "template", "noscript", "svg", "iframe", "object"}
_BLOCKS = {
    "p", "div", "section", "article", "header", "footer", "li", "ul", "ol", "table", "tr", "h1", "h2", "h3",
    "h4", "h5", "h6", "br", "hr", "dd", "dt", "dl", "blockquote", "pre", "main", "aside", "nav", "title",
}  # fmt: skip
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
#: Open elements at most; real CVs stay far below, even with unclosed <p> and <li>.
MAX_DEPTH = 1000
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d])", re.I)


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        # How many open elements skip or hide their content, so no event scans the whole stack.
        self._skipping = 0
        self._hiding = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._emit("\n")
        if tag == "li":
            self._emit("- ")
        if tag in ("td", "th"):
            self._emit(" | ")
        if tag in _VOID:
            return
        if len(self._stack) >= MAX_DEPTH:
            raise ExtractionError("too_deeply_nested", f"the HTML nests elements more than {MAX_DEPTH} deep")
        values = dict(attrs)
        hides = "hidden" in values or bool(_HIDDEN_STYLE.search(values.get("style") or ""))
        hides = hides or values.get("aria-hidden") == "true"
        self._stack.append((tag, hides))
        self._skipping += tag in _SKIPPED
        self._hiding += hides

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                closed = self._stack[index:]
                del self._stack[index:]
                self._skipping -= sum(name in _SKIPPED for name, _ in closed)
                self._hiding -= sum(hides for _, hides in closed)
                break
        if tag in _BLOCKS:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._hiding:
            if data.strip():
                self.hidden.append(data.strip())
            return
        self._emit(data)

    def _emit(self, text: str) -> None:
        if not self._skipping and not self._hiding:
            self.parts.append(text)


def html_text(source: str) -> tuple[str, list[Hidden]]:
    parser = _TextParser()
    try:
        parser.feed(source)
        parser.close()
    except ExtractionError:
        raise
    except Exception as exc:  # the standard parser gives up on some malformed markup (AssertionError)
        raise ExtractionError("unreadable_document", "the HTML cannot be parsed") from exc
    lines = [re.sub(r"[ \t]+", " ", line).strip(" |") for line in "".join(parser.parts).splitlines()]
    hidden = [Hidden("css_hidden", " ".join(parser.hidden))] if parser.hidden else []
    return "\n".join(line for line in lines if line), hidden


_MD_RULES = [
    (re.compile(r"^```.*$", re.M), ""),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M), r"\1"),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)"), r"\1 (\2)"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])"), r"\2"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.M), ""),
    (re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$", re.M), ""),
    (re.compile(r"^([ \t]*)[*+][ \t]+", re.M), r"\1- "),
    (re.compile(r"<[^>\n]+>"), ""),
]


def markdown_text(source: str) -> str:
    text = source
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return text


def looks_like_html(text: str) -> bool:
    head = text[:1024].lstrip().lower()
    return head.startswith(("<!doctype html", "<html", "<?xml")) and "<html" in text[:4096].lower()


def looks_like_markdown(text: str) -> bool:
    return bool(re.search(r"^#{1,6}[ \t]+\S", text[:8192], re.M))
