"""Versioned schema migrations for notify's database, on SQLite and PostgreSQL.

A ``schema_version`` table lists the steps applied. Steps run in order, each once, in one transaction;
on PostgreSQL an advisory lock keeps two replicas starting together from migrating at the same time.
A step's tables are written out as they were at that version, never taken from the current models.
To change the schema, append a step; never edit an applied one.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)

Step = Callable[[Connection], None]
_LOCK_ID = 7_341_004


def _when(name: str, nullable: bool = True) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _baseline(connection: Connection) -> None:
    """The schema before migrations existed (``create`` leaves tables an older version made alone)."""
    meta = MetaData()
    subscriptions = Table(
        "subscriptions",
        meta,
        Column("id", String(36), primary_key=True),
        Column("url", Text, nullable=False),
        Column("job_id", String(128)),
        Column("min_score", Float),
        Column("secret", Text, nullable=False),
        _when("created_at", nullable=False),
        Column("active", Boolean, nullable=False),
    )
    Index("ix_subscriptions_job_id", subscriptions.c.job_id)
    Index("ix_subscriptions_active", subscriptions.c.active)
    deliveries = Table(
        "deliveries",
        meta,
        Column("delivery_id", String(36), primary_key=True),
        Column("subscription_id", String(36), nullable=False),
        Column("event_id", String(128), nullable=False),
        Column("application_id", String(128), nullable=False),
        Column("attempt", Integer, nullable=False),
        Column("outcome", String(32), nullable=False),
        Column("status_code", Integer),
        Column("error", Text),
        _when("at", nullable=False),
    )
    Index("ix_deliveries_subscription_id", deliveries.c.subscription_id)
    Index("ix_deliveries_application_id", deliveries.c.application_id)
    Index(
        "uq_deliveries_delivered",
        deliveries.c.subscription_id,
        deliveries.c.event_id,
        unique=True,
        sqlite_where=text("outcome = 'delivered'"),
        postgresql_where=text("outcome = 'delivered'"),
    )
    Table(
        "notify_erased_applications",
        meta,
        Column("application_id", String(128), primary_key=True),
        _when("erased_at", nullable=False),
    )
    meta.create_all(connection, checkfirst=True)


def _durable_deliveries(connection: Connection) -> None:
    """One row per (subscription, score) with its retry schedule, every attempt, and the subscriptions'
    pause, recommendation filter, secret rotation and failure flag. The old log's rows are carried over,
    one per pair (a delivered one first, else the latest), ``gave_up`` becoming ``failed``."""
    for ddl in (
        "ALTER TABLE subscriptions ADD COLUMN paused BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE subscriptions ADD COLUMN recommendations TEXT",
        "ALTER TABLE subscriptions ADD COLUMN previous_secret TEXT",
        "ALTER TABLE subscriptions ADD COLUMN previous_secret_until TIMESTAMP WITH TIME ZONE",
        "ALTER TABLE subscriptions ADD COLUMN failing_since TIMESTAMP WITH TIME ZONE",
    ):
        connection.execute(text(ddl))
    meta = MetaData()
    deliveries = Table(
        "webhook_deliveries",
        meta,
        Column("delivery_id", String(36), primary_key=True),
        Column("subscription_id", String(36), nullable=False),
        Column("event_id", String(128), nullable=False),
        Column("application_id", String(128), nullable=False),
        Column("job_id", String(128), nullable=False),
        Column("state", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("tries", Integer, nullable=False),
        Column("status_code", Integer),
        Column("error", Text),
        Column("body", Text, nullable=False),
        _when("submitted_at"),
        _when("created_at", nullable=False),
        _when("next_at"),
        _when("lease_until"),
        _when("finished_at"),
    )
    Index("uq_webhook_deliveries_pair", deliveries.c.subscription_id, deliveries.c.event_id, unique=True)
    Index("ix_webhook_deliveries_application_id", deliveries.c.application_id)
    Index("ix_webhook_deliveries_due", deliveries.c.state, deliveries.c.next_at)
    attempts = Table(
        "webhook_attempts",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("delivery_id", String(36), nullable=False),
        Column("number", Integer, nullable=False),
        _when("at", nullable=False),
        Column("status_code", Integer),
        Column("latency_seconds", Float, nullable=False),
        Column("error", Text),
    )
    Index("ix_webhook_attempts_delivery_id", attempts.c.delivery_id)
    meta.create_all(connection)
    connection.execute(
        text(
            "INSERT INTO webhook_deliveries (delivery_id, subscription_id, event_id, application_id, job_id, state,"
            " attempts, tries, status_code, error, body, created_at, finished_at) "
            "SELECT d.delivery_id, d.subscription_id, d.event_id, d.application_id, '',"
            " CASE d.outcome WHEN 'gave_up' THEN 'failed' ELSE d.outcome END, d.attempt, d.attempt,"
            " d.status_code, d.error, '', d.at, d.at FROM deliveries d WHERE d.delivery_id = ("
            "SELECT o.delivery_id FROM deliveries o WHERE o.subscription_id = d.subscription_id"
            " AND o.event_id = d.event_id"
            " ORDER BY CASE o.outcome WHEN 'delivered' THEN 0 ELSE 1 END, o.at DESC LIMIT 1)"
        )
    )
    connection.execute(text("DROP TABLE deliveries"))


STEPS: list[tuple[int, str, Step]] = [
    (1, "subscriptions, delivery log, erased applications", _baseline),
    (2, "durable deliveries with attempts; subscription pause, filters, rotation, failure flag", _durable_deliveries),
]
LATEST = STEPS[-1][0]

_meta = MetaData()
schema_version = Table(
    "notify_schema_version",
    _meta,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    _when("applied_at", nullable=False),
)


def current_version(connection: Connection) -> int:
    if not inspect(connection).has_table("notify_schema_version"):
        return 0
    return int(connection.execute(select(func.coalesce(func.max(schema_version.c.version), 0))).scalar_one())


def migrate(connection: Connection, target: int = LATEST) -> list[int]:
    """Apply the steps after the current version up to ``target``; returns the versions applied."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})"))
    _meta.create_all(connection, checkfirst=True)
    applied = []
    current = current_version(connection)
    for version, description, step in STEPS:
        if current < version <= target:
            step(connection)
            connection.execute(
                schema_version.insert().values(version=version, description=description, applied_at=datetime.now(UTC))
            )
            applied.append(version)
    return applied
