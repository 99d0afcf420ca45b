"""Kubernetes manifests are valid against the official schemas (kubernetes-validate, schemas
in its wheel), and they and compose.yaml agree with each other and with the services'
settings: what no schema can check (ports, selectors, probes, environment names)."""

from __future__ import annotations

import copy
import dataclasses
import re

import kubernetes_validate
import pytest
import yaml

from services.classifier.settings import ClassifierSettings
from services.common.settings import env_name, load_settings
from services.detector.settings import DetectorSettings
from services.gateway.settings import GatewaySettings
from services.recognizer.settings import RecognizerSettings
from tests.conftest import ROOT

K8S = ROOT / "deploy/k8s"
SETTINGS = {"classifier": ClassifierSettings, "detector": DetectorSettings, "web": GatewaySettings,
            "recognizer": RecognizerSettings}


def documents() -> list[dict]:
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def of_kind(kind: str) -> list[dict]:
    return [d for d in documents() if d["kind"] == kind]


def service_of(container: dict) -> str:
    return container["name"]  # containers are named after the service they run


def env_names_of(cls) -> set[str]:
    return {env_name(f.name) for f in dataclasses.fields(cls)}


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# The Kubernetes version the manifests are written for.
KUBERNETES_VERSION = "1.33"


@pytest.mark.parametrize("document", documents(),
                         ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_document_is_valid_against_the_official_schema(document):
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_field():
    (deployment, *_) = of_kind("Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePulPolicy"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("deployment", of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_deployment_is_consistent_with_its_service_settings(deployment):
    template = deployment["spec"]["template"]
    assert matches(deployment["spec"]["selector"]["matchLabels"], template["metadata"]["labels"])
    (container,) = template["spec"]["containers"]
    settings = SETTINGS[service_of(container)]
    env = {e["name"]: e.get("value") for e in container["env"]}
    unknown = set(env) - env_names_of(settings) - {"PGPASSWORD"}  # libpq reads that one
    assert not unknown, f"env vars no setting reads: {unknown}"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    serving = "http" if "http" in ports else "grpc"  # the web gateway speaks HTTP
    assert int(env["FACESTREAM_PORT"]) == ports[serving]
    assert int(env["FACESTREAM_METRICS_PORT"]) == ports["metrics"]
    assert env["FACESTREAM_HOST"] == "0.0.0.0"
    for probe in ("readinessProbe", "livenessProbe"):
        check = container[probe]["grpc" if serving == "grpc" else "httpGet"]
        assert check["port"] == ports[serving]
    annotations = template["metadata"]["annotations"]  # Prometheus finds pods by these
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(ports["metrics"])
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    assert "requests" in container["resources"] and "limits" in container["resources"]


def test_deployment_selectors_do_not_overlap():
    deployments = of_kind("Deployment")
    for a in deployments:
        for b in deployments:
            if a is not b:
                assert not matches(a["spec"]["selector"]["matchLabels"],
                                   b["spec"]["template"]["metadata"]["labels"]), \
                    f"{a['metadata']['name']} would adopt {b['metadata']['name']}'s pods"


@pytest.mark.parametrize("service", of_kind("Service"), ids=lambda d: d["metadata"]["name"])
def test_service_selects_pods_with_the_ports_it_names(service):
    selected = [d for d in of_kind("Deployment") + of_kind("StatefulSet")
                if matches(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
    assert selected, "selects no pods"
    for deployment in selected:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        names = {p["name"] for p in container["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names


def test_classifier_is_headless_and_the_detector_balances_over_it():
    (classifier,) = [s for s in of_kind("Service") if s["metadata"]["name"] == "facestream-classifier"]
    assert classifier["spec"]["clusterIP"] == "None"  # every pod in DNS, for round robin
    (detector,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "facestream-detector"]
    env = {e["name"]: e.get("value") for e in detector["spec"]["template"]["spec"]["containers"][0]["env"]}
    port = classifier["spec"]["ports"][0]["port"]
    assert env["FACESTREAM_CLASSIFIER_TARGET"] == f"dns:///facestream-classifier:{port}"


def test_the_web_gateway_reaches_the_detector_service():
    (web,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "facestream-web"]
    env = {e["name"]: e.get("value") for e in web["spec"]["template"]["spec"]["containers"][0]["env"]}
    (detector,) = [s for s in of_kind("Service") if s["metadata"]["name"] == "facestream-detector"]
    grpc_port = next(p["port"] for p in detector["spec"]["ports"] if p["name"] == "grpc")
    assert env["FACESTREAM_DETECTOR_TARGET"] == f"facestream-detector:{grpc_port}"


def test_the_detector_reaches_the_recognizers_which_share_postgres():
    (detector,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "facestream-detector"]
    env = {e["name"]: e.get("value") for e in detector["spec"]["template"]["spec"]["containers"][0]["env"]}
    (service,) = [s for s in of_kind("Service") if s["metadata"]["name"] == "facestream-recognizer"]
    port = service["spec"]["ports"][0]["port"]
    assert env["FACESTREAM_RECOGNIZER_TARGET"] == f"facestream-recognizer:{port}"
    (recognizer,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "facestream-recognizer"]
    (container,) = recognizer["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    (postgres,) = of_kind("StatefulSet")
    (database,) = [s for s in of_kind("Service") if s["metadata"]["name"] == "facestream-postgres"]
    port = database["spec"]["ports"][0]["port"]
    assert env["FACESTREAM_GALLERY"]["value"] == f"postgresql://postgres@facestream-postgres:{port}/facestream"
    # one Secret holds the password, for the server and its clients
    (server_password,) = postgres["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env["PGPASSWORD"]["valueFrom"] == server_password["valueFrom"]
    assert recognizer["spec"]["replicas"] >= 2
    assert postgres["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] in {
        m["name"] for m in postgres["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}


def test_autoscaler_targets_the_classifier():
    (hpa,) = of_kind("HorizontalPodAutoscaler")
    names = {d["metadata"]["name"] for d in of_kind("Deployment")}
    assert hpa["spec"]["scaleTargetRef"]["name"] in names
    assert hpa["spec"]["scaleTargetRef"]["name"] == "facestream-classifier"
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_gpu_variant_asks_for_a_gpu():
    (gpu,) = [d for d in of_kind("Deployment") if d["metadata"]["name"].endswith("-gpu")]
    limits = gpu["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 1


def ours(compose: dict) -> dict:
    """compose's facestream services (PostgreSQL, the replicated set-up's store, is not)."""
    return {name: service for name, service in compose["services"].items() if name in SETTINGS}


def test_postgres_runs_only_for_the_replicated_set_up():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert set(compose["services"]) - set(ours(compose)) == {"postgres"}
    assert compose["services"]["postgres"]["profiles"] == ["replicated"]
    gallery = compose["services"]["recognizer"]["environment"]["FACESTREAM_GALLERY"]
    assert compose_default(gallery) == "/data/gallery.sqlite3"  # SQLite unless told otherwise


def test_compose_uses_the_same_names_and_ports():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name, service in ours(compose).items():
        env = service["environment"]
        assert set(env) <= env_names_of(SETTINGS[name]), set(env) - env_names_of(SETTINGS[name])
        assert str(env["FACESTREAM_PORT"]) in " ".join(service["healthcheck"]["test"])
    target = compose["services"]["detector"]["environment"]["FACESTREAM_CLASSIFIER_TARGET"]
    assert target == f"dns:///classifier:{compose['services']['classifier']['environment']['FACESTREAM_PORT']}"
    assert compose["services"]["detector"]["depends_on"]["classifier"]["condition"] == "service_healthy"
    recognizer_port = compose["services"]["recognizer"]["environment"]["FACESTREAM_PORT"]
    assert (compose["services"]["detector"]["environment"]["FACESTREAM_RECOGNIZER_TARGET"]
            == f"recognizer:{recognizer_port}")
    assert "gallery:/data" in compose["services"]["recognizer"]["volumes"]
    detector_port = compose["services"]["detector"]["environment"]["FACESTREAM_PORT"]
    web_environment = compose["services"]["web"]["environment"]
    assert web_environment["FACESTREAM_DETECTOR_TARGET"] == f"detector:{detector_port}"
    gpu = yaml.safe_load((ROOT / "compose.gpu.yaml").read_text())
    devices = gpu["services"]["classifier"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    assert set(gpu["services"]["classifier"]["environment"]) <= env_names_of(ClassifierSettings)


def compose_default(value) -> str:
    """`${NAME:-default}` as compose resolves it when NAME is unset."""
    match = re.fullmatch(r"\$\{[A-Z0-9_]+:-(.*)\}", str(value))
    return match.group(1) if match else str(value)


def deployed_environments() -> list[tuple[str, str, dict[str, str]]]:
    found = []
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name, service in ours(compose).items():
        found.append(("compose", name, {k: compose_default(v) for k, v in service["environment"].items()}))
    for deployment in of_kind("Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: str(e["value"]) for e in container["env"]
               if "value" in e and e["name"].startswith("FACESTREAM_")}
        found.append((deployment["metadata"]["name"], service_of(container), env))
    return found


@pytest.mark.parametrize("where,service,env", deployed_environments(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_deployed_value_is_one_the_service_starts_with(where, service, env):
    """A renamed choice (a backend, a scaling) must not leave a deployment that cannot start."""
    load_settings(SETTINGS[service], argv=[], environ=env)  # raises SettingsError, naming it
