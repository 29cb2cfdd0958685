"""RTF to text: a small tokenizer that keeps text and drops control words and non-text groups.

Nothing is interpreted beyond text: embedded objects, pictures, fields' instructions and font or style
tables are skipped. Text formatted as hidden (``\\v``) is reported apart.
"""

import codecs
import re

from shortlist.ingest.model import ExtractionError, Hidden, RawText

_TOKEN = re.compile(rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|([^\\{}\r\n]+)|[\r\n]+", re.S)
_SKIPPED = frozenset(
    b"fonttbl colortbl stylesheet info pict object objdata fldinst themedata colorschememapping datastore "
    b"latentstyles listtable listoverridetable rsidtbl generator xmlnstbl filetbl revtbl mmathPr header footer "
    b"headerl headerr footerl footerr headerf footerf footnote annotation bkmkstart bkmkend".split()
)
_BREAKS = {b"par": "\n", b"line": "\n", b"sect": "\n", b"page": "\n", b"row": "\n", b"cell": " | ", b"tab": "\t"}
_SYMBOLS = {b"emdash": "\u2014", b"endash": "\u2013", b"bullet": "\u2022", b"lquote": "\u2018", b"rquote": "\u2019"}
_SYMBOLS |= {b"ldblquote": "\u201c", b"rdblquote": "\u201d", b"emspace": " ", b"enspace": " "}
MAX_DEPTH = 100


def read_rtf(data: bytes) -> RawText:
    codepage = "cp1252"
    match = re.search(rb"\\ansicpg(\d{3,5})", data[:4096])
    if match:
        codepage = f"cp{int(match.group(1))}"
        try:
            codecs.lookup(codepage)  # decoding b"" would not tell: it never looks the codec up
        except LookupError:
            codepage = "cp1252"
    visible: list[str] = []
    hidden: list[str] = []
    # State per group: (skipped, hidden, bytes to skip after \uN)
    stack: list[tuple[bool, bool, int]] = []
    skipped, concealed, uc = False, False, 1
    pending_skip = 0
    star = False

    def out(text: str) -> None:
        if not skipped:
            (hidden if concealed else visible).append(text)

    for m in _TOKEN.finditer(data):
        word, arg, hexa, symbol, brace, text = m.groups()
        if pending_skip and (hexa or text):
            if text and len(text) > pending_skip:
                text = text[pending_skip:]
                pending_skip = 0
            else:
                pending_skip -= 1 if hexa else len(text or b"")
                continue
        if brace == b"{":
            if len(stack) >= MAX_DEPTH:
                raise ExtractionError("too_deeply_nested", f"the RTF document nests groups more than {MAX_DEPTH} deep")
            stack.append((skipped, concealed, uc))
            star = False
        elif brace == b"}":
            if not stack:
                continue
            skipped, concealed, uc = stack.pop()
        elif word is not None:
            if word in _SKIPPED or star:
                skipped = True
                star = False
            elif word == b"v":
                concealed = arg != b"0"
            elif word == b"uc" and arg is not None:
                uc = max(0, int(arg))
            elif word == b"u" and arg is not None:
                out(chr(int(arg) % 65536))
                pending_skip = uc
            elif word in _BREAKS:
                out(_BREAKS[word])
            elif word in _SYMBOLS:
                out(_SYMBOLS[word])
        elif hexa is not None:
            out(bytes([int(hexa, 16)]).decode(codepage, "replace"))
        elif symbol is not None:
            if symbol == b"*":
                star = True
            elif symbol in (b"\\", b"{", b"}"):
                out(symbol.decode())
            elif symbol == b"~":
                out(" ")
            elif symbol in (b"\n", b"\r"):
                out("\n")
        elif text is not None:
            out(text.decode(codepage, "replace"))
    lines = [" ".join(line.split()) for line in "".join(visible).splitlines()]
    hidden_text = " ".join(" ".join(hidden).split())
    return RawText("\n".join(lines), 1, "rtf", [Hidden("rtf_hidden", hidden_text)] if hidden_text else [])
