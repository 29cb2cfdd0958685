"""Significant terms of a requirement and how well a CV's text covers them (exact, stemmed, fuzzy)."""

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

_TOKEN = re.compile(r"[a-z][a-z0-9+#]*(?:[.\-][a-z0-9+#]+)*")

_STOPWORDS = """
    a about above across after all also an and any are as at be been being both but by can could do does
    each either etc for from has have having how if in into is it its least like may more most must no nor
    not of on one or other our over per plus same should so some such than that the their them then there
    these they this those through to two three four five six up upon us using use via was we well were what
    when where which while who whom why will with within without would you your
    ability able advanced background basic candidate capable comfortable demonstrable demonstrated desirable
    deep excellent exposure expert expertise experience experienced familiar familiarity good great hands
    hands-on ideally including knowledge level minimum nice preferably preferred professional proficiency
    proficient proven related relevant required requirement role similar skill skills solid strong team
    understanding work working year years equivalent field fields practical track record plus
"""
STOPWORDS = frozenset(_STOPWORDS.split())

_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ers", "er", "ies", "ied", "ed", "es", "s", "ly")
EXACT, STEM, FUZZY = 1.0, 0.9, 0.75
_FUZZY_CUTOFF = 85.0
_FUZZY_MIN_LEN = 5


def tokens(text: str) -> list[str]:
    return [t.rstrip(".-") for t in _TOKEN.findall(text.lower())]


def stem(token: str) -> str:
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    return token


@lru_cache(maxsize=4096)
def significant_terms(requirement: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for token in tokens(requirement):
        if token in STOPWORDS or (len(token) < 2 and token not in ("c", "r")):
            continue
        seen.setdefault(token, None)
    return tuple(seen)


class CvTerms:
    """The vocabulary of one CV text, ready for term lookups."""

    def __init__(self, text: str) -> None:
        self.vocabulary = sorted(set(tokens(text)))
        self._exact = set(self.vocabulary)
        self._stems = {stem(t) for t in self.vocabulary}
        self._long = [t for t in self.vocabulary if len(t) >= _FUZZY_MIN_LEN - 1]

    def credit(self, term: str) -> float:
        if term in self._exact:
            return EXACT
        if len(term) >= _FUZZY_MIN_LEN and (stem(term) in self._stems or term in self._stems):
            return STEM
        if len(term) >= _FUZZY_MIN_LEN and process.extractOne(
            term, self._long, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF
        ):
            return FUZZY
        return 0.0


@dataclass(frozen=True)
class Coverage:
    terms: tuple[str, ...]
    found: tuple[str, ...]
    missing: tuple[str, ...]
    score: float | None  # 0..100; None when the requirement has no significant terms


def coverage(requirement: str, cv: CvTerms) -> Coverage:
    terms = significant_terms(requirement)
    if not terms:
        return Coverage(terms=(), found=(), missing=(), score=None)
    credits = {t: cv.credit(t) for t in terms}
    return Coverage(
        terms=terms,
        found=tuple(t for t in terms if credits[t] > 0),
        missing=tuple(t for t in terms if credits[t] == 0),
        score=100.0 * sum(credits.values()) / len(terms),
    )
