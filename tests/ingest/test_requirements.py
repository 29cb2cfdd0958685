"""Requirements derived from job descriptions."""

from shortlist.ingest.requirements import derive_requirements


def kinds(description: str) -> list[tuple[str, str, float]]:
    return [(r.text, r.kind, r.weight) for r in derive_requirements(description)]


def test_must_and_nice_bullets_match_one_to_one() -> None:
    description = (
        "# Backend engineer\n\nWe build event-driven services.\n\n"
        "## Responsibilities\n- Own the ingest pipeline\n\n"
        "## Must have\n- Python services in production\n* 3+ years with Apache Kafka\n1. PostgreSQL.\n\n"
        "**Nice to have:**\n- Kubernetes\n- Grafana dashboards\n\n## Benefits\n- Remote work\n"
    )
    assert kinds(description) == [
        ("Python services in production", "must", 1.0),
        ("3+ years with Apache Kafka", "must", 1.0),
        ("PostgreSQL", "must", 1.0),
        ("Kubernetes", "nice", 0.5),
        ("Grafana dashboards", "nice", 0.5),
    ]


def test_requirements_and_preferred_headings() -> None:
    description = "Requirements:\n- Go\n- SQL\nPreferred qualifications:\n- AWS\n"
    assert kinds(description) == [("Go", "must", 1.0), ("SQL", "must", 1.0), ("AWS", "nice", 0.5)]


def test_bullets_without_headings_are_musts() -> None:
    assert kinds("- Rust\n- Embedded Linux, ideally Yocto") == [
        ("Rust", "must", 1.0),
        ("Embedded Linux, ideally Yocto", "nice", 0.5),
    ]


def test_prose_yields_sentences() -> None:
    description = (
        "We are hiring a data engineer in Berlin. You have strong experience with Spark and Airflow. "
        "Knowledge of dbt is a plus. We offer a friendly team."
    )
    assert kinds(description) == [
        ("You have strong experience with Spark and Airflow", "must", 1.0),
        ("Knowledge of dbt is a plus", "nice", 0.5),
    ]
