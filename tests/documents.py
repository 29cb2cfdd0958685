"""Real documents generated for tests: PDFs with reportlab, DOCX with python-docx, images with PyMuPDF."""

import io
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
