"""Versioned schema migrations for notify's database, on SQLite and PostgreSQL.

The runner is ``shortlist.runtime.migrations``; to change the schema, append a step, never edit an applied one.
"""

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
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
    subscriptions = Table(
        "subscriptions",
        meta,
        Column("id", String(36), primary_key=True),
        Column("url", Text, nullable=False),
        Column("job_id", String(128)),
        Column("min_score", Float),
        Column("secret", Text, nullable=False),
        when("created_at", nullable=False),
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
        when("at", nullable=False),
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
        when("erased_at", nullable=False),
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
        when("submitted_at"),
        when("created_at", nullable=False),
        when("next_at"),
        when("lease_until"),
        when("finished_at"),
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
        when("at", nullable=False),
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


MIGRATIONS = Migrations(
    "notify_schema_version",
    7_341_004,
    [
        (1, "subscriptions, delivery log, erased applications", _baseline),
        (
            2,
            "durable deliveries with attempts; subscription pause, filters, rotation, failure flag",
            _durable_deliveries,
        ),
    ],
)
migrate = MIGRATIONS.migrate
