"""The three dependency lists agree: pyproject.toml, requirements.lock and environment.yml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"]) + [dep for extra in project["optional-dependencies"].values() for dep in extra]
    return {_normalise(re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0]) for dep in names}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_normalise(name)] = version
    return pins


def _environment() -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for entry in spec["dependencies"]:
        if isinstance(entry, dict):
            for pip_entry in entry.get("pip", []):
                if "==" in pip_entry:
                    name, version = pip_entry.split("==")
                    pins[_normalise(name)] = version
        elif "=" in entry:
            name, version = entry.split("=", 1)
            pins[_normalise(name)] = version
    return pins


def test_environment_yml_names_the_same_packages_as_pyproject():
    environment = _environment()
    environment.pop("python", None)
    assert set(environment) == _pyproject_dependencies()


def test_environment_yml_pins_the_locked_versions():
    lock = _lock()
    mismatched = {name: (version, lock.get(name)) for name, version in _environment().items()
                  if name != "python" and lock.get(name) != version}
    assert not mismatched, f"environment.yml vs requirements.lock: {mismatched}"


def test_lock_pins_every_top_level_dependency_exactly():
    missing = _pyproject_dependencies() - set(_lock())
    assert not missing, f"not pinned in requirements.lock: {sorted(missing)}"
