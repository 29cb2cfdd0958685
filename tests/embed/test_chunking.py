import itertools

from shortlist.embed.chunking import PiiRange, SectionSpan, chunk_text, redact
from shortlist.v1 import cv_pb2
from tests.embed.conftest import make_cv


def sections_of(cv: cv_pb2.CvIngested) -> list[SectionSpan]:
    return [SectionSpan(s.name, s.span.start, s.span.end) for s in cv.sections]


def test_chunks_follow_sections_with_exact_offsets() -> None:
    cv = make_cv("app-1", "job-1")
    chunks = chunk_text(cv.text, sections_of(cv))
    assert [c.section for c in chunks] == ["other", "summary", "experience", "education", "skills"]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert cv.text[chunk.start : chunk.end] == chunk.text
    assert "Kubernetes" in chunks[2].text and chunks[2].text.startswith("Experience")


def test_long_section_is_split_with_overlap_within_the_word_limit() -> None:
    body = "\n".join(" ".join(f"w{line}x{i}" for i in range(12)) for line in range(40))  # 480 words, 40 lines
    text = "Experience\n" + body
    chunks = chunk_text(text, [SectionSpan("experience", 0, len(text))], max_words=150, overlap_words=20)
    assert len(chunks) >= 4
    covered = set()
    for previous, chunk in itertools.pairwise(chunks):
        assert chunk.start < previous.end, "neighbouring chunks overlap"
        assert chunk.start > previous.start
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text.split()) <= 150
        assert chunk.section == "experience"
        covered.update(chunk.text.split())
    assert covered == set(text.split()), "every word is in some chunk"
    assert all(text[c.end : c.end + 1] in ("\n", "") for c in chunks), "chunks end at line breaks"


def test_text_outside_sections_and_overlapping_sections_are_handled() -> None:
    text = "Header line\nSkills\nPython\nTrailing words"
    sections = [SectionSpan("skills", 12, 25), SectionSpan("education", 20, 26)]
    chunks = chunk_text(text, sections)
    assert [(c.section, c.text) for c in chunks] == [
        ("other", "Header line"),
        ("skills", "Skills\nPython"),
        ("other", "Trailing words"),
    ]
    assert chunk_text("   \n ", []) == []


def test_redaction_replaces_pii_inside_the_range_only() -> None:
    text = "Grace Tester, grace@example.com, Python"
    pii = [PiiRange("name", 0, 12), PiiRange("email", 14, 31)]
    assert redact(text, 0, len(text), pii) == "[NAME], [EMAIL], Python"
    assert redact(text, 20, len(text), pii) == "[EMAIL], Python"
    assert redact(text, 33, len(text), pii) == "Python"
