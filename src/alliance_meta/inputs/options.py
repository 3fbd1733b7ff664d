"""API option dicts that stand for a block of the pipeline's config (``plots``, ``bayes``): checked as the
config is (:func:`alliance_meta.inputs.config_check.check_config`), so a misspelled key is an error that says
what was meant, not a setting silently ignored."""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alliance_meta.wording import did_you_mean

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


def keywords_checked(function):
    """``function`` refusing a keyword it does not take with a TypeError that names it and, for a near spelling, the
    keyword meant (``am.fit() got an unexpected keyword argument 'metod' (did you mean 'method'?)``; Python 3.11's
    message names no alternative), and lists the keywords it takes. The one check of keyword names of the notebook
    API (``am.*``, the fit's methods, the results' figure methods); a function taking ``settings`` also takes its
    old names (:data:`OLD_SETTINGS_NAMES`, mapped by :func:`settings_alias`). The message names ``function`` as the
    notebook calls it (:func:`public_name`: ``am.gosh()``, not ``gosh_analysis()``). The wrapper is one frame more
    between the caller and ``function``: a warning of ``function`` meant for its caller takes
    :func:`caller_stacklevel`."""
    parameters = inspect.signature(function).parameters.values()
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        return function  # takes any keyword: checked where it reads them
    names = [parameter.name for parameter in parameters if parameter.name != "self"
             and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)]
    allowed = frozenset(names + (list(OLD_SETTINGS_NAMES) if "settings" in names else []))
    called = public_name(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        unknown = [key for key in kwargs if key not in allowed]
        if unknown:
            raise TypeError(unknown_keywords(f"{called}()", unknown, names))
        return function(*args, **kwargs)
    return wrapper


def public_name(function) -> str:
    """The name a notebook calls ``function`` by: ``am.<name>`` where alliance_meta's map of public names (``_API``)
    holds it (under its own name, in that module or a submodule of it; ``am.bayes``: the package's function), else
    its qualified name (a method: ``Fit.conf_int``)."""
    from alliance_meta import _API  # the package is imported before any of its modules

    module, name = function.__module__, function.__name__
    if function.__qualname__ == name:
        for public, (home, attribute) in _API.items():
            if (attribute or public) == name and (module == home or module.startswith(home + ".")):
                return f"am.{public}"
    return function.__qualname__


#: The folder of the alliance_meta package, as its modules' frames name their files.
PACKAGE_FOLDER = os.path.dirname(os.path.dirname(__file__)) + os.sep


def caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning of the library point at the line that called it (a notebook's cell, a
    workflow script): the first frame, out from the function that warns, outside the alliance_meta package, at
    whatever depth the function is reached (``am.fit`` through :func:`keywords_checked`, ``am.effect_sizes``
    through its frame check). One rule for every such warning, not a count of frames per caller."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(PACKAGE_FOLDER):
        frame, level = frame.f_back, level + 1
    return level


def unknown_keywords(caller: str, unknown, names) -> str:
    """The message of :func:`keywords_checked`: each unknown keyword with its did-you-mean, and the keywords taken."""
    listed = ", ".join(f"{key!r}{did_you_mean(key, names)}" for key in unknown)
    noun = "argument" if len(unknown) == 1 else "arguments"
    return f"{caller} got an unexpected keyword {noun} {listed}; it takes {', '.join(names) or 'no keywords'}"


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
