"""API option dicts that stand for a block of the pipeline's config (``plots``, ``bayes``): checked as the
config is (:func:`alliance_meta.inputs.config_check.check_config`), so a misspelled key is an error that says
what was meant, not a setting silently ignored."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from pathlib import Path

import numpy as np

#: The pipeline's config schema; present in a source checkout (and an editable install), absent when
#: the package was installed without the workflow folder.
CONFIG_SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


#: The keys of the config's ``bayes`` block that the prior sensitivity analysis reads
#: (:func:`alliance_meta.bayes.analysis.prior_sensitivity`: the priors and the exact posterior's summaries).
#: Rule bayes_prior_sensitivity gets only these, so that a change of draws, chains or seed reruns only the MCMC.
PRIOR_SENSITIVITY_KEYS = ("prior", "sensitivity_priors", "thresholds", "hdi_prob")


def prior_sensitivity_settings(bayes: dict) -> dict:
    """The ``bayes`` block's keys of :data:`PRIOR_SENSITIVITY_KEYS` (the params of rule bayes_prior_sensitivity)."""
    return {key: value for key, value in bayes.items() if key in PRIOR_SENSITIVITY_KEYS}


def schema_reference() -> str:
    """Where a message sends the reader for the config's keys: the schema's full path (a review folder
    has no workflow/ of its own), or config/README.md's codebook where the schema is not installed."""
    return str(CONFIG_SCHEMA) if CONFIG_SCHEMA.is_file() else "config/README.md of alliance-meta"


def _config_schema() -> dict | None:
    """The loaded config schema, or None when this install cannot use it (no workflow folder, or no
    pyyaml / jsonschema: the core install needs neither); a broken one raises
    :class:`~alliance_meta.inputs.config_check.SchemaError` naming its file and key. Loaded once per file
    version (its path, modification time and size: an edited schema is read again), and by the pipeline's
    warm server among the imports it makes between jobs (:data:`alliance_meta.warm_start.LATER`, after alliance_meta's
    modules), so that the plotting jobs it forks from then on do not each read and check it again (0.1 s a job,
    docs/performance.md); a job forked before that loads it itself."""
    try:
        import jsonschema  # noqa: F401
        import yaml  # noqa: F401
    except ImportError:
        return None
    try:
        status = CONFIG_SCHEMA.stat()
    except OSError:
        return None
    return _loaded_schema(CONFIG_SCHEMA, status.st_mtime_ns, status.st_size) if CONFIG_SCHEMA.is_file() else None


@functools.lru_cache(maxsize=1)
def _loaded_schema(path: Path, mtime_ns: int, size: int) -> dict:
    """The schema at ``path`` (:func:`~alliance_meta.inputs.config_check.load_schema`), kept for that version of
    the file (:func:`_config_schema`)."""
    from alliance_meta.inputs.config_check import load_schema

    return load_schema(path)


def _plain(value):
    """Options as YAML would give them: tuples and arrays as lists, NumPy scalars as Python numbers
    (the API accepts ``xlim=(-0.5, 1)`` or ``np.int64`` values that JSON Schema types would not)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def option_problems(section: str, options: Mapping, known: dict, enums: dict | None = None) -> list[str]:
    """Every problem of an API option dict that stands for the config's ``section`` block, one line each
    as :func:`alliance_meta.inputs.config_check.check_config` words them (``plots.sortt: unknown key;
    did you mean plots.sort?``).

    With the config schema at hand (a source checkout) the dict is checked against its ``section``
    sub-schema, keys and values. Without it (``pip install .`` alone) only the keys are checked, against
    ``known`` (key -> None, or the known keys of a nested mapping), and the values of ``enums``
    (key -> allowed values).
    """
    options = _plain(options)
    schema = _config_schema()
    if schema is not None and section in schema.get("properties", {}):
        from alliance_meta.inputs.config_check import check_config

        # every block stays for the $refs into it (multiverse.priors -> bayes.prior.tau), without the defaults
        # of the other blocks, so that only ``section`` is filled in and cross-checked
        only = {key: value for key, value in schema.items() if key not in ("properties", "required")}
        only["properties"] = {name: block if name == section else {k: v for k, v in block.items() if k != "default"}
                              for name, block in schema["properties"].items()}
        return check_config({section: options}, only, CONFIG_SCHEMA)
    problems = _key_problems(section, options, known) + _enum_problems(section, options, enums or {})
    return sorted(problems, key=lambda problem: (problem.split(":", 1)[0], problem))


def _key_problems(path: str, options: dict, known: dict) -> list[str]:
    problems = []
    for key, value in options.items():
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
            hint = f"did you mean {path}.{close[0]}?" if close else f"allowed keys: {', '.join(known)}"
            problems.append(f"{path}.{key}: unknown key; {hint}")
        elif isinstance(known[key], dict) and isinstance(value, dict):
            problems += _key_problems(f"{path}.{key}", value, known[key])
    return problems


def _enum_problems(path: str, options: dict, enums: dict) -> list[str]:
    problems = []
    for key, allowed in enums.items():
        value = options.get(key, allowed[0])
        if value not in allowed:
            close = difflib.get_close_matches(str(value).lower(), list(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"{path}.{key}: {value!r} is not one of {', '.join(allowed)}{hint}")
    return problems


#: The names the API took a config block's dict under before ``settings`` (am.bayes's ``config``, the forest plots'
#: and am.summary_of_findings's ``options``): still taken, as :func:`settings_alias` maps them.
OLD_SETTINGS_NAMES = ("config", "options")


def settings_alias(function):
    """``function`` (whose dict of a config block's keys is its ``settings`` argument) taking that dict by its old name,
    ``config=`` or ``options=`` (:data:`OLD_SETTINGS_NAMES`), too: every analysis names it ``settings``."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        for old in OLD_SETTINGS_NAMES:
            if old in kwargs:
                if "settings" in kwargs:
                    raise TypeError(f"{function.__name__}: {old}= is the old name of settings=; give one of them")
                kwargs["settings"] = kwargs.pop(old)
        return function(*args, **kwargs)
    return wrapper


def check_options(section: str, options: Mapping | None, known: dict, caller: str,
                  enums: dict | None = None) -> None:
    """Raise one ValueError listing every problem of ``options`` (:func:`option_problems`); nothing
    for None or a valid dict."""
    if not options:
        return
    problems = option_problems(section, options, known, enums)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ValueError("\n".join([f"{caller}: {len(problems)} {noun} in the options (the config's "
                                    f"{section} keys, {schema_reference()})",
                                    *(f"  {problem}" for problem in problems)]))
