"""Versioned schema migrations for ingest's database, on SQLite and PostgreSQL.

The runner is ``shortlist.runtime.migrations``; to change the schema, append a step, never edit an applied one.
"""

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from shortlist.runtime.migrations import Migrations, when


def _baseline(connection: Connection) -> None:
    """The schema before migrations existed (``create`` leaves tables an older version made alone)."""
    meta = MetaData()
    Table(
        "jobs",
        meta,
        Column("id", String(64), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("title", String(300), nullable=False),
        Column("description", Text, nullable=False),
        Column("requirements", JSON, nullable=False),
        when("created_at", nullable=False),
    )
    applications = Table(
        "applications",
        meta,
        Column("id", String(128), primary_key=True),
        Column("job_id", String(64), nullable=False),
        Column("job_version", Integer),
        Column("candidate_id", String(128), nullable=False),
        Column("candidate_name", String(300)),
        Column("external_id", String(300)),
        Column("filename", String(300)),
        Column("content_type", String(200)),
        Column("content_hash", String(64)),
        Column("status", String(20), nullable=False),
        Column("progress", Integer, nullable=False),
        Column("failure_code", String(100)),
        Column("failure_message", Text),
        Column("failure_step", String(20)),
        Column("failure_rank", Integer),
        *(when(f"{step}_at") for step in ("received", "ingested", "embedded", "scored", "notified", "failed")),
        Column("score", JSON),
        Column("score_value", Float),
        Column("recommendation", String(20)),
        when("updated_at", nullable=False),
    )
    for column in ("job_id", "candidate_id", "content_hash", "status", "score_value"):
        Index(f"ix_applications_{column}", applications.c[column])
    Table(
        "processed_events",
        meta,
        Column("ce_id", String(200), primary_key=True),
        Column("topic", String(200), nullable=False),
        when("processed_at", nullable=False),
    )
    meta.create_all(connection, checkfirst=True)


def _job_versions(connection: Connection) -> None:
    """Every version of a job, so a score can be read against the version it used; the duplicate lookup index."""
    meta = MetaData()
    versions = Table(
        "job_versions",
        meta,
        Column("job_id", String(64), primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("title", String(300), nullable=False),
        Column("description", Text, nullable=False),
        Column("requirements", JSON, nullable=False),
        when("created_at", nullable=False),
    )
    versions.create(connection)
    connection.execute(
        text(
            "INSERT INTO job_versions (job_id, version, title, description, requirements, created_at) "
            "SELECT id, version, title, description, requirements, created_at FROM jobs"
        )
    )
    connection.execute(text("CREATE INDEX ix_applications_job_hash ON applications (job_id, content_hash)"))


def _overrides(connection: Connection) -> None:
    """Reviewers' score overrides (history kept, the latest is current) and tombstones of erased applications."""
    meta = MetaData()
    overrides = Table(
        "score_overrides",
        meta,
        Column("id", String(36), primary_key=True),
        Column("application_id", String(128), nullable=False),
        Column("score", Float),
        Column("recommendation", String(20)),
        Column("reason", Text, nullable=False),
        Column("reviewer", String(200)),
        Column("computed_score", Float),
        Column("computed_recommendation", String(20)),
        when("created_at", nullable=False),
    )
    Index("ix_score_overrides_application_id", overrides.c.application_id)
    Table(
        "erased_applications",
        meta,
        Column("application_id", String(128), primary_key=True),
        when("erased_at", nullable=False),
    )
    meta.create_all(connection)


def _stored_work(connection: Connection) -> None:
    """The published CvIngested of every application not notified yet, for re-drive after a restart."""
    Table(
        "stored_work",
        MetaData(),
        Column("application_id", String(128), primary_key=True),
        Column("event_id", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        when("stored_at", nullable=False),
        when("redriven_at"),
        Column("redrives", Integer, nullable=False),
    ).create(connection)


MIGRATIONS = Migrations(
    "schema_version",
    7_341_003,
    [
        (1, "jobs, applications, processed events", _baseline),
        (2, "job versions; duplicate lookup by job and content hash", _job_versions),
        (3, "score overrides; erased applications", _overrides),
        (4, "stored work for re-drive", _stored_work),
    ],
)
LATEST = MIGRATIONS.latest
current_version = MIGRATIONS.current_version
migrate = MIGRATIONS.migrate
