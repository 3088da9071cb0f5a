"""deploy/compose.yaml as compose reads it: YAML anchors and merges resolved, every value interpolated
from a `.env` (`${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
`${VAR:+alt}`, `$$`), and each service of the project's image as a Workload, the image's
environment beneath its own, with its secrets and bind mounts.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.support.deployment import Workload, image_environment

class InterpolationError(ValueError):
    """A `${VAR:?message}` whose variable is missing, or a malformed reference."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Replace compose's variable references in `text` with values from `variables`."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
            continue
        if text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        if text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            out.append(_substitute(text[i + 2:end], variables))
            i = end + 1
            continue
        name = _NAME.match(text, i + 1)
        if name:
            out.append(variables.get(name.group(), ""))
            i = name.end()
            continue
        out.append("$")
        i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for i in range(start, len(text)):
        if text.startswith("${", i):
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise InterpolationError(f"unclosed ${{ in {text!r}")


def _substitute(body: str, variables: dict[str, str]) -> str:
    name = _NAME.match(body)
    if not name:
        raise InterpolationError(f"invalid reference ${{{body}}}")
    var, rest = name.group(), body[name.end():]
    value = variables.get(var)
    for operator in (":-", "-", ":?", "?", ":+", "+"):
        if rest.startswith(operator):
            word = interpolate(rest[len(operator):], variables)
            missing = value is None or (operator.startswith(":") and value == "")
            if operator.endswith("-"):
                return word if missing else value
            if operator.endswith("?"):
                if missing:
                    raise InterpolationError(f"{var}: {word or 'required variable is missing a value'}")
                return value
            return "" if missing else word
    if rest:
        raise InterpolationError(f"invalid reference ${{{body}}}")
    return value or ""


def _interpolate_all(node, variables: dict[str, str]):
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_interpolate_all(v, variables) for v in node]
    if isinstance(node, dict):
        return {k: _interpolate_all(v, variables) for k, v in node.items()}
    return node


def read_compose(project: Path, variables: dict[str, str]) -> dict:
    """compose.yaml of `project` (a copy of deploy/) as compose reads it: merged and interpolated."""
    return _interpolate_all(yaml.safe_load((project / "compose.yaml").read_text()), variables)


def compose_workloads(project: Path, variables: dict[str, str]) -> dict[str, Workload]:
    """Every service of compose.yaml that runs the project's image, with its environment and mounts."""
    spec = read_compose(project, variables)
    image = spec["x-service"]["image"]
    found = {}
    for name, service in spec["services"].items():
        if service.get("image") != image:
            continue
        env = image_environment()
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
        for key, value in environment.items():
            if value is None:  # `KEY:` alone passes the variable through from compose's own environment
                value = variables.get(key)
            if value is not None:
                env[key] = "true" if value is True else "false" if value is False else str(value)
        mounts = {}
        for secret in service.get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            target = f"/run/secrets/{source}" if isinstance(secret, str) else secret.get("target", f"/run/secrets/{source}")
            if not target.startswith("/"):
                target = f"/run/secrets/{target}"
            mounts[target] = (project / spec["secrets"][source]["file"]).resolve()
        for volume in service.get("volumes", []):
            parts = volume.split(":") if isinstance(volume, str) else [volume.get("source"), volume.get("target")]
            if parts[0].startswith((".", "/")):  # a bind mount; named volumes hold no shipped files
                mounts[parts[1]] = (project / parts[0]).resolve()
        command = service.get("command") or []
        entrypoint = service.get("entrypoint") or []
        grace = _seconds(service.get("stop_grace_period", "10s"))
        found[name] = Workload(name, [*_argv(entrypoint), *_argv(command)], env, mounts, grace)
    return found


def _seconds(duration: str) -> float:
    """A compose duration (`30s`, `1m30s`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(duration)))


def _argv(value) -> list[str]:
    return value.split() if isinstance(value, str) else list(value)
