"""Rich views of the API's answers."""

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

RECOMMENDATION_STYLES = {"advance": "bold green", "review": "yellow", "reject": "red"}
STATUS_STYLES = {"scored": "green", "notified": "green", "failed": "bold red"}


def _score(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) else "—"


def _quote(quote: Any, limit: int = 140) -> str:
    if isinstance(quote, dict):
        quote = quote.get("text") or quote.get("quote") or ""
    text = " ".join(str(quote).split())
    return f"“{text[: limit - 1]}…”" if len(text) > limit else f"“{text}”"


def _recommendation(value: Any) -> Text:
    text = str(value or "—")
    return Text(text, style=RECOMMENDATION_STYLES.get(text.lower(), ""))


def ranking_table(ranking: dict[str, Any], title: str | None = None) -> Table:
    table = Table(title=title or f"Ranking of job {ranking.get('job_id', '?')}", show_lines=True)
    table.add_column("#", justify="right", style="bold")
    table.add_column("candidate")
    table.add_column("score", justify="right")
    table.add_column("recommendation")
    table.add_column("top evidence", ratio=1)
    for rank, item in enumerate(ranking.get("items", []), start=1):
        evidence = item.get("top_evidence") or []
        lines = [
            Text.assemble((f"{e.get('requirement', '')}: ", "dim"), _quote(e.get("quote", ""))) for e in evidence[:2]
        ]
        table.add_row(
            str(rank),
            str(item.get("candidate_name") or item.get("application_id", "")),
            _score(item.get("score")),
            _recommendation(item.get("recommendation")),
            Group(*lines) if lines else Text("—", style="dim"),
        )
    return table


def application_view(application: dict[str, Any]) -> RenderableType:
    status = str(application.get("status", "?"))
    parts: list[RenderableType] = [
        Text.assemble(
            ("application ", "dim"),
            (str(application.get("id", "?")), "bold"),
            ("  job ", "dim"),
            str(application.get("job_id", "?")),
            ("  status ", "dim"),
            (status, STATUS_STYLES.get(status, "cyan")),
        )
    ]
    timeline = Table(title="timeline", show_header=True, box=None, title_justify="left")
    timeline.add_column("status")
    timeline.add_column("at", style="dim")
    for step in application.get("timeline") or []:
        timeline.add_row(str(step.get("status", "")), str(step.get("at", "")))
    parts.append(timeline)
    failure = application.get("failure")
    if failure:
        parts.append(
            Text.assemble(
                ("failed", "bold red"),
                f" in {failure.get('step', '?')}: {failure.get('code', '?')}: {failure.get('message', '')}",
            )
        )
    score = application.get("score")
    if score:
        parts.append(
            Text.assemble(
                ("score ", "dim"),
                (_score(score.get("score")), "bold"),
                "  ",
                _recommendation(score.get("recommendation")),
                (f"  scorer {score.get('scorer', '?')}", "dim"),
                (f"  flags {', '.join(score['flags'])}", "yellow") if score.get("flags") else "",
            )
        )
        requirements = Table(show_header=True, box=None)
        requirements.add_column("kind")
        requirements.add_column("requirement")
        requirements.add_column("score", justify="right")
        requirements.add_column("verdict")
        requirements.add_column("evidence", ratio=1)
        for req in score.get("requirements") or []:
            quotes = req.get("quotes") or []
            requirements.add_row(
                str(req.get("kind", "")),
                str(req.get("text", "")),
                _score(req.get("score")),
                str(req.get("verdict", "")),
                _quote(quotes[0]) if quotes else "",
            )
        parts.append(requirements)
    return Group(*parts)
