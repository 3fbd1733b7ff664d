"""Provenance of a run: the sheet's SHA-256, the config, package versions and the run date."""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
from importlib import metadata
from pathlib import Path

import yaml

#: the packages whose versions the Methods and the Provenance name: nutpie samples the Bayesian models where it is
#: installed (bayes.sampler auto), so the Methods name its version beside PyMC's ("not installed" ones are left out)
PACKAGES = ("alliance-meta", "numpy", "scipy", "pandas", "statsmodels", "pymc", "nutpie", "arviz", "matplotlib",
            "snakemake", "jinja2")


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_digest(root: str | Path | None = None) -> str:
    """The first 12 hex digits of the SHA-256 of the package's own files (``*.py`` and the report's templates,
    by relative path): two installs of one version number with different code tell apart, e.g. results of a
    review folder computed before and after updating alliance-meta (Snakemake reruns a job when its script
    changes, not when the library does: run with ``--forceall`` after an update)."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".j2", ".css") and p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def package_versions(names=PACKAGES) -> dict[str, str]:
    """Installed version of each package (``not installed`` when absent), and Python's; alliance-meta's with
    its :func:`code_digest`."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    if versions.get("alliance-meta", "not installed") != "not installed":
        versions["alliance-meta"] += f" (code {code_digest()})"
    return versions


def config_yaml(config: dict) -> str:
    """The config (defaults filled in) as YAML, keys in their given order."""
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None)


def run_date(now: dt.datetime | None = None) -> str:
    """ISO date and time of the run in UTC."""
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
