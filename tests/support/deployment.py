"""What each workload of the shipped deployment files is given: its command, its environment and the
files mounted into it, read as the tools that deploy them read them (compose's: compose_file.py).

`kubectl kustomize` renders deploy/k8s and deploy/k8s/migrate from a copy whose config folder holds
the operator's files (secrets.env, the signing key, the CA bundle); each container's environment is
its image's, then its ConfigMaps', then its own entries with every secretKeyRef and configMapKeyRef
resolved from the rendered objects; its Secret and ConfigMap volumes are written out as the kubelet
projects them.
"""
from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def kubectl() -> str | None:
    """The machine's kubectl, else the one `make test-production` installs into the virtual environment."""
    for candidate in ("/usr/bin/kubectl", shutil.which("kubectl"), str(Path(sys.executable).parent / "kubectl")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class Workload:
    """One container as shipped: argv, environment, and the mounted paths with their local copies."""

    name: str
    command: list[str]
    env: dict[str, str]
    mounts: dict[str, Path] = field(default_factory=dict)  # path in the container -> local file or folder
    # how long the orchestrator waits after SIGTERM before it kills the process
    grace_seconds: float = 30.0
    # what the orchestrator and monitoring ask of it: probe or scrape name -> (path, container port)
    checks: dict[str, tuple[str, int]] = field(default_factory=dict)


# -- the image ---------------------------------------------------------------------------------------

def image_environment(dockerfile: Path = DEPLOY / "Dockerfile") -> dict[str, str]:
    """The ENV of the Dockerfile's final stage (PATH aside: it names the image's own folders)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    stages = re.split(r"(?m)^FROM\s", text)
    found: dict[str, str] = {}
    for line in stages[-1].splitlines():
        if line.startswith("ENV "):
            for name, value in re.findall(r"(\w+)=(\S+)", line[4:]):
                found[name] = value
    found.pop("PATH", None)
    return found


# -- Kubernetes ----------------------------------------------------------------------------------------

def render_kubernetes(workdir: Path, config_files: dict[str, str | bytes]) -> dict[str, Workload]:
    """Render the application and the migration Job from a copy of deploy/k8s with `config_files`
    (name -> content) added to its config folder; return every container by workload name."""
    program = kubectl()
    if program is None:
        raise FileNotFoundError("kubectl is needed to render deploy/k8s (kubectl kustomize): run make test-production")
    copy = workdir / "k8s"
    shutil.copytree(DEPLOY / "k8s", copy)
    for name, content in config_files.items():
        path = copy / "config" / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    objects = []
    for target in (copy, copy / "migrate"):
        rendered = subprocess.run([program, "kustomize", str(target)], capture_output=True, text=True, timeout=60)
        if rendered.returncode != 0:
            raise AssertionError(f"kubectl kustomize {target.name} failed: {rendered.stderr.strip()}")
        objects += [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    return _containers(objects, workdir / "mounts")


def _containers(objects: list[dict], mounts_dir: Path) -> dict[str, Workload]:
    configmaps = {o["metadata"]["name"]: dict(o.get("data") or {}) for o in objects if o["kind"] == "ConfigMap"}
    secrets = {o["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
               for o in objects if o["kind"] == "Secret"}
    found = {}
    for o in objects:
        if o["kind"] not in ("Deployment", "Job"):
            continue
        pod = o["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            env = image_environment()
            for source in container.get("envFrom", []):
                env |= configmaps[source["configMapRef"]["name"]]
            for entry in container.get("env", []):
                value = _env_value(entry, configmaps, secrets)
                if value is not None:
                    env[entry["name"]] = value
            mounts = {}
            for mount in container.get("volumeMounts", []):
                local = _write_volume(volumes[mount["name"]], configmaps, secrets,
                                      mounts_dir / o["metadata"]["name"] / mount["name"])
                if local is not None:
                    mounts[mount["mountPath"]] = local
            found[o["metadata"]["name"]] = Workload(
                o["metadata"]["name"], [*container.get("command", []), *container.get("args", [])], env, mounts,
                float(pod.get("terminationGracePeriodSeconds", 30)), _checks(o["spec"]["template"], container))
    return found


def _checks(template: dict, container: dict) -> dict[str, tuple[str, int]]:
    """The container's HTTP probes and its Prometheus scrape annotations, ports as numbers."""
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    found = {}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container.get(probe, {}).get("httpGet")
        if get:
            found[probe] = (get["path"], ports.get(get["port"], get["port"]))
    annotations = template.get("metadata", {}).get("annotations", {})
    if annotations.get("prometheus.io/scrape") == "true":
        found["prometheus"] = (annotations.get("prometheus.io/path", "/metrics"), int(annotations["prometheus.io/port"]))
    return found


def _env_value(entry: dict, configmaps: dict, secrets: dict) -> str | None:
    if "value" in entry:
        return entry["value"]
    source = entry["valueFrom"]
    ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
    data = (secrets if "secretKeyRef" in source else configmaps).get(ref["name"], {})
    if ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise AssertionError(f"{entry['name']} refers to {ref['name']}/{ref['key']}, which the rendered objects lack")
    return data[ref["key"]]


def _write_volume(volume: dict, configmaps: dict, secrets: dict, folder: Path) -> Path | None:
    """Write a Secret or ConfigMap volume's files into `folder`, as the kubelet projects them."""
    if "secret" in volume:
        spec, data = volume["secret"], secrets[volume["secret"]["secretName"]]
    elif "configMap" in volume:
        spec, data = volume["configMap"], configmaps[volume["configMap"]["name"]]
    else:
        return None  # an emptyDir: nothing of the release in it
    folder.mkdir(parents=True, exist_ok=True)
    items = spec.get("items") or [{"key": k, "path": k} for k in data]
    for item in items:
        path = folder / item["path"]
        path.write_text(data[item["key"]])
        path.chmod(item.get("mode", spec.get("defaultMode", 0o644)) & 0o777)
    return folder


def in_container(path: str, mounts: dict[str, Path]) -> Path | None:
    """The local copy of a path inside the container, when it lies in one of its mounts."""
    for target in sorted(mounts, key=len, reverse=True):
        inside = PurePosixPath(path)
        if inside == PurePosixPath(target) or PurePosixPath(target) in inside.parents:
            return mounts[target] / inside.relative_to(target)
    return None
