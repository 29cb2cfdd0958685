"""Job requirements: given explicitly, or derived from the description's bullets and headings."""

import re
from dataclasses import dataclass

MUST_WEIGHT = 1.0
NICE_WEIGHT = 0.5
MAX_REQUIREMENTS = 50

_BULLET = re.compile(r"^\s*(?:[-*•·‣◦▪–+]|\d{1,2}[.)])\s+(.+)$")
_MUST_HEADINGS = (
    "must have", "must haves", "requirements", "required", "qualifications", "minimum qualifications",
    "basic qualifications", "required qualifications", "required skills", "essential", "essentials",
    "key requirements", "what you need", "what you will need", "what we are looking for", "what we re looking for",
    "what you bring", "what you ll bring", "what you will bring", "you have", "about you", "your profile",
    "who you are", "skills", "experience", "we expect", "job requirements",
)  # fmt: skip
_NICE_HEADINGS = (
    "nice to have", "nice to haves", "preferred", "preferred qualifications", "preferred skills", "bonus",
    "bonus points", "desirable", "desired", "good to have", "pluses", "extra credit", "ideally", "a plus",
)  # fmt: skip
_NICE_WORDS = re.compile(r"\b(nice to have|bonus|preferred|preferably|a plus|ideally|desirable|is a plus)\b", re.I)
_REQUIREMENT_WORDS = re.compile(
    r"\b(experience|experienced|knowledge|skills?|years?|proficien\w*|familiar\w*|degree|ability|able to|must|"
    r"should|strong|expert\w*|understanding|background|fluent|certified|certification|comfortable)\b",
    re.I,
)


@dataclass(frozen=True)
class DraftRequirement:
    text: str
    kind: str  # must | nice
    weight: float


def default_weight(kind: str) -> float:
    return MUST_WEIGHT if kind == "must" else NICE_WEIGHT


def _heading_kind(line: str) -> str | None:
    """'must' or 'nice' for a requirements heading, '' for another heading, None for a line that is no heading."""
    stripped = line.strip()
    markdown = stripped.startswith("#")
    bare = stripped.strip("#*_ ").rstrip(":").strip("*_ ")
    words = bare.split()
    if not words or len(words) > 8:
        return None
    is_heading = markdown or stripped.endswith(":") or (stripped.startswith("**") and stripped.endswith("**"))
    is_heading = is_heading or (len(words) <= 5 and not stripped.endswith((".", "!", "?", ",")))
    if not is_heading:
        return None
    normal = " ".join(re.sub(r"[^a-z ]+", " ", bare.lower().replace("-", " ")).split())
    if any(normal == h or normal.startswith(h + " ") for h in _NICE_HEADINGS):
        return "nice"
    if any(normal == h or normal.startswith(h + " ") for h in _MUST_HEADINGS):
        return "must"
    return ""


def derive_requirements(description: str) -> list[DraftRequirement]:
    """Bullets under requirement headings (all bullets when there are no such headings), else sentences."""
    under_heading: list[tuple[str, str]] = []
    all_bullets: list[str] = []
    section: str | None = None
    for line in description.splitlines():
        bullet = _BULLET.match(line)
        if bullet:
            text = _clean(bullet.group(1))
            if text:
                all_bullets.append(text)
                if section:
                    under_heading.append((text, section))
            continue
        kind = _heading_kind(line)
        if kind is not None:
            section = kind or None
    if under_heading:
        drafts = [DraftRequirement(t, k, default_weight(k)) for t, k in under_heading]
    elif all_bullets:
        drafts = [_from_sentence(t) for t in all_bullets]
    else:
        drafts = _from_sentences(description)
    unique: dict[str, DraftRequirement] = {}
    for draft in drafts:
        unique.setdefault(draft.text.lower(), draft)
    return list(unique.values())[:MAX_REQUIREMENTS]


def _from_sentence(text: str) -> DraftRequirement:
    kind = "nice" if _NICE_WORDS.search(text) else "must"
    return DraftRequirement(text, kind, default_weight(kind))


def _from_sentences(description: str) -> list[DraftRequirement]:
    prose = " ".join(line.strip() for line in description.splitlines() if _heading_kind(line) is None)
    sentences = [_clean(s) for s in re.split(r"(?<=[.!?;])\s+", prose)]
    sentences = [s for s in sentences if len(s.split()) >= 3]
    relevant = [s for s in sentences if _REQUIREMENT_WORDS.search(s)] or sentences
    return [_from_sentence(s) for s in relevant]


def _clean(text: str) -> str:
    text = re.sub(r"(\*\*|__|`)", "", text).strip()
    return text.rstrip(".;,").strip()
