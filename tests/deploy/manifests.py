"""The rendered overlays of deploy/k8s and the validators the deploy tests share."""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.37.0"
SERVICES = ("ingest", "embed", "score", "notify")

Doc = dict[str, Any]


def kubectl() -> str:
    return str(Path(sys.executable).parent / "kubectl")


def kustomize(path: Path) -> list[Doc]:
    done = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed: {done.stderr}")
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@functools.cache
def render(overlay: str) -> tuple[Doc, ...]:
    return tuple(kustomize(ROOT / "deploy" / "k8s" / "overlays" / overlay))


def find(docs: tuple[Doc, ...] | list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: tuple[Doc, ...] | list[Doc], kind: str, name: str) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def crd_schemas() -> Path:
    """``../shared/schemas/crds`` beside the repository (SHORTLIST_CRD_SCHEMAS overrides it)."""
    path = Path(os.environ.get("SHORTLIST_CRD_SCHEMAS") or ROOT.parent / "shared" / "schemas" / "crds")
    if not path.is_dir():
        reason = f"no CRD schemas at {path} (set SHORTLIST_CRD_SCHEMAS)"
        if os.environ.get("SHORTLIST_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def is_core(doc: Doc) -> bool:
    """A kind the Kubernetes API server itself serves (validated by kubernetes-validate)."""
    group = doc["apiVersion"].rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def label(doc: Doc) -> str:
    return f"{doc['kind']}/{doc['metadata'].get('name')}"


def core_errors(doc: Doc) -> list[str]:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{label(doc)}: {'.'.join(map(str, exc.path))}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{label(doc)}: no Kubernetes {KUBERNETES_VERSION} schema for {doc['apiVersion']}"]
    return []


def custom_errors(doc: Doc, schemas: Path) -> list[str]:
    group, _, version = doc["apiVersion"].rpartition("/")
    path = schemas / group / f"{doc['kind'].lower()}_{version}.json"
    if not path.exists():
        return [f"{label(doc)}: no CRD schema {path.relative_to(schemas)}"]
    validator = jsonschema.Draft7Validator(json.loads(path.read_text()))
    return [
        f"{label(doc)}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in sorted(validator.iter_errors(doc), key=str)
    ]


def errors(docs: tuple[Doc, ...] | list[Doc], schemas: Path) -> list[str]:
    found: list[str] = []
    for doc in docs:
        found += core_errors(doc) if is_core(doc) else custom_errors(doc, schemas)
    return found
