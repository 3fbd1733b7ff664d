# Config reading and checking (defaults from the schema) and small helpers shared by the rules.
import csv
import functools
import json
import os
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import min_version, validate

from alliance_meta.inputs.config_check import (
    ConfigFileError,
    SchemaError,
    canonical_order,
    check_config,
    format_config_problems,
    load_config_file,
    load_schema,
    merge_overrides,
    misnamed_config_files,
    misnamed_config_message,
    typed_overrides,
)

min_version("9.0")

CONFIG_FILE = Path("config/config.yaml")
CONFIG_SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"


def config_sources(overrides) -> str:
    """Where the config came from, for its problem messages."""
    sources = [str(CONFIG_FILE)] if CONFIG_FILE.exists() else []
    sources += ["--config/--configfile"] if overrides else []
    return " and ".join(sources) or "the config"


def read_checked_config(overrides):
    """config/config.yaml (absent, empty or comment-only: all defaults) with the
    --config/--configfile values on top, and the config schema; every problem at once, before any job, without
    a traceback (a broken schema: its file and key)."""
    written, problems = {}, []
    if not CONFIG_FILE.exists() and not workflow.overwrite_configfiles:  # a config/config.yml would be ignored
        misnamed = misnamed_config_files()
        if misnamed:
            sys.exit(misnamed_config_message(misnamed))
    if CONFIG_FILE.exists():
        try:
            written = load_config_file(CONFIG_FILE, problems)  # + keys written twice
        except ConfigFileError as error:
            sys.exit(str(error))
    try:
        schema = load_schema(CONFIG_SCHEMA)
        merged = typed_overrides(merge_overrides(written, typed_overrides(overrides, schema)), schema, texts=False)
        problems += check_config(merged, schema, CONFIG_SCHEMA)
    except SchemaError as error:
        sys.exit(str(error))
    if problems:
        sys.exit(format_config_problems(problems, config_sources(overrides)))
    return merged, schema


_overrides = dict(config)
_checked, _schema = read_checked_config(_overrides)
config.clear()
config.update(_checked)
validate(config, "../schemas/config.schema.yaml", set_default=True)
_ordered = canonical_order(dict(config), _schema)  # key order reruns nothing
config.clear()
config.update(_ordered)

from alliance_meta.inputs.planning import (aggregate_rho_problem, categorical_columns, coded_moderators,
                                           earlier_outputs, earlier_outputs_lines, earlier_outputs_note,
                                           families_in_sheet, families_left_out, family_left_out_sentence, file_part,
                                           home_paths,
                                           left_out_pattern, left_out_target, moderators_left_out_note,
                                           no_configured_family_problem, output_files, planning_cells,
                                           PREVIEWS_FOLDER, sheet_path, unusable_files)
from alliance_meta.inputs.options import prior_sensitivity_settings
from alliance_meta.inputs.risk_of_bias import tool_settings
from alliance_meta.io import TEXT_COLUMNS_ENV

# The report's previews of the PNG figures are made by the jobs that write them, from their pixels, and kept
# with each PNG's hash (src/alliance_meta/plots/previews.py; the jobs inherit this environment).
os.environ.setdefault("ALLIANCE_META_PREVIEWS", PREVIEWS_FOLDER)

config.update(home_paths(config))  # sheet: ~/Dropbox/review/studies.xlsx
# Without a `sheet` key the sheet is data/raw/studies.csv, or data/raw/studies.xlsx when only that exists.
config["sheet"], _note = sheet_path(config["sheet"], named="sheet" in _checked)
if _note and workflow.is_main_process:
    logger.info(f"alliance-meta: {_note}")
_missing = unusable_files({"sheet": config["sheet"], "second_coder": config.get("second_coder")}, named=_checked)
if _missing:
    sys.exit(format_config_problems(_missing, config_sources(_overrides)))

# What the sheet holds, read once: a configured family without rows gets no jobs, and the default
# moderators (no `moderators` key) are those the sheet codes, so a sheet of only study_id, r and n
# runs. Moderators the reviewer names must be columns (validate_sheet says so).
_cells = planning_cells(config["sheet"], sheet_name=config["sheet_name"], decimal=config["decimal"])
FAMILIES, ABSENT_FAMILIES = families_in_sheet(_cells, config["families"])
_planning_problems = [problem for problem in (
    no_configured_family_problem(_cells, config["families"]),
    aggregate_rho_problem(_cells, config["aggregate_method"], config["aggregate_rho"], config["dependence"]))
    if problem is not None]
if _planning_problems:
    sys.exit(format_config_problems(_planning_problems, config_sources(_overrides)))
FAMILIES_LEFT_OUT = [family_left_out_sentence(family, rows, "--config/--configfile" if "families" in _overrides
                                               else str(CONFIG_FILE))
                     for family, rows in families_left_out(_cells, config["families"]).items()]
DEFAULT_MODERATORS_LEFT_OUT = []
MODERATORS_FROM_SHEET = "moderators" not in _checked  # the default: the moderators the sheet codes
if MODERATORS_FROM_SHEET:
    config["moderators"], DEFAULT_MODERATORS_LEFT_OUT = coded_moderators(_cells, config["moderators"])
_header = [] if _cells is None else list(_cells.columns)
del _cells
# The jobs read the categorical moderators as text (a moderator coded 1, 2, 3 keeps the levels 1, 2, 3).
TEXT_COLUMNS = categorical_columns(config)
os.environ[TEXT_COLUMNS_ENV] = json.dumps(TEXT_COLUMNS)
if workflow.is_main_process:
    for _family in ABSENT_FAMILIES:
        logger.info(f"The sheet has no {_family} rows: the {_family} family is not analysed.")
    for _sentence in FAMILIES_LEFT_OUT:
        logger.info(_sentence)
    if DEFAULT_MODERATORS_LEFT_OUT:
        _note = moderators_left_out_note(DEFAULT_MODERATORS_LEFT_OUT, config["reference_levels"], _header)
        logger.info(f"alliance-meta: {_note}")

# What the planned families and moderators leave out (left_out.smk, included last): the files of a family not
# analysed and the per-moderator plots of moderators not listed.
LEFT_OUT_PLAN = dict(families=FAMILIES, configured_families=config["families"], moderators=config["moderators"],
                     continuous_moderators=config["continuous_moderators"],
                     uncoded_moderators=DEFAULT_MODERATORS_LEFT_OUT,
                     steps_off=tuple(key for key in ("second_coder", "prisma") if not config.get(key)))

# One run per review folder (alliance_meta.runs): a live run in the folder stops this one here, and a
# killed run's stale locks are removed before Snakemake looks at them. The run is recorded only when
# jobs start (onstart: not for a dry run or a run with nothing to do, which Snakemake ends without onsuccess).
if workflow.is_main_process:
    from alliance_meta.runs import RunInProgress, claim_folder

    try:
        for _note in claim_folder(record=False):
            logger.info(f"alliance-meta: {_note}")
    except RunInProgress as _error:
        sys.exit(str(_error))

# The jobs' scripts run in processes forked from one that has numpy, pandas, matplotlib and
# alliance_meta imported (alliance_meta.warm_start; a job runs in place where it cannot, and
# every job does with ALLIANCE_META_WARM_START=0). RUN: that server, and when the jobs started.
# The server starts now, so that its imports overlap with Snakemake building the job graph instead of
# delaying the first jobs (about a second of every run, docs/performance.md); not for a command line that runs
# no job (a dry run, --lint, --dag, ...: warm_start.runs_no_job). A run
# with nothing to do leaves it to end with this process (it stops when its parent is gone).
RUN = {}
WARM_START = workflow.is_main_process and os.environ.get("ALLIANCE_META_WARM_START", "1") != "0"
if WARM_START:
    from alliance_meta.warm_start import runs_no_job, start_server

    if not runs_no_job(sys.argv):
        RUN["server"] = start_server()


onstart:
    import time

    from alliance_meta.runs import RunInProgress, claim_folder

    RUN["jobs_started"] = time.time() - 1.0  # the job logs of this run are newer (runs.failed_jobs)

    try:
        claim_folder()
    except RunInProgress as _error:  # started between reading the Snakefile and now: Snakemake's lock decides
        logger.warning(f"alliance-meta: {_error}")
    from alliance_meta.warm_start import start_server, stop_server

    if workflow.touch:  # --touch runs no job script
        stop_server(RUN.pop("server", None))
    elif WARM_START and "server" not in RUN:  # none was started while the Snakefile was read (see above)
        RUN["server"] = start_server()


onsuccess:
    from alliance_meta.runs import cancel_rescheduling_timers, release_folder
    from alliance_meta.warm_start import stop_server

    stop_server(RUN.get("server"))
    release_folder()
    cancel_rescheduling_timers()  # else the process waits up to a second for Snakemake's last timer


onerror:
    from alliance_meta.runs import cancel_rescheduling_timers, failed_jobs, release_folder
    from alliance_meta.warm_start import stop_server

    stop_server(RUN.get("server"))
    release_folder()
    cancel_rescheduling_timers()
    _failed = failed_jobs(log[0] if log else None, since=RUN.get("jobs_started"))
    if _failed:  # last, after Snakemake's error block: what stopped the run and which log says more
        logger.error("\nalliance-meta: the run stopped. What to fix:\n" + "\n".join(f"  {line}" for line in _failed))

# A custom risk-of-bias tool's block, for the rules whose outputs read its levels (a rob_* moderator's levels
# in the tool's order, its worst level as high risk): a param only with that tool, so that runs with a built-in
# tool keep their params and rerun nothing.
CUSTOM_RISK_OF_BIAS = ({"risk_of_bias": config["risk_of_bias"]} if config["risk_of_bias"].get("tool") == "custom"
                       else {})

# The risk-of-bias tool (alliance_meta.inputs.risk_of_bias.tool_from_config: the tool, and its domains and levels
# only for a custom tool), for the rules that read the tool and not `weighted` (the summary plot's): validation, the
# coder agreement and the forest plots, so that a new `weighted` reruns the risk_of_bias rule (and its readers) alone
RISK_OF_BIAS_TOOL = tool_settings(config["risk_of_bias"])

# The risk-of-bias figures' block: the tool (RISK_OF_BIAS_TOOL: no domains and levels of a built-in tool, which they do
# not read) and `weighted` (the summary plot's bars)
RISK_OF_BIAS_FIGURES = {**RISK_OF_BIAS_TOOL, "weighted": config["risk_of_bias"]["weighted"]}

# The plots keys that each forest plot draws (found by drawing the demo's with each key changed), so that a key a plot
# does not draw does not rerun it: none reads `tiff` (the rules' outputs do: a forest.tiff asked for is missing, and
# its job reruns), the main forest plot has no subgroup diamonds, the psychometric one no text columns nor risk-of-bias
# symbols (rows_per_page: the PDF's pages)
MODERATOR_FOREST_PLOTS = {key: value for key, value in config["plots"].items() if key != "tiff"}
FOREST_PLOTS = {key: value for key, value in MODERATOR_FOREST_PLOTS.items() if key != "subgroup_colour"}
PSYCHOMETRIC_FOREST_PLOTS = {key: value for key, value in MODERATOR_FOREST_PLOTS.items()
                             if key not in ("columns", "column_labels", "column_width", "rob")}

MAIN_METHOD = config["pooling"]["main_method"]  # the estimator of univariate fits of the study composites
# the multilevel keys (robust, profile) of the three-level pooled rows: none under aggregate, which reads none of them,
# so that a multilevel key changed there reruns nothing
MULTILEVEL_OPTIONS = config["multilevel"] if config["dependence"] == "multilevel" else {}


def _headline_method():
    from alliance_meta.models.fits import headline_method

    return headline_method(config)


HEADLINE_METHOD = _headline_method()  # the estimator of the pooled row quoted by plots, tables and the report

wildcard_constraints:
    family="|".join(FAMILIES),


# The software of every rule, for `--sdm conda` (relative to workflow/rules/).
CONDA_ENV = "../../environment.yml"

# Each stage's .smk appends the files it contributes to `make`'s default target.
FINAL_TARGETS = []


# pooling.knha_adhoc for the moderator models and their predictions (Knapp-Hartung as metafor's "adhoc"): a param
# only when set, so that runs without it keep their params; its value "adhoc", not True, because Snakemake compares
# the set of param values, not their names, and a bare True is lost among a rule's other True params (centre)
KNHA_ADHOC = {"knha": "adhoc"} if config["pooling"]["knha_adhoc"] else {}


def fit_options(wildcards):
    """The am.fit keywords of a family's main model (alliance_meta.models.fits.fit_options), with the headline's
    test: for the rules that refit the main model (pool, sensitivity, risk_of_bias)."""
    from alliance_meta.models.fits import fit_options as options

    return options(config, wildcards.family)


def untested_fit_options(wildcards):
    """fit_options without the test, for the rules whose analyses do not read it, so that a new pooling.tests
    does not rerun them: moderators (moderators.csv has both the QM and the Knapp-Hartung F), publication_bias
    (metafor's regtest, ranktest and trimfill, whose filled data are refitted with the z test) and
    selection_models (metafor's selmodel has Wald z tests whatever the model's test)."""
    return {key: value for key, value in fit_options(wildcards).items() if key != "test"}


def moderator_fit_options(wildcards):
    """untested_fit_options without the estimator under ``dependence: aggregate``, whose moderator models are REML
    whatever pooling.main_method (the three-level ones are fitted by multilevel.method, the headline's estimator):
    a new main_method does not rerun the moderators and their permutation tests."""
    options = untested_fit_options(wildcards)
    return options if config["dependence"] == "multilevel" else {k: v for k, v in options.items() if k != "method"}


def composite_options(wildcards):
    """The am.fit keywords that decide a family's study composites (alliance_meta.models.fits.composite_options):
    the Bayesian rules read no more of the fit, so pooling.main_method or level changes do not rerun them."""
    from alliance_meta.models.fits import composite_options as options

    return options(config, wildcards.family)


def aggregated_fit_options(wildcards):
    """The am.fit keywords of a family's aggregated model (alliance_meta.models.fits.aggregated_options) without
    the test, which robust variance estimation and GOSH do not read (a new pooling.tests does not rerun them)."""
    from alliance_meta.models.fits import aggregated_options

    return {key: value for key, value in aggregated_options(config, wildcards.family).items() if key != "test"}


def gosh_fit_options(wildcards):
    """aggregated_fit_options without the level, which GOSH does not read (a new level does not rerun it)."""
    return {key: value for key, value in aggregated_fit_options(wildcards).items() if key != "level"}


def grade_options(wildcards):
    """The config's grade keys that a family's summary of findings reads (alliance_meta.report.grade): its own
    imprecision width and overrides, and optimal_information_events only under metric log_or (events are counted
    for odds ratios alone), so that a key of the other family or of odds ratios does not rerun it."""
    family, grade = wildcards.family, config["grade"]
    options = {key: grade[key] for key in ("start", "optimal_information_size")}
    options.update({key: {family: grade[key][family]} for key in ("imprecision_width", "overrides")
                    if family in grade[key]})
    if config["metric"][family] == "log_or":
        options["optimal_information_events"] = grade["optimal_information_events"]
    return options


def gosh_mem_mb(wildcards, input):
    """Memory (MB) of a GOSH job: alliance_meta.analyses.gosh.memory_mb of its studies and gosh.subsets."""
    from alliance_meta.analyses.gosh import memory_mb

    with open(input[0], encoding="utf-8", newline="") as handle:
        studies = {row["study_id"] for row in csv.DictReader(handle)}
    return memory_mb(len(studies), config["gosh"]["subsets"])


def family_effect_sizes(wildcards):
    """Per-family effect sizes, one row per effect size (before aggregation)."""
    return f"data/processed/{wildcards.family}/effect_sizes.csv"


def family_effects(wildcards):
    """family_effect_sizes with the effect columns only (alliance_meta.inputs.dependence.EFFECT_COLUMNS): the
    input of the analyses that read no moderator, so a corrected moderator or risk-of-bias code reruns none of
    them (Snakemake compares the rewritten file's checksum with the one it recorded)."""
    return f"data/processed/{wildcards.family}/effects.csv"


def family_analysis_data(wildcards):
    """Per-family analysis rows: one composite per study under `dependence: aggregate`."""
    return f"data/processed/{wildcards.family}/analysis.csv"


def multiverse_batches(wildcards):
    """A family's multiverse batch files: ceil(specifications / multiverse.batch_size), read
    once the checkpoint multiverse_specifications has written the specifications. Asked for after the
    conversion checkpoint first: planned in Snakemake's first pass (the default target asks for the table),
    the table job of a family whose rows did not change would wait on a specifications job that is then
    found not to need a rerun, and the plot that reads the table would be drawn again for nothing."""
    import csv

    checkpoints.convert_effect_sizes.get()
    path = checkpoints.multiverse_specifications.get(family=wildcards.family).output[0]
    with open(path, newline="") as handle:
        count = sum(1 for _ in csv.reader(handle)) - 1
    batches = max(1, -(-count // config["multiverse"]["batch_size"]))
    return expand(
        "data/processed/{family}/multiverse/batch_{batch:04d}.csv",
        family=wildcards.family,
        batch=range(batches),
    )


def multiverse_table_file(wildcards):
    """results/{family}/multiverse.csv, asked for only once the checkpoint convert_effect_sizes is evaluated: a
    family whose rows did not change then keeps its plot (Snakemake would otherwise plan the plot in its first
    pass, before the checkpoints, and rerun it). Not the checkpoint multiverse_specifications: when that one
    need not run after convert_effect_sizes did, Snakemake 9 never evaluates the plot again, and a changed
    param (aggregate_rho, which names the main specification) left the old plot in place."""
    checkpoints.convert_effect_sizes.get()
    return f"results/{wildcards.family}/multiverse.csv"


def explain_left_out(wildcards):
    """Stops the run, before any job, with the reason (the input function of config_leaves_out in left_out.smk)."""
    sys.exit(left_out_target(wildcards.left_out, **LEFT_OUT_PLAN))


@functools.cache
def earlier_run_outputs():
    """The files under results/ (but results/history/) and data/processed/ that this config does not make, by
    reason (alliance_meta.inputs.planning.earlier_outputs); looked for once, when every rule is defined."""
    producers = [rule for rule in workflow.rules if rule.name != "config_leaves_out"]
    return earlier_outputs(output_files(), lambda path: any(rule.is_producer(path) for rule in producers),
                           **LEFT_OUT_PLAN)


def earlier_results(wildcards=None):
    """The lines of the report's Data section on an earlier run's files under results/ that this config no longer
    makes (a param of rule report)."""
    return earlier_outputs_lines(earlier_run_outputs(), folders=("results",))


#: the review's main analysis is three-level and the multiverse has three-level specifications (aggregate_methods)
THREE_LEVEL_MAIN = config["dependence"] == "multilevel" and "multilevel" in config["multiverse"]["aggregate_methods"]


def multiverse_psychometric():
    """The psychometric keys the multiverse's `individual` correction reads
    (alliance_meta.analyses.multiverse.CORRECTION_KEYS), and only under that correction: the others (e.g. decimals,
    credibility_level), and any key under correction: [none], rerun no multiverse job."""
    if "individual" not in config["multiverse"]["correction"]:
        return {}
    from alliance_meta.analyses.multiverse import CORRECTION_KEYS

    return {key: value for key, value in config["psychometric"].items() if key in CORRECTION_KEYS}


def multiverse_main():
    """The choices of the specification that the specification curve marks as the main analysis, with the
    headline's test (alliance_meta.models.fits.headline_test, as am.multiverse marks its fit's): none is marked
    when multiverse.tests does not have it."""
    from alliance_meta.analyses.multiverse import MAIN_TESTS
    from alliance_meta.models.fits import headline_test

    test = MAIN_TESTS[headline_test(config)]
    if THREE_LEVEL_MAIN:
        return {"aggregate_method": "multilevel", "aggregate_rho": config["aggregate_rho"],
                "method": config["multilevel"]["method"], "test": test}
    return {"aggregate_method": config["aggregate_method"], "aggregate_rho": config["aggregate_rho"],
            "method": MAIN_METHOD, "test": test}
