"""The manifests agree with the code: settings, topics, consumer groups and ports are read from the services and
compared with the rendered overlays, so a setting renamed or a topic added in the code alone fails here."""

import importlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from shortlist.runtime.service import Service
from shortlist.runtime.topics import ALL_TOPICS, MAIN_TOPICS
from tests.deploy.manifests import OVERLAYS, ROOT, SERVICES, Doc, find, one, render

# Read by the runtime outside the settings classes (libs/shortlist/runtime/tracing.py).
OTHER_VARIABLES = {"OTEL_EXPORTER_OTLP_ENDPOINT"}
# Settings whose embedded default (a local file, in-process state) cannot serve several replicas.
CLUSTER_SETTINGS = {"database_url", "qdrant_url", "redis_url"}
SECRET_SETTINGS = {"database_url", "api_keys", "openai_api_key", "qdrant_api_key"}
SECRET_PLACEHOLDERS = {"database_url": "postgresql://user:secret@postgres-rw:5432/shortlist"}


def settings_class(service: str) -> type[BaseSettings]:
    cls: type[BaseSettings] = importlib.import_module(f"shortlist.{service}.config").Settings
    return cls


def variables(cls: type[BaseSettings]) -> dict[str, str]:
    """Environment variable -> field name, as pydantic-settings reads them."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: dict[str, str] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update({c.upper(): field_name for c in alias.choices if isinstance(c, str)})
        elif isinstance(alias, str):
            names[alias.upper()] = field_name
        else:
            names[(prefix + field_name).upper()] = field_name
    return names


def container(docs: tuple[Doc, ...], service: str) -> Doc:
    containers = one(docs, "Deployment", service)["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == service)


def environment(docs: tuple[Doc, ...], service: str) -> dict[str, tuple[str, Any]]:
    """Variable -> (where it comes from, its value) for the service's container."""
    spec = container(docs, service)
    env: dict[str, tuple[str, Any]] = {}
    for source in spec.get("envFrom", []):
        config = one(docs, "ConfigMap", source["configMapRef"]["name"])
        env.update({k: ("configmap", v) for k, v in config["data"].items()})
    for item in spec.get("env", []):
        if "value" in item:
            env[item["name"]] = ("value", item["value"])
        elif "secretKeyRef" in item["valueFrom"]:
            env[item["name"]] = ("secret", item["valueFrom"]["secretKeyRef"])
        else:
            ref = item["valueFrom"]["configMapKeyRef"]
            env[item["name"]] = ("configmap", one(docs, "ConfigMap", ref["name"])["data"][ref["key"]])
    return env


def load_settings(docs: tuple[Doc, ...], service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The service's Settings as its pod would read them (secrets replaced by placeholders)."""
    cls = settings_class(service)
    names = variables(cls)
    for name in list(os.environ):
        if name.startswith("SHORTLIST_") or name in names or name in OTHER_VARIABLES:
            monkeypatch.delenv(name)
    for name, (source, value) in environment(docs, service).items():
        secret = SECRET_PLACEHOLDERS.get(names.get(name, ""), "placeholder")
        monkeypatch.setenv(name, secret if source == "secret" else value)
    monkeypatch.setenv("SHORTLIST_STATE_DIR", str(tmp_path))
    return cls()


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_setting_of_the_service(overlay: str, service: str) -> None:
    known = variables(settings_class(service))
    env = environment(render(overlay), service)
    unknown = sorted(n for n in env if n not in known and n not in OTHER_VARIABLES)
    assert unknown == [], f"{service} ({overlay}) sets variables its Settings do not read: {unknown}"
    fields = {known[n]: source for n, (source, _) in env.items() if n in known}
    missing = sorted(f for f in CLUSTER_SETTINGS if f in settings_class(service).model_fields and f not in fields)
    assert missing == [], f"{service} ({overlay}) runs on its embedded default for {missing}"
    exposed = sorted(f for f, source in fields.items() if f in SECRET_SETTINGS and source != "secret")
    assert exposed == [], f"{service} ({overlay}) takes {exposed} from a ConfigMap instead of a Secret"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_settings_load_and_ports_agree(
    overlay: str, service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    docs = render(overlay)
    settings = load_settings(docs, service, monkeypatch, tmp_path)
    assert settings.kafka_idempotence is True
    assert settings.host == "0.0.0.0"
    ports = {p["name"]: p["containerPort"] for p in container(docs, service)["ports"]}
    assert ports == {"http": settings.port}
    svc_ports = one(docs, "Service", service)["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in svc_ports] == [(settings.port, "http")]
    policy = one(docs, "NetworkPolicy", service)["spec"]
    assert {p["port"] for rule in policy["ingress"] for p in rule["ports"]} == {settings.port}
    assert [e["port"] for e in one(docs, "ServiceMonitor", service)["spec"]["endpoints"]] == ["http"]
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    stage = re.search(rf"FROM runtime AS {service}\n(.*?)(?:\n\n|\Z)", dockerfile, re.S)
    assert stage is not None, f"no {service} target in the Dockerfile"
    assert f"EXPOSE {settings.port}\n" in stage.group(1)
    assert f'"shortlist.{service}"]' in stage.group(1)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_topic_and_dead_letter_topic_is_declared(
    overlay: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    docs = render(overlay)
    topics = {t["spec"]["topicName"]: t["spec"] for t in find(docs, "KafkaTopic")}
    assert sorted(topics) == sorted(ALL_TOPICS)
    settings = load_settings(docs, "ingest", monkeypatch, tmp_path)
    assert {topics[t]["partitions"] for t in MAIN_TOPICS} == {settings.kafka_partitions}
    assert {t["replicas"] for t in topics.values()} == {settings.kafka_replication_factor}
    kafka = find(docs, "Kafka")[0]
    assert f"{kafka['metadata']['name']}-kafka-bootstrap:9092" == settings.kafka_bootstrap


def consumers(service: str, settings: Any) -> set[tuple[str, str]]:
    """(consumer group, topic) of every consumer loop the service builds."""
    app = importlib.import_module(f"shortlist.{service}.app")
    built: Service = app.build(settings)[0]
    return {(loop._group_id, topic) for loop in built.consumers for topic in loop.topics}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_scaled_objects_follow_the_consumer_groups(
    overlay: str, service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    docs = render(overlay)
    settings = load_settings(docs, service, monkeypatch, tmp_path)
    groups = consumers(service, settings)
    scaled = one(docs, "ScaledObject", service)
    assert scaled["spec"]["scaleTargetRef"]["name"] == service
    kafka = [t["metadata"] for t in scaled["spec"]["triggers"] if t["type"] == "kafka"]
    triggers = {(t["consumerGroup"], t["topic"]) for t in kafka}
    assert {t["bootstrapServers"] for t in kafka} == {settings.kafka_bootstrap}
    assert triggers <= groups, f"{service} has no consumer for {sorted(triggers - groups)}"
    if service == "ingest":
        assert [t["type"] for t in scaled["spec"]["triggers"]].count("cpu") == 1
    else:
        assert triggers == groups, f"{service}: groups without a lag trigger: {sorted(groups - triggers)}"
