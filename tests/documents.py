"""Real documents generated for tests: PDFs with reportlab, DOCX with python-docx, images with PyMuPDF."""

import io
import struct
import zipfile
from collections.abc import Sequence

import docx
import pymupdf
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

_TOP = A4[1] - 60
_LEADING = 15


def make_pdf(
    lines: Sequence[str],
    *,
    white: Sequence[str] = (),
    tiny: Sequence[str] = (),
    right_column: Sequence[str] = (),
) -> bytes:
    """A one-page-per-50-lines PDF with ``lines`` in black 11-pt Helvetica.

    ``white`` lines are drawn in white, ``tiny`` lines at 1 pt; ``right_column`` lines make a second column
    beside ``lines`` (drawn after the left column, starting at the same height).
    """
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    left_x = 50 if not right_column else 40
    y = _TOP
    for line in lines:
        if y < 60:
            pdf.showPage()
            y = _TOP
        pdf.setFont("Helvetica", 11)
        pdf.drawString(left_x, y, line)
        y -= _LEADING
    y_right = _TOP
    for line in right_column:
        pdf.setFont("Helvetica", 11)
        pdf.drawString(A4[0] / 2 + 20, y_right, line)
        y_right -= _LEADING
    for line in white:
        pdf.setFillColorRGB(1, 1, 1)
        pdf.setFont("Helvetica", 11)
        pdf.drawString(left_x, y, line)
        y -= _LEADING
    pdf.setFillColorRGB(0, 0, 0)
    for line in tiny:
        pdf.setFont("Helvetica", 1)
        pdf.drawString(left_x, y, line)
        y -= 3
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_docx(paragraphs: Sequence[str], table: Sequence[Sequence[str]] | None = None) -> bytes:
    """A DOCX with ``paragraphs`` (a line starting with ``# `` becomes a Heading 1) and an optional table."""
    document = docx.Document()
    for paragraph in paragraphs:
        if paragraph.startswith("# "):
            document.add_heading(paragraph[2:], level=1)
        else:
            document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=max(len(row) for row in table))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_png(width: int = 20, height: int = 20) -> bytes:
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    pixmap.clear_with(200)
    return pixmap.tobytes("png")


def make_scanned_pdf() -> bytes:
    """A PDF whose only page is an image: no text layer."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_image(pymupdf.Rect(50, 50, 400, 400), stream=make_png(200, 200))
    return doc.tobytes()


def make_encrypted_pdf(lines: Sequence[str]) -> bytes:
    doc = pymupdf.open(stream=make_pdf(lines), filetype="pdf")
    return doc.tobytes(encryption=pymupdf.mupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")


def make_docx_bomb(expanded_bytes: int = 200 * 1024 * 1024, *, understate: bool = False) -> bytes:
    """A real DOCX plus a part of zeros that inflates to ``expanded_bytes`` (about 200 KB compressed).

    With ``understate`` the central directory claims the part is 1 KB: a lying header.
    """
    buffer = io.BytesIO(make_docx(["Jo Bloggs", "# Skills", "Python"]))
    name = "word/media/filler.bin"
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        chunk = bytes(1024 * 1024)
        with archive.open(name, "w", force_zip64=expanded_bytes > 2**31) as part:
            for _ in range(expanded_bytes // len(chunk)):
                part.write(chunk)
    data = bytearray(buffer.getvalue())
    if understate:
        entry = data.rfind(b"PK\x01\x02", 0, data.rindex(name.encode()))
        struct.pack_into("<I", data, entry + 24, 1024)
    return bytes(data)


def make_rtf(lines: Sequence[str], hidden: str = "") -> bytes:
    """An RTF document (font and colour tables, a picture, Unicode escapes) with ``lines`` as paragraphs."""
    body = "".join(
        "".join(c if ord(c) < 128 else f"\\u{ord(c)}?" for c in line).replace("{", "\\{").replace("}", "\\}")
        + "\\par\n"
        for line in lines
    )
    secret = f"{{\\v {hidden}}}\\par\n" if hidden else ""
    return (
        "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Arial;}}{\\colortbl;\\red0\\green0\\blue0;}\n"
        "{\\*\\generator Shortlist tests;}{\\info{\\title CV}}\\f0\\fs22\n"
        f"{body}{secret}{{\\pict\\pngblip 89504e470d0a1a0a}}}}"
    ).encode("ascii")


def make_pdf_with_tricks(lines: Sequence[str], *, on_box: str, white_on_box: str, clipped: str) -> bytes:
    """``lines`` in black, then a dark blue box with ``on_box`` drawn in the box's own colour (unreadable) and
    ``white_on_box`` in white (readable), and ``clipped`` drawn outside a clipping path (cut away)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = _TOP
    for line in lines:
        pdf.setFont("Helvetica", 11)
        pdf.drawString(50, y, line)
        y -= _LEADING
    pdf.setFillColorRGB(0.1, 0.2, 0.5)
    pdf.rect(40, y - 40, 400, 40, fill=1, stroke=0)
    pdf.drawString(50, y - 30, on_box)
    pdf.setFillColorRGB(1, 1, 1)
    pdf.drawString(50, y - 15, white_on_box)
    pdf.saveState()
    path = pdf.beginPath()
    path.rect(50, 60, 5, 5)
    pdf.clipPath(path, stroke=0, fill=0)
    pdf.setFillColorRGB(0, 0, 0)
    pdf.drawString(50, y - 80, clipped)
    pdf.restoreState()
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
