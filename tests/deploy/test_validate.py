"""Both overlays render, and every object passes the checks a cluster's API server would make."""

import copy

import pytest

from tests.deploy.manifests import OVERLAYS, crd_schemas, errors, find, render


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid(overlay: str) -> None:
    docs = render(overlay)
    kinds = {d["kind"] for d in docs}
    # The kinds the issue names are all there (a render that lost a folder would still be "valid").
    assert {
        "Deployment",
        "StatefulSet",
        "ScaledObject",
        "ServiceMonitor",
        "NetworkPolicy",
        "KafkaTopic",
        "Kafka",
        "KafkaNodePool",
        "Cluster",
        "OpenTelemetryCollector",
        "PodDisruptionBudget",
        "Namespace",
    } <= kinds
    assert errors(docs, crd_schemas()) == []


def test_an_unknown_field_fails_in_core_and_custom_kinds() -> None:
    docs = copy.deepcopy(list(render("dev")))
    deployment = find(docs, "Deployment", "ingest")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    scaled = find(docs, "ScaledObject", "embed")[0]
    scaled["spec"]["maxReplicas"] = 3
    topic = find(docs, "KafkaTopic", "cv-scored-v1")[0]
    topic["spec"]["partitions"] = "many"
    found = errors([deployment, scaled, topic], crd_schemas())
    assert len(found) == 3, found
    assert "imagePullPolice" in found[0] and "maxReplicas" in found[1] and "partitions" in found[2]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_follow_the_restricted_profile(overlay: str) -> None:
    docs = render(overlay)
    assert find(docs, "Namespace")[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for workload in find(docs, "Deployment") + find(docs, "StatefulSet"):
        pod = workload["spec"]["template"]["spec"]
        name = workload["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["serviceAccountName"] == name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"requests", "limits"} <= container["resources"].keys(), name
        assert find(docs, "PodDisruptionBudget", name), f"{name} has no PodDisruptionBudget"
        assert find(docs, "NetworkPolicy", name), f"{name} has no NetworkPolicy"
    deny = find(docs, "NetworkPolicy", "default-deny")[0]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dev_is_one_of_each_and_prod_is_replicated() -> None:
    dev, prod = render("dev"), render("prod")
    assert {s["spec"]["maxReplicaCount"] for s in find(dev, "ScaledObject")} == {1}
    assert find(dev, "KafkaNodePool")[0]["spec"]["replicas"] == 1
    assert find(dev, "Cluster", "postgres")[0]["spec"]["instances"] == 1
    assert find(dev, "StatefulSet", "qdrant")[0]["spec"]["replicas"] == 1

    assert sum(p["spec"]["replicas"] for p in find(prod, "KafkaNodePool") if "broker" in p["spec"]["roles"]) == 3
    config = find(prod, "Kafka")[0]["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3 and config["min.insync.replicas"] == 2
    for topic in find(prod, "KafkaTopic"):
        assert topic["spec"]["replicas"] == 3 and topic["spec"]["config"]["min.insync.replicas"] == "2"
        assert int(topic["spec"]["config"]["retention.ms"]) > 0
    assert find(prod, "Cluster", "postgres")[0]["spec"]["instances"] == 3
    qdrant = find(prod, "StatefulSet", "qdrant")[0]["spec"]
    env = {e["name"]: e["value"] for e in qdrant["template"]["spec"]["containers"][0]["env"]}
    assert qdrant["replicas"] == 3 and env["QDRANT__CLUSTER__ENABLED"] == "true"
    assert int(env["QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR"]) >= 2
    assert {s["spec"]["minReplicaCount"] for s in find(prod, "ScaledObject")} == {2}
