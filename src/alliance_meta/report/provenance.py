"""Provenance of a run: the sheet's SHA-256, the config, package versions and the run date."""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
from importlib import metadata
from pathlib import Path

import yaml

PACKAGES = ("alliance-meta", "numpy", "scipy", "pandas", "statsmodels", "pymc", "arviz", "matplotlib", "snakemake",
            "jinja2")


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions(names=PACKAGES) -> dict[str, str]:
    """Installed version of each package (``not installed`` when absent), and Python's."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def config_yaml(config: dict) -> str:
    """The config (defaults filled in) as YAML, keys in their given order."""
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None)


def run_date(now: dt.datetime | None = None) -> str:
    """ISO date and time of the run in UTC."""
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
