"""Checking the pipeline's config (config/config.yaml) against its JSON schema.

:func:`check_config` returns every problem at once, one line each, with the full
dotted path of the key (``bayes.draw: unknown key; did you mean bayes.draws?``):
unknown keys with the closest allowed key at their level (:mod:`difflib`), values
outside an enum with the closest allowed value, every other schema violation, and the
rules JSON Schema cannot express (``pooling.main_method`` one of ``pooling.methods``; a custom
risk-of-bias tool with its ``domains``; ``plots.xlim`` on the display scale of every family's
metric, :func:`xlim_problem`;
the formulas of ``meta_regression`` and ``location_scale`` readable; the keys of ``reference_levels``
categorical moderators, those of ``prediction_values`` continuous ones; the ``plots`` colours and font
usable, :func:`colour_problem`, :func:`font_problem`). :func:`load_config_file`
reads the YAML file, an empty or comment-only file being "all defaults", and
:func:`merge_overrides` lays ``--config key=value`` overrides on top, as Snakemake's
``configfile:`` does. The workflow (workflow/rules/common.smk) stops with
:func:`format_config_problems` before any job runs.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from pathlib import Path


class ConfigFileError(ValueError):
    """The config file cannot be read as a YAML mapping of keys."""


class SchemaError(ValueError):
    """The config schema itself is broken (an edit of workflow/schemas/config.schema.yaml, not of a config)."""


def load_schema(path: str | Path) -> dict:
    """The config schema at ``path``. Invalid YAML, or a default its own key refuses (``default: 0.5x`` of a number),
    raises :class:`SchemaError` naming the file, the line or key and the value (:func:`schema_problem`)."""
    import yaml
    from jsonschema import Draft202012Validator

    path = Path(path)
    try:
        schema = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SchemaError(f"{path}: not valid YAML{_yaml_problem(error)}") from None
    if not isinstance(schema, dict):
        raise SchemaError(f"{path}: must hold the config schema's keys at the top level, not a "
                          f"{type(schema).__name__}")
    try:
        wrong = next(Draft202012Validator(schema).iter_errors(fill_defaults({}, schema)), None)
    except (TypeError, ValueError):  # a bound that is no number (maximum: 1x), compared by jsonschema
        wrong = True
    if wrong is not None:
        raise schema_problem(schema, path) or SchemaError(f"{path}: the config schema cannot check its defaults")
    return schema


def schema_problem(schema: dict, path: str | Path) -> SchemaError | None:
    """What is wrong with the config ``schema`` read from ``path``: a keyword's value of the wrong kind (``maximum:
    1x``, by JSON Schema's own check of a schema, a third of a second: called only once a check has failed), else a
    default its key refuses; None when neither."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as NotASchema

    end = " (an edit of the config schema, not of a config)"
    try:
        Draft202012Validator.check_schema(schema)
    except NotASchema as error:
        return SchemaError(f"{path}: {dotted(error.absolute_path)}: {error.message}{end}")
    for error in Draft202012Validator(schema).iter_errors(fill_defaults({}, schema)):
        return SchemaError(f"{path}: the default of {dotted(error.absolute_path)} breaks its own rule: "
                           f"{error.message}{end}")
    return None


def load_config_file(path: str | Path, problems: list | None = None) -> dict:
    """The keys of a YAML config file; ``{}`` for an empty or comment-only file.

    Raises :class:`ConfigFileError` with a readable sentence for invalid YAML or a file
    whose top level is not a mapping of keys (a list, a bare value). A key written twice in one
    block (:func:`repeated_keys`; YAML keeps the last) is a problem line appended to ``problems``,
    to be listed with the config's other problems; without that list it raises too. Needs pyyaml (the
    ``[workflow]`` extra), imported here: the rest of this module (:func:`xlim_problem`,
    :func:`formulas`, used by the sheet check and the plots) is part of the core install.
    """
    import yaml

    from alliance_meta.inputs.sheet import decode_text

    path = Path(path)
    try:  # as the sheet: UTF-8 with or without BOM, UTF-16 with BOM (Notepad's "Unicode"), else Windows-1252
        text = decode_text(path.read_bytes())
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{path}: not valid YAML{_yaml_problem(error)}") from None
    except OSError as error:
        raise ConfigFileError(f"{path}: cannot be read: {error}") from None
    repeated = [f"{key}: written twice in one block ({lines}); YAML reads only the last: keep one"
                for key, lines in repeated_keys(text)]
    if repeated and problems is None:
        raise ConfigFileError("\n  ".join([f"{path}:", *repeated]))
    if repeated:
        problems.extend(repeated)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        hint = ": write a space after the colon" if isinstance(loaded, str) and ":" in loaded else ""
        raise ConfigFileError(f"{path}: must hold keys at the top level (key: value lines), "
                              f"not a {type(loaded).__name__}{hint}")
    return loaded


def _yaml_problem(error) -> str:
    """Where a YAML error is and what it is: `` (line 3, column 5): found character '\\t' ...; indent with spaces``."""
    where = getattr(error, "problem_mark", None)
    line = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
    problem = getattr(error, "problem", None) or str(error)
    return f"{line}: {problem}{_yaml_hint(problem)}"


def _yaml_hint(problem: str) -> str:
    """How to mend the commonest YAML slips, by the parser's words."""
    if "'\\t'" in problem:
        return "; indent with spaces, not a tab"
    if "mapping values are not allowed" in problem:
        return ('; a value holding ": " needs quotes around it, e.g. label: "Follow-up: 6 months", or this line is '
                "indented deeper than the key above it")
    if "expected <block end>" in problem:
        return "; the keys of one block start in the same column: check this line's indentation (spaces)"
    if "could not find expected ':'" in problem:
        return "; every line is key: value, with a space after the colon (check this line and the one above)"
    return ""


def repeated_keys(text: str) -> list[tuple[str, str]]:
    """``("moderators", "lines 9 and 70")`` for every key that a mapping of the YAML ``text`` has more than once (the
    dotted path of the block; lines counted from 1). YAML keeps the last value, so an added line further down
    would silently replace the reviewer's earlier setting."""
    import yaml

    found, seen = [], set()

    def where(at: list[int]) -> str:
        lines = list(dict.fromkeys(at))
        if len(lines) == 1:  # {draws: 1, draws: 2} on one line
            return f"line {lines[0]} ({len(at)} times)"
        return f"lines {', '.join(map(str, lines[:-1]))} and {lines[-1]}"

    def walk(node, path):
        if id(node) in seen:  # a block written once and used again through an alias: reported once
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[tuple[str, str], list[int]] = {}  # by tag too: 1 and '1' are different keys
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    lines.setdefault((key.tag, key.value), []).append(key.start_mark.line + 1)
                    walk(value, [*path, key.value])
            found.extend((at[0], dotted([*path, key]), where(at)) for (_, key), at in lines.items() if len(at) > 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, [*path, i])

    try:
        walk(yaml.compose(text, Loader=yaml.SafeLoader), [])
    except yaml.YAMLError:
        return []
    return [(key, lines) for _, key, lines in sorted(found)]


def merge_overrides(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` laid on top, nested mappings merged key by key (as
    snakemake.utils.update_config); neither argument is changed."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_overrides(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


#: The words PyYAML reads as booleans in config.yaml (YAML 1.1), which Snakemake's --config leaves as text.
YAML_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def typed_overrides(value, schema: dict, root: dict | None = None, *, texts: bool = True):
    """``--config`` values with the types the schema asks for. Snakemake reads a nested value
    (``--config "bayes={draws: 500}"``) as text; where the schema wants a number, a boolean or null
    and the text is one, it becomes one (top-level values Snakemake types itself). ``$ref`` and
    ``anyOf``/``oneOf``/``allOf`` branches are followed. A whole number written with a decimal point
    (``permutations: 1000.0``, which JSON Schema accepts as an integer) becomes an int where the schema
    wants an integer and no other number, a whole number where the schema wants only a text
    (``sheet_name: 2019``), and an empty block (``bayes:`` with its keys commented out) ``{}``, its
    defaults, where the schema wants a mapping and not null; ``texts=False`` converts only these (the config file
    as YAML read it)."""
    root = schema if root is None else root
    branches = _branches(schema, root)
    if isinstance(value, dict):
        properties, extra = {}, {}
        for branch in branches:
            for key, sub in branch.get("properties", {}).items():
                properties.setdefault(key, sub)
            if isinstance(branch.get("additionalProperties"), dict) and not extra:
                extra = branch["additionalProperties"]
        return {key: typed_overrides(item, properties.get(key, extra), root, texts=texts)
                for key, item in value.items()}
    if isinstance(value, list):
        items = next((branch["items"] for branch in branches if isinstance(branch.get("items"), dict)), {})
        return [typed_overrides(item, items, root, texts=texts) for item in value]
    types = set()
    for branch in branches:
        kind = branch.get("type", [])
        types |= {kind} if isinstance(kind, str) else set(kind)
    if isinstance(value, float) and value.is_integer() and "integer" in types and "number" not in types:
        return int(value)  # else a job's range(1000.0) stops with a traceback
    if value is None and types == {"object"}:  # a block whose keys are all commented out: its defaults, as {}
        return {}
    if isinstance(value, int) and not isinstance(value, bool) and "string" in types and types <= {"string", "null"}:
        return str(value)  # sheet_name: 2019, a worksheet named by a year
    if not isinstance(value, str) or not texts:
        return value
    text = value.strip()
    if "null" in types and text in ("null", "~", "None"):
        return None
    if "boolean" in types and text.lower() in YAML_BOOLEANS:  # as config.yaml reads them: yes/no, on/off too
        return YAML_BOOLEANS[text.lower()]
    if ("integer" in types or "number" in types) and re.fullmatch(r"[+-]?\d+", text):
        return int(text)  # as YAML reads 90 in config.yaml
    if types & {"integer", "number"}:
        try:
            number = float(text)
        except ValueError:
            return value
        return int(number) if "number" not in types and number.is_integer() else number  # 500.0, 1e3; 500.5
    return value


def _branches(schema: dict, root: dict, depth: int = 0) -> list[dict]:
    """The sub-schemas that ``schema`` stands for: itself with its ``$ref`` resolved (a JSON pointer into
    ``root``), and the branches of its ``anyOf``, ``oneOf`` and ``allOf``."""
    if not isinstance(schema, dict) or depth > 20:
        return []
    found = [schema]
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        target = root
        for part in reference[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        found += _branches(target, root, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            found += _branches(branch, root, depth + 1)
    return found


def fill_defaults(config: dict, schema: dict) -> dict:
    """A copy of ``config`` with the schema's defaults of missing keys, level by level
    through ``properties`` (as snakemake.utils.validate(set_default=True))."""
    filled = copy.deepcopy(config)
    _fill(filled, schema)
    return filled


def _fill(instance: dict, schema: dict) -> None:
    for name, sub in schema.get("properties", {}).items():
        if "default" in sub and name not in instance:
            instance[name] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(name), dict):
            _fill(instance[name], sub)


def canonical_order(config, schema: dict):
    """``config`` with every mapping's keys in one order: the schema's properties in schema order, then
    other keys as written (a ``prisma`` block's databases and exclusion reasons are shown in that order).
    The same settings written in another order are then the same rule params, and rerun nothing."""
    if isinstance(config, list):
        return [canonical_order(item, schema.get("items", {}) if isinstance(schema.get("items"), dict) else {})
                for item in config]
    if not isinstance(config, dict):
        return config
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties") if isinstance(schema.get("additionalProperties"), dict) else {}
    known = [key for key in properties if key in config]
    others = [key for key in config if key not in properties]
    return {key: canonical_order(config[key], properties.get(key, extra)) for key in known + others}


def check_config(config: dict, schema: dict, source: str | Path = "the config schema") -> list[str]:
    """Every problem of ``config`` against ``schema`` (a loaded JSON Schema), one line
    each, sorted by key path; ``[]`` when the config is valid.

    ``config`` is the config as written (before defaults); it is not changed. A schema that cannot check it
    (``maximum: 1x``) raises :class:`SchemaError` naming ``source`` (its file) and the key (:func:`schema_problem`).
    """
    from jsonschema import Draft202012Validator

    if not isinstance(config, dict):
        return [f"the config must be a mapping of keys, not a {type(config).__name__}"]
    validator = Draft202012Validator(schema)
    problems: list[str] = []
    try:
        errors = list(validator.iter_errors(config))
    except (TypeError, ValueError):  # jsonschema compared a value with a keyword that is no number
        broken = schema_problem(schema, source)
        if broken is None:
            raise
        raise broken from None
    mistyped = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
    for error in errors:  # a value of the wrong type is one problem, not also one of each rule it then breaks
        if error.validator == "type" or tuple(error.absolute_path) not in mistyped:
            problems.extend(_describe(error, schema))
    flagged = {_path_key(problem)[0] for problem in problems}
    problems += [problem for problem in _cross_problems(fill_defaults(config, schema))
                 if _path_key(problem)[0] not in flagged]
    return sorted(dict.fromkeys(problems), key=_path_key)


def _path_key(problem: str) -> tuple:
    return (problem.split(":", 1)[0], problem)


def dotted(path) -> str:
    """``("bayes", "sensitivity_priors", 2, "famly")`` -> ``bayes.sensitivity_priors[2].famly``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the config"


def _join(path: str, key: str) -> str:
    return key if path == "the config" else f"{path}.{key}"


#: Other names of allowed values (lower case, without spaces, hyphens and underscores), for the did-you-mean.
ENUM_SYNONYMS = {"hksj": "knha", "hk": "knha", "knapphartung": "knha", "wald": "z", "fixed": "common",
                 "fe": "common", "fixedeffect": "common", "fixedeffects": "common", "equal": "common",
                 "dersimonianlaird": "DL", "paulemandel": "PM", "hunterschmidt": "HS", "sidikjonkman": "SJ",
                 "hedges": "HE", "empiricalbayes": "EB", "threelevel": "multilevel", "3level": "multilevel",
                 "hedgesg": "smd", "g": "smd", "d": "smd", "cohensd": "smd", "or": "log_or", "oddsratio": "log_or",
                 "logoddsratio": "log_or", "fisherz": "z", "zr": "z"}

COUNT_METHODS = ("mh", "peto", "glmm")
#: The count models are no choice of pooling.methods: metric.dropout log_or adds their rows (models/counts.py).
COUNT_METHODS_HINT = ("; MH, Peto and GLMM are not set here: under metric.dropout: log_or pooled.csv gets their rows "
                      "from the dropout rows with 2x2 counts (n11, n12, n21, n22)")


#: metafor's test = "t" is no choice of the tests keys.
T_TEST_HINT = ("; knha gives the t tests: Knapp-Hartung under dependence: aggregate, rma.mv's t with k - 1 df in "
               "three-level models (metafor's test = \"t\" of univariate models, without the Knapp-Hartung factor, is "
               "not offered)")


def _describe(error, root: dict) -> list[str]:
    """The problem lines of a jsonschema ``error``; ``root``: the whole schema (where a misplaced key belongs)."""
    path = dotted(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        problems = []
        for key in error.instance:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = (f"did you mean {_join(path, close[0])}?" if close else
                    f"allowed keys: {', '.join(allowed)}")
            moved = _moved_key(str(key), [block for block in _blocks_of(str(key), root) if block != _schema_path(path)])
            if close and (close[0].startswith(str(key)) or str(key).startswith(close[0])):
                moved = ""  # pooling: {method: ...}: a singular of this block's key, not multilevel.method
            if moved:  # chains: 2 written under no block was "did you mean changes?" only
                hint = f"did you mean {_join(path, close[0])}? ({moved})" if close else moved
            written = str(key).split(":", 1)[0]
            if ":" in str(key) and written in allowed:  # --config "bayes={draws:500}": one key to YAML
                hint = f"write a space after the colon: {written}: {str(key).split(':', 1)[1]}"
            elif not close and error.instance[key] in (None, ""):  # {columns: n, rater}, {draws: 4,000}: keys to YAML
                hint = ("it has no value: inside { } a comma starts the next key, so write a list in [ ] "
                        "(columns: [n, rater]) and a number without a thousands separator (4000); " + hint)
            problems.append(f"{_join(path, str(key))}: unknown key; {hint}")
        return problems
    if kind in ("anyOf", "oneOf") and error.context:
        return _describe_branches(error, path, root)
    if kind == "enum":
        allowed = [_value(value) for value in error.validator_value]
        by_key = {str(value).lower(): _value(value) for value in error.validator_value}
        close = difflib.get_close_matches(str(error.instance).lower(), list(by_key), n=1, cutoff=0.6)
        synonym = ENUM_SYNONYMS.get(re.sub(r"[\s_-]+", "", str(error.instance).lower()))
        if synonym in error.validator_value:  # hksj: the name meta and the literature give Knapp-Hartung
            close = [synonym.lower()]
        hint = f"; did you mean {by_key[close[0]]}?" if close else ""
        if str(error.instance).lower() in COUNT_METHODS and "method" in path:  # pooling.methods: [MH]
            hint = COUNT_METHODS_HINT
        if str(error.instance).lower() == "t" and "tests" in path:  # metafor's test = "t"
            hint = T_TEST_HINT
        return [f"{path}: {error.instance!r} is not one of {', '.join(allowed)}{hint}"]
    if kind == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return [f"{path}: needs the key{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
                + _family_reason(error.instance)]
    if kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        if "array" in wanted and error.instance is None:  # `moderators:` with nothing after it
            return [f"{path}: is empty; write [] for none, or the values as a list: [a, b]"]
        hint = (f"; write it as a list: [{error.instance}]" if "array" in wanted  # `families: outcome`
                and isinstance(error.instance, (str, int, float)) and not isinstance(error.instance, bool) else "")
        if not {"array", "object"} & set(wanted) and isinstance(error.instance, list) and len(error.instance) == 1:
            hint = f"; write it without brackets: {error.instance[0]}"  # dependence: [multilevel]
        return [f"{path}: {error.instance!r} is not {' or '.join(_article(t) for t in wanted)}"
                f"{_unreadable_hint(error.instance, wanted) or hint or _type_hint(error.instance, wanted, error.schema)}"]
    if (kind in ("maximum", "exclusiveMaximum") and error.validator_value == 1 and not path.endswith("]")
            and 0 in (error.schema.get("minimum"), error.schema.get("exclusiveMinimum"))  # not a correlation's -1..1
            and isinstance(error.instance, (int, float)) and error.instance in range(2, 101)):  # hdi_prob: 95
        return [f"{path}: {error.message}; write {error.instance / 100:g} (a proportion, not a percentage)"]
    return [f"{path}: {error.message}"]


def _unreadable_hint(instance, wanted) -> str:
    """Why a text in brackets where a list or mapping is wanted was not read as one (``--config 'moderators=[rater'``,
    which Snakemake passes on as text), or ``""``."""
    if not (isinstance(instance, str) and instance.strip()[:1] in ("[", "{") and {"array", "object"} & set(wanted)):
        return ""
    import yaml

    try:
        yaml.safe_load(instance)
    except yaml.YAMLError as error:
        return f"; it cannot be read ({getattr(error, 'problem', None) or error}): check that every [ and {{ is closed"
    return ""


def _type_hint(instance, wanted, schema=None) -> str:
    """How to write a value that YAML read as another type than the key's (``95%``, ``4,000``, ``0,5`` and
    ``1e3`` are text to YAML; ``"TRUE"`` in quotes is text; ``no`` is false; ``2019`` is a number; a value
    starting with ``#`` is a comment, so the key is empty), or ``""``. ``schema``: the key's, whose ``maximum`` of 1
    reads ``50%`` as 0.5."""
    wanted = set(wanted)
    if isinstance(instance, str) and wanted & {"integer", "number"}:
        text = instance.strip().replace(" ", "")
        why = ""
        if text.endswith("%"):
            text, why = text[:-1], " (without %: percentages are written as numbers)"
            if isinstance(schema, dict) and schema.get("maximum", schema.get("exclusiveMaximum", 100)) <= 1:
                text, why = _percent(text), " (a proportion, not a percentage)"
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", text) and "integer" in wanted:
            text, why = text.replace(",", ""), " (without a thousands separator)"
        elif re.fullmatch(r"[+-]?\d*,\d+", text):
            text, why = text.replace(",", "."), " (with a decimal point)"
        try:
            number = float(text)
        except ValueError:
            return ""
        if not math.isfinite(number):
            return ""
        written = str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:.15g}"
        if "e" in written and "." not in written.split("e")[0]:  # YAML reads 1.0e-6 as a number, not 1e-6
            written = written.replace("e", ".0e", 1)
        return f"; write {written}{why or ' (YAML reads ' + repr(instance) + ' as text)'}"
    if isinstance(instance, str) and "boolean" in wanted:
        word = instance.strip().lower()
        if word in ("true", "yes", "on", "false", "no", "off"):
            return f"; write {'true' if word in ('true', 'yes', 'on') else 'false'} (without quotes)"
        return ""
    if instance in (0, 1) and not isinstance(instance, bool) and "boolean" in wanted:
        return f"; write {'true' if instance else 'false'}"
    if isinstance(instance, bool) and "null" in wanted:
        return "; for none write null, or delete the line (YAML reads no and false as false)"
    if (hint := _per_family_hint(instance, wanted, schema)):
        return hint
    if isinstance(instance, (int, float)) and not isinstance(instance, bool) and "string" in wanted:
        return f"; write it in quotes: \"{instance}\""
    if instance is None and "string" in wanted:
        return ("; it is empty (nothing after the colon, or a value starting with #, which YAML reads as a comment: "
                "write such a value in quotes, \"#0072B2\")")
    return ""


def _per_family_hint(instance, wanted, schema) -> str:
    """How to write a bare value (``metric: log_or``, ``grade.imprecision_width: 0.3``) where the key takes one value
    per family: in a mapping, under the families whose key accepts it; ``""`` otherwise."""
    properties = schema.get("properties") if isinstance(schema, dict) and "object" in wanted else None
    if (not isinstance(properties, dict) or not properties or set(properties) - {"outcome", "dropout"}
            or not isinstance(instance, (str, int, float)) or isinstance(instance, bool)):
        return ""
    from jsonschema import Draft202012Validator

    families = [family for family, sub in properties.items()  # ($ref: a mapping per family, no bare value)
                if isinstance(sub, dict) and "$ref" not in sub and Draft202012Validator(sub).is_valid(instance)]
    if not families:
        return ""
    value = _value(instance) if isinstance(instance, str) else f"{instance:g}"
    return f"; it takes a value per family: write {{{', '.join(f'{family}: {value}' for family in families)}}}"


def _percent(text: str) -> str:
    try:
        return f"{float(text) / 100:g}"
    except ValueError:
        return text


def _moved_key(key: str, blocks: list[str]) -> str:
    """Where a key written at the wrong indentation belongs (``blocks``: :func:`_blocks_of` but its own), or ""."""
    if "" in blocks:  # bayes: {moderators: [rater]}
        return f"{key} is a top-level key: write it at the start of its line, without indentation"
    if len(blocks) == 1:
        return f"{blocks[0]}.{key} is a key of {blocks[0]}: indent it under {blocks[0]}:"
    if blocks:
        return f"{key} is a key of {', '.join(blocks[:-1])} and {blocks[-1]}: indent it under one of them"
    return ""


def _schema_path(path: str) -> str:
    """``bayes.sensitivity_priors[1]`` -> ``bayes.sensitivity_priors``: the block of a key path, without list items."""
    return "" if path == "the config" else re.sub(r"\[\d+\]", "", path)


def _blocks_of(key: str, schema: dict) -> list[str]:
    """The dotted paths of the blocks (mappings) of ``schema`` that have the key ``key`` ("" = the top level), in
    schema order: where a key written at the wrong indentation belongs."""
    found: list[str] = []

    def walk(sub, path, depth):
        if depth > 6:
            return
        for branch in _branches(sub, schema):
            for name, child in branch.get("properties", {}).items():
                if name == key and path not in found:
                    found.append(path)
                walk(child, f"{path}.{name}" if path else name, depth + 1)
            if isinstance(branch.get("items"), dict):
                walk(branch["items"], path, depth + 1)

    walk(schema, "", 0)
    return found


def _value(value) -> str:
    """An allowed value as written in YAML: bare when a plain word, else quoted."""
    return value if isinstance(value, str) and value.replace("_", "").isalnum() else repr(value)


def _family_reason(instance) -> str:
    family = instance.get("family") if isinstance(instance, dict) else None
    return f" (a {family} prior)" if family else ""


def _article(type_name: str) -> str:
    names = {"null": "null", "integer": "an integer", "object": "a mapping of keys", "array": "a list"}
    return names.get(type_name, f"a {type_name}")


def _describe_branches(error, path: str, root: dict) -> list[str]:
    """An anyOf/oneOf failure: the problems of the branch meant for the value's type."""
    branches: dict[int, list] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [errors for errors in branches.values()
             if not any(sub.validator == "type" and not sub.relative_path for sub in errors)]
    if len(meant) == 1:
        return [line for sub in meant[0] for line in _describe(sub, root)]
    kinds = [sub.validator_value for errors in branches.values() for sub in errors
             if sub.validator == "type" and not sub.relative_path]
    if kinds and len(meant) == 0:
        wanted = [kind for k in kinds for kind in (k if isinstance(k, list) else [k])]
        return [f"{path}: {error.instance!r} is not {' or '.join(_article(k) for k in kinds)}"
                f"{_type_hint(error.instance, wanted)}"]
    return [f"{path}: {error.message}"]


#: How each analysis metric is shown on a forest plot's axis, and the limits that axis allows.
XLIM_SCALES = {"log_or": ("odds ratios", "needs limits above 0"),
               "z": ("correlations", "needs limits within [-1, 1]"),
               "r": ("correlations", "needs limits within [-1, 1]")}


def xlim_problem(xlim, metric: str, family: str | None = None) -> str | None:
    """Why ``plots.xlim`` cannot be a forest plot's axis range for ``metric`` (one line, with the
    key and value), or None. Odds ratios (``log_or``) are drawn on a log axis: limits must be
    above 0; correlations (``z``, shown as r, and ``r``) lie within [-1, 1]; and the first
    limit must be below the second. Values that are not two numbers are left to the schema."""
    if not isinstance(xlim, (list, tuple)) or len(xlim) != 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in xlim):
        return None
    low, high = (float(v) for v in xlim)
    value = f"[{', '.join(f'{float(v):g}' for v in xlim)}]"
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        return f"plots.xlim {value}: needs two finite limits, the lower first"
    shown, allowed = XLIM_SCALES.get(metric, (None, None))
    if shown is None:
        return None
    if (metric == "log_or" and low <= 0) or (metric != "log_or" and (low < -1 or high > 1)):
        whose = f"the {family} family is shown as {shown}" if family else f"metric {metric} is shown as {shown}"
        return f"plots.xlim {value}: {whose}, whose axis {allowed}"
    return None


#: The ``plots`` keys that name a colour.
COLOUR_KEYS = ("study_colour", "subgroup_colour", "summary_colour")


def colour_problem(key: str, value) -> str | None:
    """Why ``plots.<key>`` is no colour matplotlib can draw (``blu``), with the closest colour name; None for a colour
    or a value of another type (left to the schema). Else every forest plot job stopped with matplotlib's traceback."""
    if not isinstance(value, str) or HEX_COLOUR.fullmatch(value):  # the defaults: no matplotlib in the main process
        return None
    from matplotlib.colors import CSS4_COLORS, is_color_like

    if is_color_like(value):
        return None
    close = difflib.get_close_matches(value.strip().lower().replace(" ", ""), list(CSS4_COLORS), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return (f"plots.{key}: {value!r} is not a colour; {hint}write a colour name (blue, darkorange) or a hex code in "
            f'quotes ("#0072B2")')


#: A colour as a hex code (#0072B2, #0072B280, #fff): drawable without asking matplotlib, whose import took about 1 s of
#: every Snakemake start (the main process imports no matplotlib otherwise).
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
#: Font families matplotlib resolves itself (rcParams font.<family> lists), and the font it ships (the default).
GENERIC_FONTS = ("serif", "sans-serif", "sans", "sans serif", "monospace", "cursive", "fantasy")
BUNDLED_FONT = "DejaVu Sans"


def font_problem(family) -> str | None:
    """Why ``plots.font_family`` is no font of this computer (``Arail``), with the closest installed one; None for an
    installed font or a generic family. Else matplotlib drew every figure in its default font and printed
    "findfont: Font family 'Arail' not found." for each text, hundreds of lines of the run's output."""
    if not isinstance(family, str) or family.strip().lower() in (*GENERIC_FONTS, BUNDLED_FONT.lower()):
        return None
    from matplotlib import font_manager

    installed = sorted({font.name for font in font_manager.fontManager.ttflist})
    if family.strip().lower() in {name.lower() for name in installed}:
        return None
    close = difflib.get_close_matches(family.strip(), installed, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return (f"plots.font_family: {family!r} is not a font installed on this computer (every figure would fall back to "
            f"matplotlib's default font); {hint}write an installed font or a generic family ({', '.join(GENERIC_FONTS[:2])})")


def _cross_problems(config: dict) -> list[str]:
    """The rules between keys, on the config with its defaults (values of the wrong
    type are left to the schema's problems)."""
    from alliance_meta.engines.design import formula_variables
    from alliance_meta.engines.heterogeneity import MINIMUM_LEVEL
    from alliance_meta.inputs.codebook import VOCABULARIES
    from alliance_meta.inputs.planning import file_part, moderator_plot_stem

    def strings(value) -> list[str]:
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

    problems = []
    pooling = config.get("pooling") if isinstance(config.get("pooling"), dict) else {}
    main, methods = pooling.get("main_method"), strings(pooling.get("methods"))
    if isinstance(main, str) and methods and main not in methods:
        problems.append(f"pooling.main_method: {main} is not among pooling.methods ({', '.join(methods)}); "
                        "add it there or choose one of them")
    for section, key in (("pooling", "level"), ("psychometric", "credibility_level")):
        values = config.get(section) if isinstance(config.get(section), dict) else {}
        level = values.get(key)
        if isinstance(level, (int, float)) and not isinstance(level, bool) and 0 < level < 1:
            problems.append(f"{section}.{key}: {level:g} is read in percent (a {level:g}% interval): "
                            f"write {100 * level:g}")
        elif section == "pooling" and isinstance(level, (int, float)) and not isinstance(level, bool) \
                and 1 <= level < MINIMUM_LEVEL:  # as every fit refuses it (engines.heterogeneity.level_alpha)
            problems.append(f"pooling.level: {level:g} would give a {level:g}% interval; write the level in percent "
                            f"(e.g. 95): levels below {MINIMUM_LEVEL:g} are refused as slips")
    psychometric = config.get("psychometric") if isinstance(config.get("psychometric"), dict) else {}
    reliability = psychometric.get("reliability")
    measures = VOCABULARIES["measure"]
    named: dict[str, list[str]] = {}
    for key in reliability if isinstance(reliability, dict) else {}:
        named.setdefault(measures.canonical(str(key)) or "", []).append(str(key))
        if measures.canonical(str(key)) is None:
            close = measures.suggestion(key)  # the sheet's did-you-mean for the measure column
            hint = f"did you mean {close}? " if close else ""
            problems.append(f"psychometric.reliability.{key}: not a value of the measure column; {hint}measures: "
                            f"{', '.join(measures.values)} (and their synonyms, config/README.md)")
    for measure, keys in named.items():
        if measure and len(keys) > 1:
            problems.append(f"psychometric.reliability: {' and '.join(keys)} name the same measure ({measure}); "
                            "keep one")
    plots = config.get("plots") if isinstance(config.get("plots"), dict) else {}
    metrics = config.get("metric") if isinstance(config.get("metric"), dict) else {}
    for family in strings(config.get("families")):  # the forest plots of every family share plots.xlim
        problem = xlim_problem(plots.get("xlim"), metrics.get(family), family) if metrics.get(family) else None
        if problem and problem not in problems:
            problems.append(problem)
    shown, labels = strings(plots.get("columns")), plots.get("column_labels")
    for key in labels if isinstance(labels, dict) else {}:  # a misspelt column's header is never used
        close = difflib.get_close_matches(str(key), shown, n=1, cutoff=0.6) if key not in shown else []
        if close:
            problems.append(f"plots.column_labels.{key}: not a column of plots.columns ({', '.join(shown)}), so its "
                            f"header would not be used; did you mean plots.column_labels.{close[0]}?")
    problems += [problem for key in COLOUR_KEYS if (problem := colour_problem(key, plots.get(key)))]
    problems += [problem] if (problem := font_problem(plots.get("font_family"))) else []
    bias = config.get("bias") if isinstance(config.get("bias"), dict) else {}
    selection = bias.get("selection") if isinstance(bias.get("selection"), dict) else {}
    steps = selection.get("steps")
    if (isinstance(steps, list) and steps and all(isinstance(step, (int, float)) for step in steps)
            and not any(0 < step < 1 for step in steps)):
        problems.append(f"bias.selection.steps {steps}: no p-value cut-point below 1, so the step function has one "
                        "interval and models no selection; give cut-points such as [0.025, 0.10, 0.50, 1]")
    rob = config.get("risk_of_bias") if isinstance(config.get("risk_of_bias"), dict) else {}
    if rob.get("tool") == "custom" and not strings(rob.get("domains")):
        problems.append("risk_of_bias.domains: the custom tool needs its domains, e.g. domains: [selection, "
                        "measurement] for the sheet columns rob_selection, rob_measurement")
    continuous = strings(config.get("continuous_moderators"))
    categorical = strings(config.get("moderators"))
    for name in dict.fromkeys(name for name in categorical if name in continuous):
        problems.append(f"moderators and continuous_moderators both list {name}: keep it in one, continuous_moderators "
                        "to enter its values as a slope, moderators to compare them as levels")
    for key, names in (("moderators", categorical), ("continuous_moderators", continuous)):
        named: dict[str, str] = {}  # each names figure files (results/{family}/forest_<file_part(name)>.png)
        kind = "forest" if key == "moderators" else "bubble"
        for name in dict.fromkeys(names):
            part = file_part(name)
            if not part:
                problems.append(f"{key}: {name!r} cannot name the figure files of the moderator (no letter or digit); "
                                "rename the sheet column, e.g. moderator")
            elif (earlier := named.get(part.casefold())) is None:
                named[part.casefold()] = name
            elif file_part(earlier) == part:
                problems.append(f"{key}: {earlier!r} and {name!r} name the same figure files "
                                f"(results/<family>/{moderator_plot_stem(kind, name)}.png); rename one of the sheet "
                                "columns")
            else:  # Windows' and macOS's disks ignore case: one file would overwrite the other
                problems.append(f"{key}: {earlier!r} and {name!r} name figure files that differ only in case "
                                f"({moderator_plot_stem(kind, earlier)}.png, {moderator_plot_stem(kind, name)}.png), "
                                "the same file on Windows and macOS; rename one of the sheet columns")
    for key, formula in formulas(config):  # read before any job: else the first job, or location_scale's, stops
        try:
            categorical += [name for name in formula_variables(formula) if name not in continuous]
        except ValueError as error:
            problems.append(f"{key}: {str(error).rstrip('.')}; a formula joins sheet columns with + (main effects), "
                            ': (interaction) or * (both), e.g. "modality + rater"')
    categorical = list(dict.fromkeys(categorical))
    values = config.get("prediction_values")
    for key in values if isinstance(values, dict) else {}:  # else ignored, or a level 3 of a categorical moderator
        if key in continuous:
            continue
        close = difflib.get_close_matches(str(key), continuous, n=1, cutoff=0.6)
        hint = (f"did you mean prediction_values.{close[0]}?" if close else
                f"continuous moderators: {', '.join(continuous) or 'none'}")
        kind = " (its levels are each predicted)" if key in categorical else ""
        problems.append(f"prediction_values.{key}: not a continuous moderator{kind}; {hint}")
    levels = config.get("reference_levels")
    for key in levels if isinstance(levels, dict) else {}:
        vocabulary = VOCABULARIES.get(key)
        value = levels[key]
        if vocabulary and isinstance(value, str) and value not in vocabulary.values:
            canonical = vocabulary.canonical(value) or vocabulary.suggestion(value)
            hint = f"write {canonical} (the codebook's spelling, which the analysed rows hold)" if canonical else \
                f"levels: {', '.join(vocabulary.values)}"
            problems.append(f"reference_levels.{key}: {value!r} is not a level of {key}; {hint}")
        if key in categorical:
            continue
        close = difflib.get_close_matches(str(key), categorical, n=1, cutoff=0.6)
        hint = (f"did you mean reference_levels.{close[0]}?" if close else
                f"categorical moderators: {', '.join(categorical) or 'none'}")
        problems.append(f"reference_levels.{key}: not a categorical moderator (moderators, or a variable of "
                        f"meta_regression or location_scale not in continuous_moderators); {hint}")
    return problems


def formulas(config: dict) -> list[tuple[str, str]]:
    """``(key, formula)`` of every formula of the config: ``meta_regression[i]``, ``location_scale[i]`` (a
    formula of both parts) and ``location_scale[i].location``/``.scale``; values of another type are skipped."""
    found = [(f"meta_regression[{i}]", formula) for i, formula in enumerate(config.get("meta_regression") or [])
             if isinstance(formula, str)] if isinstance(config.get("meta_regression"), list) else []
    models = config.get("location_scale") if isinstance(config.get("location_scale"), list) else []
    for i, model in enumerate(models):
        if isinstance(model, str):
            found.append((f"location_scale[{i}]", model))
        elif isinstance(model, dict):
            found += [(f"location_scale[{i}].{part}", model[part]) for part in ("location", "scale")
                      if isinstance(model.get(part), str)]
    return found


#: Names under which a config file is not read (case-insensitive): the pipeline reads only config/config.yaml.
#: A YAML name starting with "config" (config.yml, Config (1).yaml, configuration.yaml), with any suffix after it
#: (config.yaml.txt, as a Windows editor saves it); other files of config/ (notes, a README) are not.
MISNAMED_CONFIG = re.compile(r"config[^/]*\.ya?ml(\.[^/]*)?", re.IGNORECASE)


def misnamed_config_files(folder: str | Path = ".") -> list[str]:
    """Files of the review ``folder`` that look like its config but are not read: ``config/config.yml``,
    ``config.yaml`` beside ``config/``, ``config/config.yaml.txt``, ``Config/config.yaml``... (paths relative to
    the folder, sorted). Meant for a folder without config/config.yaml, where they would leave every setting
    at its default without a word."""
    folder = Path(folder)
    found = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        if entry.is_file() and re.fullmatch(r"config\.ya?ml", entry.name, re.IGNORECASE):
            found.append(entry.name)
        elif entry.is_dir() and entry.name.lower() == "config":
            found += [f"{entry.name}/{path.name}" for path in sorted(entry.iterdir())
                      if path.is_file() and MISNAMED_CONFIG.fullmatch(path.name)
                      and f"{entry.name}/{path.name}" != "config/config.yaml"]
    return found


def misnamed_config_message(found: list[str], folder: str | Path = ".") -> str:
    """Why the run stops when :func:`misnamed_config_files` found files of ``folder`` and config/config.yaml
    is missing (the --configfile hint gives the full path, which works from any directory)."""
    files = " and ".join(found)
    verb = "is" if len(found) == 1 else "are"
    return (f"No config/config.yaml in this review folder, but {files} {verb} here: the pipeline reads its settings "
            f"only from config/config.yaml (nothing was run). Rename the file to config/config.yaml, or pass it "
            f"with --configfile {(Path(folder) / found[0]).resolve()}; to run with every setting at its default, "
            f"move the file away.")


def format_config_problems(problems: list[str], source: str = "config/config.yaml") -> str:
    """One message: a count, then one indented line per problem."""
    from alliance_meta.inputs.options import schema_reference

    noun = "problem" if len(problems) == 1 else "problems"
    first = f"{source}: {len(problems)} {noun} (keys and values: {schema_reference()}; nothing was run)"
    return "\n".join([first, *(f"  {problem}" for problem in problems)])
