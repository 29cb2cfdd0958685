"""What the rubric shows a reader: the quote it picks from a chunk, the reason of a requirement, the summary."""

import re
from collections.abc import Sequence

from shortlist.score.scorers.base import Quote, RequirementResult, Verdict
from shortlist.score.terms import Coverage, tokens
from shortlist.v1 import cv_pb2

MAX_QUOTE_CHARS = 300
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def quote_of(chunk: cv_pb2.EvidenceChunk, terms: Coverage, redacted: str) -> Quote:
    """The chunk, or its sentence that names most of the requirement's terms when the chunk is long."""
    base = redacted.find(chunk.text) if chunk.text else -1
    if base < 0:
        base = chunk.span.start
    text = chunk.text
    start, end = 0, len(text)
    if len(text.strip()) > MAX_QUOTE_CHARS:
        found = set(terms.found)
        best_hits = -1
        for match in _SENTENCE.finditer(text):
            sentence = match.group()
            if not sentence.strip():
                continue
            hits = len(found.intersection(tokens(sentence)))
            if hits > best_hits:
                best_hits, start, end = hits, match.start(), match.end()
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start > MAX_QUOTE_CHARS:
        end = start + MAX_QUOTE_CHARS
    return Quote(text=text[start:end], start=base + start, end=base + end)


def _listed(terms: Sequence[str]) -> str:
    return ", ".join(terms[:4]) + (", …" if len(terms) > 4 else "")


def reason_of(verdict: Verdict, best_similarity: float | None, terms: Coverage) -> str:
    if best_similarity is None:
        evidence = "no evidence retrieved"
    else:
        strength = {Verdict.MET: "strong", Verdict.PARTIAL: "some", Verdict.MISSING: "weak"}.get(verdict, "weak")
        evidence = f"{strength} evidence (similarity {best_similarity:.2f})"
    parts = [evidence[0].upper() + evidence[1:]]
    if terms.found:
        parts.append(f"terms found: {_listed(terms.found)}")
    if terms.missing:
        parts.append(f"not found: {_listed(terms.missing)}")
    return "; ".join(parts) + "."


def summarize(results: Sequence[RequirementResult], role: str | None = None) -> str:
    if not results:
        return "The job has no requirements to score against."
    counts = {v: sum(1 for r in results if r.verdict == v) for v in (Verdict.MET, Verdict.PARTIAL, Verdict.MISSING)}
    summary = (
        f"{counts[Verdict.MET]} of {len(results)} requirements met, "
        f"{counts[Verdict.PARTIAL]} partial, {counts[Verdict.MISSING]} missing"
    )
    missing_musts = sum(1 for r in results if r.must and r.verdict == Verdict.MISSING)
    if missing_musts:
        summary += f"; {missing_musts} must-have{'s' if missing_musts > 1 else ''} missing"
    if role is not None:
        summary += f"; {role}"
    return summary + "."
