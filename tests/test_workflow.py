"""The Snakemake workflow: lint, dry run and real runs in a reviewer's own folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"

OUTCOME_ROWS = [
    # study_id, authors, year, r, n, modality, rater
    ("s01", "Tiny A", 2001, 0.31, 60, "CBT", "patient"),
    ("s02", "Tiny B", 2003, 0.12, 85, "psychodynamic", "therapist"),
    ("s03", "Tiny C", 2005, 0.40, 40, "CBT", "client"),
    ("s03", "Tiny C", 2005, 0.22, 40, "CBT", "observer"),
    ("s04", "Tiny D", 2008, 0.05, 120, "humanistic", "patient"),
    ("s05", "Tiny E", 2011, 0.35, 75, "psychodynamic", "patient"),
    ("s06", "Tiny F", 2015, 0.28, 150, "CBT", "therapist"),
]
DROPOUT_ROWS = [
    # study_id, authors, year, d, n1, n2, modality, rater
    ("s07", "Tiny G", 2004, 0.61, 40, 18, "CBT", "patient"),
    ("s08", "Tiny H", 2009, 0.35, 55, 25, "psychodynamic", "patient"),
    ("s09", "Tiny I", 2012, 0.72, 30, 12, "CBT", "therapist"),
    ("s10", "Tiny J", 2016, 0.48, 70, 30, "humanistic", "patient"),
]


def tiny_sheet() -> pd.DataFrame:
    outcome = pd.DataFrame(OUTCOME_ROWS, columns=["study_id", "authors", "year", "r", "n", "modality", "rater"])
    outcome["family"] = "outcome"
    dropout = pd.DataFrame(DROPOUT_ROWS, columns=["study_id", "authors", "year", "d", "n1", "n2", "modality", "rater"])
    dropout["family"] = "dropout"
    return pd.concat([outcome, dropout], ignore_index=True)


def snakemake(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder),
               "--cores", "2", *args]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture()
def review_folder(tmp_path: Path) -> Path:
    (tmp_path / "data" / "raw").mkdir(parents=True)
    tiny_sheet().to_csv(tmp_path / "data" / "raw" / "studies.csv", index=False)
    return tmp_path


def test_lint_reports_nothing():
    result = subprocess.run([str(SNAKEMAKE), "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert "Lints for" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert result.returncode == 0


def test_dry_run_without_config_file_uses_schema_defaults(review_folder: Path):
    result = snakemake(review_folder, "--dry-run")
    assert "validate_sheet" in result.stdout
    assert "pool" in result.stdout


def write_config(folder: Path, text: str) -> None:
    (folder / "config").mkdir(exist_ok=True)
    (folder / "config" / "config.yaml").write_text(text)


@pytest.mark.parametrize("text", ["", "# every key at its default\n# sheet: data/raw/studies.csv\n"])
def test_dry_run_with_an_empty_or_comment_only_config_file(review_folder: Path, text: str):
    write_config(review_folder, text)
    result = snakemake(review_folder, "--dry-run")
    assert "validate_sheet" in result.stdout and "pool" in result.stdout



def test_a_moderator_named_with_spaces_names_its_plots_without_them(review_folder: Path):
    """A moderator "dose level" and a continuous "mean age" wrote results/outcome/bubble_mean age.png and
    forest_dose level.png: a space in a path that shell commands, LaTeX and URLs break at. Each run of characters
    other than letters, digits, - and _ is now one underscore (planning.file_part)."""
    sheet = tiny_sheet()
    sheet["dose level"] = ["low dose", "high dose"] * (len(sheet) // 2) + ["low dose"] * (len(sheet) % 2)
    sheet["mean age"] = np.linspace(20, 50, len(sheet))
    sheet.to_csv(review_folder / "data" / "raw" / "studies.csv", index=False)
    write_config(review_folder, 'moderators: ["dose level"]\ncontinuous_moderators: ["mean age"]\n')
    planned = snakemake(review_folder, "--dry-run").stdout
    for name in ("bubble_mean_age.png", "subgroups_dose_level.svg", "forest_dose_level.pdf"):
        assert f"results/outcome/{name}" in planned, name
    assert not re.search(r"_(mean|dose) ", planned)


def test_rob_columns_left_empty_plan_no_risk_of_bias_rule(review_folder: Path):
    """rob_* columns kept empty from the blank template are no risk-of-bias coding: no risk_of_bias job, and a
    risk-of-bias file asked for by name stops the run with the reason; one judgement plans the rule."""
    sheet = tiny_sheet()
    for column in ("rob_participation", "rob_attrition", "rob_overall"):
        sheet[column] = " "
    path = review_folder / "data" / "raw" / "studies.csv"
    sheet.to_csv(path, index=False)
    assert "risk_of_bias" not in snakemake(review_folder, "--dry-run").stdout
    result = snakemake(review_folder, "results/outcome/rob_summary.pdf", "--dry-run", check=False)
    assert result.returncode != 0
    assert "the sheet has no risk-of-bias judgements" in result.stdout + result.stderr
    sheet.loc[0, "rob_attrition"] = "low"
    sheet.to_csv(path, index=False)
    assert "risk_of_bias" in snakemake(review_folder, "--dry-run").stdout


def test_config_problems_stop_the_run_at_once_before_any_job(review_folder: Path):
    write_config(review_folder, "bayes:\n  draw: 4000\n  prior: {mu_sdd: 2}\npooling: {main_method: reml}\n")
    result = snakemake(review_folder, "--dry-run", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    lines = [line.strip() for line in output.splitlines() if not line.startswith("Using workflow specific profile")]
    assert lines[0].startswith("config/config.yaml: 3 problems"), output
    assert "bayes.draw: unknown key; did you mean bayes.draws?" in lines
    assert "bayes.prior.mu_sdd: unknown key; did you mean bayes.prior.mu_sd?" in lines
    assert any(line.startswith("pooling.main_method: 'reml' is not one of") and "did you mean REML?" in line
               for line in lines)
    assert "Traceback" not in output and 'File "' not in output and len(lines) == 4
    assert not (review_folder / "logs").exists()


def test_a_key_written_twice_is_listed_with_the_other_problems(review_folder: Path):
    """YAML keeps the last of two `moderators:` lines without a word; an emptied block means its defaults."""
    write_config(review_folder, "moderators: [rater]\npooling:\n#  methods: [REML]\nbayes:\n  draw: 100\n"
                                "moderators: [modality]\n")
    result = snakemake(review_folder, "--dry-run", check=False)
    output = result.stdout + result.stderr
    lines = [line.strip() for line in output.splitlines() if not line.startswith("Using workflow specific profile")]
    assert result.returncode != 0 and lines[0].startswith("config/config.yaml: 2 problems"), output
    assert lines[1:] == ["moderators: written twice in one block (lines 1 and 6); YAML reads only the last: keep one",
                         "bayes.draw: unknown key; did you mean bayes.draws?"]


def test_command_line_config_overrides_the_file_key_by_key(review_folder: Path):
    write_config(review_folder, "dependence: nested\npooling: {methods: [DL, PM], main_method: DL}\n")
    snakemake(review_folder, "--dry-run", "--config", "dependence=multilevel")
    result = snakemake(review_folder, "--dry-run", "--config", "dependence=multilevel",
                       "pooling={main_method: REML}", check=False)
    assert result.returncode != 0
    assert "config/config.yaml and --config/--configfile: 1 problem" in result.stderr + result.stdout
    assert "pooling.main_method: REML is not among pooling.methods (DL, PM)" in result.stderr + result.stdout


def test_real_run_writes_effect_sizes_and_pooled_tables(review_folder: Path):
    targets = ["data/processed/effect_sizes.csv", "results/outcome/pooled.csv", "results/dropout/pooled.csv"]
    snakemake(review_folder, *targets)
    effect_sizes = pd.read_csv(review_folder / "data/processed/effect_sizes.csv")
    assert len(effect_sizes) == len(OUTCOME_ROWS) + len(DROPOUT_ROWS)
    assert {"study_id", "family", "yi", "vi", "input_kind"} <= set(effect_sizes.columns)
    pooled = pd.read_csv(review_folder / "results/outcome/pooled.csv")
    contract = ["method", "test", "k", "estimate", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
                "tau2", "tau2_ci_lower", "tau2_ci_upper", "i2", "h2", "q", "q_df", "q_p"]
    assert list(pooled.columns[: len(contract)]) == contract
    assert set(pooled["k"]) == {6}  # s03's two correlations are aggregated into one composite


def test_adding_an_outcome_study_reruns_only_the_outcome_family(review_folder: Path):
    targets = ["results/outcome/pooled.csv", "results/dropout/pooled.csv"]
    snakemake(review_folder, *targets)
    outcome, dropout = (review_folder / target for target in targets)
    before = {path: path.stat().st_mtime_ns for path in (outcome, dropout)}
    sheet_path = review_folder / "data" / "raw" / "studies.csv"
    sheet = pd.read_csv(sheet_path)
    new_row = pd.DataFrame([{"study_id": "s11", "authors": "Tiny K", "year": 2020, "r": 0.25, "n": 90,
                             "modality": "CBT", "rater": "patient", "family": "outcome"}])
    pd.concat([sheet, new_row], ignore_index=True).to_csv(sheet_path, index=False)
    snakemake(review_folder, *targets)
    assert outcome.stat().st_mtime_ns > before[outcome]
    assert dropout.stat().st_mtime_ns == before[dropout]
    assert set(pd.read_csv(outcome)["k"]) == {7}


def test_adding_an_outcome_study_leaves_the_dropout_multiverse_plot_alone(review_folder: Path):
    """The tables are targets, as in the default target: Snakemake plans their jobs in its first pass, before
    the conversion checkpoint has run. The unchanged family's table and plot must then be kept, not the plot
    drawn again because it hangs on a table job planned while the specifications looked out of date."""
    targets = ["results/outcome/multiverse.png", "results/dropout/multiverse.png"]
    tables = ["results/outcome/multiverse.csv", "results/dropout/multiverse.csv"]
    snakemake(review_folder, *targets, *tables)
    outcome, dropout = (review_folder / target for target in targets)
    before = {path: path.stat().st_mtime_ns for path in (outcome, dropout)}
    sheet_path = review_folder / "data" / "raw" / "studies.csv"
    new_row = pd.DataFrame([{"study_id": "s11", "authors": "Tiny K", "year": 2020, "r": 0.25, "n": 90,
                             "modality": "CBT", "rater": "patient", "family": "outcome"}])
    pd.concat([pd.read_csv(sheet_path), new_row], ignore_index=True).to_csv(sheet_path, index=False)
    result = snakemake(review_folder, *targets, *tables)
    assert outcome.stat().st_mtime_ns > before[outcome]
    assert dropout.stat().st_mtime_ns == before[dropout], result.stderr


def test_removing_an_outcome_row_above_the_dropout_rows_leaves_the_dropout_family_alone(review_folder: Path):
    """The family files leave out sheet_row: a row removed in one family moves the other's sheet rows only."""
    targets = ["results/outcome/pooled.csv", "results/dropout/pooled.csv"]
    snakemake(review_folder, *targets)
    dropout = review_folder / targets[1]
    before = dropout.stat().st_mtime_ns
    sheet_path = review_folder / "data" / "raw" / "studies.csv"
    sheet = pd.read_csv(sheet_path)
    assert sheet.index[sheet["study_id"] == "s02"][0] < sheet.index[sheet["family"] == "dropout"].min()
    sheet[sheet["study_id"] != "s02"].to_csv(sheet_path, index=False)
    snakemake(review_folder, *targets)
    assert set(pd.read_csv(review_folder / targets[0])["k"]) == {5}
    assert dropout.stat().st_mtime_ns == before
    assert "sheet_row" not in pd.read_csv(review_folder / "data/processed/dropout/effect_sizes.csv").columns
    assert "sheet_row" in pd.read_csv(review_folder / "data/processed/effect_sizes.csv").columns


def test_the_first_dropout_rows_of_a_review_of_correlations_rerun_nothing_of_the_outcome_family(review_folder: Path):
    """The dropout rows bring columns no outcome row fills (d, n1, n2); the family files have every input
    column of the codebook, so the outcome family's files, and its jobs, stay as they were."""
    sheet_path = review_folder / "data" / "raw" / "studies.csv"
    sheet = pd.read_csv(sheet_path)
    sheet[sheet["family"] == "outcome"].dropna(axis="columns", how="all").to_csv(sheet_path, index=False)
    assert not {"d", "n1", "n2"} & set(pd.read_csv(sheet_path).columns)
    targets = ["results/outcome/pooled.csv", "results/outcome/moderators.csv", "results/dropout/pooled.csv"]
    snakemake(review_folder, *targets[:2])  # a sheet without dropout rows has no dropout family to analyse
    outcome = [review_folder / target for target in targets[:2]]
    before = {path: path.stat().st_mtime_ns for path in outcome}
    sheet.to_csv(sheet_path, index=False)
    snakemake(review_folder, *targets)
    assert {path: path.stat().st_mtime_ns for path in outcome} == before
    assert set(pd.read_csv(review_folder / targets[2])["k"]) == {len(DROPOUT_ROWS)}


def test_a_corrected_moderator_reruns_the_moderator_analyses_only(review_folder: Path):
    """The analyses of the effects alone read data/processed/{family}/effects.csv, which has no moderator
    columns: a moderator recoded after consensus reruns the moderator table, not the pooling or the bias tests."""
    targets = ["results/outcome/pooled.csv", "results/outcome/bias.csv", "results/outcome/moderators.csv"]
    snakemake(review_folder, *targets)
    pooled, bias, moderators = (review_folder / target for target in targets)
    before = {path: path.stat().st_mtime_ns for path in (pooled, bias, moderators)}
    effects = pd.read_csv(review_folder / "data/processed/outcome/effects.csv")
    assert {"study_id", "yi", "vi", "authors", "year", "r", "n"} <= set(effects.columns)
    assert not {"modality", "rater"} & set(effects.columns)
    sheet_path = review_folder / "data" / "raw" / "studies.csv"
    sheet = pd.read_csv(sheet_path)
    sheet.loc[sheet["study_id"] == "s02", "modality"] = "CBT"
    sheet.to_csv(sheet_path, index=False)
    snakemake(review_folder, *targets)
    assert pooled.stat().st_mtime_ns == before[pooled] and bias.stat().st_mtime_ns == before[bias]
    assert moderators.stat().st_mtime_ns > before[moderators]
    counts = pd.read_csv(review_folder / "results/outcome/subgroups.csv").set_index(["moderator", "level"])["k"]
    assert counts[("modality", "CBT")] == 4 and ("modality", "psychodynamic") in counts.index


def test_a_changed_aggregate_rho_redraws_the_multiverse_plot(review_folder: Path):
    """aggregate_rho reruns convert_effect_sizes (a checkpoint) and names the specification the plot marks as
    the main analysis; the plot is redrawn in the same run, though the specifications need not be made again."""
    plot, table = review_folder / "results/outcome/multiverse.png", review_folder / "results/outcome/multiverse.csv"
    snakemake(review_folder, str(plot.relative_to(review_folder)))
    before = {path: path.stat().st_mtime_ns for path in (plot, table)}
    snakemake(review_folder, str(plot.relative_to(review_folder)))
    assert plot.stat().st_mtime_ns == before[plot]
    snakemake(review_folder, str(plot.relative_to(review_folder)), "--config", "aggregate_rho=0.7")
    assert plot.stat().st_mtime_ns > before[plot]
    assert table.stat().st_mtime_ns == before[table]  # the specifications do not depend on aggregate_rho


def test_prisma_counts_that_disagree_with_the_sheet_stop_the_run_before_its_analyses(review_folder: Path):
    """The example config's SIMULATED counts (150 studies) kept with a reviewer's own sheet: the run stopped at rule
    prisma after 16 of 31 jobs; prisma now runs first of the ready jobs but the conversion (on one core: right after
    it, before any analysis)."""
    import yaml

    prisma = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["prisma"]
    write_config(review_folder, yaml.safe_dump({"prisma": prisma}))
    result = snakemake(review_folder, "--cores", "1", check=False)
    assert result.returncode != 0
    log = (review_folder / "logs" / "prisma.log").read_text()
    assert f"prisma.included_studies is {prisma['included_studies']:,} but the sheet has 10 studies" in log
    assert "Traceback" not in log + result.stderr
    assert not [path for family in ("outcome", "dropout") for path in (review_folder / "results" / family).glob("*")]
    tail = result.stderr[result.stderr.rindex("alliance-meta: the run stopped"):]  # said last, after Snakemake's block
    assert "\n  prisma: The PRISMA counts in the config (prisma:) have" in tail and "(logs/prisma.log)" in tail


def test_malformed_sheet_fails_with_a_readable_list_of_problems(review_folder: Path):
    sheet_path = review_folder / "data" / "raw" / "studies.csv"
    sheet = pd.read_csv(sheet_path, dtype=str)
    sheet.loc[0, "r"] = "1.3"
    sheet.loc[1, "r"] = "0,35"
    sheet.loc[2, "study_id"] = ""
    sheet.to_csv(sheet_path, index=False)
    before = sheet_path.read_bytes()
    result = snakemake(review_folder, "data/processed/effect_sizes.csv", check=False)
    assert result.returncode != 0
    log = (review_folder / "logs" / "validate_sheet.log").read_text()
    assert "row 2" in log and "row 3" in log and "row 4" in log
    assert "Traceback" not in log
    assert ("alliance-meta: the run stopped. What to fix:\n  validate_sheet: the data sheet needs fixing before the "
            "analysis can run (logs/validate_sheet.log)") in result.stderr
    assert sheet_path.read_bytes() == before


def test_a_psychometric_moderator_not_in_the_sheet_stops_validation(review_folder: Path):
    """Its psychometric_moderators.csv was written empty without a word (the rule passes the key only when set)."""
    result = snakemake(review_folder, "data/processed/sheet.csv", "--config", "psychometric={moderators: [ratr]}",
                       check=False)
    log = (review_folder / "logs" / "validate_sheet.log").read_text()
    assert result.returncode != 0 and "Traceback" not in log + result.stderr
    assert ('ratr: is named by the config (psychometric.moderators) but is not a column of the sheet; did you mean '
            '"rater"?') in log


def test_multilevel_run_writes_variance_components_and_study_level_bias_tests(review_folder: Path):
    targets = ["results/outcome/pooled.csv", "results/outcome/bias.csv", "results/outcome/leave_one_out.csv"]
    snakemake(review_folder, *targets, "--config", "dependence=multilevel")
    pooled = pd.read_csv(review_folder / targets[0])
    assert {"sigma2_between", "sigma2_within"} <= set(pooled.columns)
    assert set(pooled["method"]) <= {"REML", "ML"} and set(pooled["k"]) == {len(OUTCOME_ROWS)}
    bias = pd.read_csv(review_folder / targets[1]).set_index("test")
    assert "egger_multilevel" in bias.index
    assert bias.loc["fail_safe_n_orwin", "statistic"] == 6  # one composite per study, not one row per effect size
    leave_one_out = pd.read_csv(review_folder / targets[2])
    assert sorted(leave_one_out["study_id"]) == sorted({row[0] for row in OUTCOME_ROWS})


@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_the_bayesian_rules_see_only_what_decides_the_composites(dependence):
    """bayes, bayes_plots, bayes_prior_sensitivity and bma take composite_options as their params, so a new
    pooling.level or main_method does not rerun them: their data, the study composites, do not depend on
    either (checked here on the demo sheet)."""
    import alliance_meta as am
    from alliance_meta.models.fits import composite_options, fit_options

    config = {"dependence": dependence, "multilevel": {"method": "REML"}, "pooling": {"main_method": "REML",
              "level": 95}, "aggregate_rho": 0.5, "aggregate_method": "gls", "metric": {"outcome": "z"}}
    options = composite_options(config, "outcome")
    assert set(options) == {"dependence", "rho", "aggregate_method", "metric"}
    rows = am.effect_sizes(am.read_sheet(ROOT / "data" / "raw" / "studies.csv"))
    rows = rows[rows["family"] == "outcome"]
    fits = [am.fit(rows, **fit_options(config, "outcome")), am.fit(rows, **options, method="ML", level=80.0)]
    data = [fit.composites() if dependence == "multilevel" else fit.data for fit in fits]
    pd.testing.assert_frame_equal(data[0], data[1])
    for rule in ("bayes", "bma"):
        text = (ROOT / "workflow" / "rules" / f"{rule}.smk").read_text()
        assert "fit=composite_options" in text and "fit=fit_options" not in text


def test_the_headline_row_is_the_main_models_and_pooled_csv_always_has_it():
    """Under dependence multilevel the main model is fitted by multilevel.method (rma.mv: REML or ML), so the
    report, forest plots and summary of findings quote that row, not pooling.main_method's; and pooled.csv
    holds it even when pooling.methods lists no three-level estimator (it crashed the forest plots)."""
    import alliance_meta as am
    from alliance_meta.models.fits import fit_options, headline_method, main_row, pooled_methods

    aggregate = {"dependence": "aggregate", "multilevel": {"method": "ML"}, "pooling": {"main_method": "DL"}}
    multilevel = {**aggregate, "dependence": "multilevel"}
    assert headline_method(aggregate) == "DL" and headline_method(multilevel) == "ML"
    assert headline_method({}) == "REML"
    config = {**multilevel, "pooling": {"main_method": "DL", "level": 95}, "aggregate_rho": 0.5,
              "aggregate_method": "gls", "metric": {"outcome": "z"}}
    assert fit_options(config, "outcome")["method"] == "ML"
    assert pooled_methods(["DL", "PM"], "ML") == ["DL", "PM", "ML"]
    assert pooled_methods(["REML", "DL"], "DL") == ["REML", "DL"]  # the order of pooling.methods is kept
    rows = am.effect_sizes(am.read_sheet(ROOT / "data" / "raw" / "studies.csv"))
    rows = rows[rows["family"] == "outcome"]
    table, notes = am.pooled_table(rows, pooled_methods(["DL", "PM"], "ML"), ["z"], dependence="multilevel",
                                   metric="z", profile=False, cluster_robust=False)
    assert list(table["method"]) == ["ML"] and "DL, PM not defined" in notes[0]
    assert main_row(table, headline_method(config))["method"] == "ML"
    for rule in ("pooling", "moderators", "manuscript", "report"):
        text = (ROOT / "workflow" / "rules" / f"{rule}.smk").read_text()
        assert "main_method=HEADLINE_METHOD" in text and "main_method=MAIN_METHOD" not in text


def test_a_new_headline_test_reruns_the_refits_of_the_main_model_only(review_folder: Path):
    """pooling.tests decides the test of the main model's refits (fit_options: leave-one-out, influence, cumulative,
    risk-of-bias subsets, as metafor's leave1out, influence, cumul refit a knha model with it); the rules whose
    analyses do not read the test (moderators, publication_bias, selection_models, rve, gosh) take the keywords
    without it, so a new headline test reruns the pooling and the sensitivity analyses, not them."""
    targets = [f"results/outcome/{name}" for name in ("pooled.csv", "leave_one_out.csv", "moderators.csv",
                                                      "bias.csv", "rve.csv")]
    snakemake(review_folder, *targets)
    result = snakemake(review_folder, *targets, "--dry-run", "--config", "pooling={tests: [knha, z]}")
    stats = result.stdout.split("Job stats:")[1].strip().split("\n\n")[0].splitlines()  # job, count, ----, rows
    assert {line.split()[0] for line in stats[2:]} == {"pool", "sensitivity", "total"}, result.stdout
    for rule in ("moderators", "bias", "selection", "robustness", "pooling", "risk_of_bias"):
        text = (ROOT / "workflow" / "rules" / f"{rule}.smk").read_text()
        refits = rule in ("pooling", "risk_of_bias") or "rule sensitivity" in text
        assert ("fit=fit_options" in text) == refits, rule


@pytest.mark.parametrize(("change", "rerun"), [
    ("pooling={main_method: DL}", {"pool", "publication_bias"}),  # the headline row; regtest, trimfill refit with it
    ("multilevel={method: ML, robust: false, profile: false}", set()),
    ("bias={selection: {steps: [0.05, 1], sided: two}}", set()),
    ("psychometric={decimals: 3, credibility_level: 90}", set()),
    ("multiverse={progress_every: 10}", set())])
def test_a_key_an_analysis_does_not_read_does_not_rerun_it(review_folder: Path, change: str, rerun: set):
    """Under dependence aggregate the moderator models are REML whatever pooling.main_method and nothing reads the
    multilevel keys; bias.selection is read by selection_models alone; the multiverse reads the psychometric keys
    only for multiverse.correction individual, and progress_every is its log's: a new value reruns no other rule
    (the moderators' permutation tests and the multiverse were the longest of them)."""
    targets = [f"results/outcome/{name}" for name in ("pooled.csv", "moderators.csv", "bias.csv", "multiverse.csv")]
    snakemake(review_folder, *targets)
    result = snakemake(review_folder, *targets, "--dry-run", "--config", change)
    planned = {rule for rule in ("pool", "moderators", "publication_bias", "multiverse_specifications")
               if f"rule {rule}:" in result.stdout or f"checkpoint {rule}:" in result.stdout}
    assert planned == rerun, result.stdout


@pytest.mark.parametrize(("base", "change", "rerun"), [
    ("multiverse={priors: []}", "bayes={prior: {mu_sd: 2.0}}", set()),  # no Bayesian specification reads mu_sd
    # rma.mv has no Knapp-Hartung test: the three-level pooled rows do not read it (the multiverse's
    # univariate knha specifications do)
    ("dependence=multilevel", "pooling={knha_adhoc: true}", {"multiverse_batch"}),
    # the three-level pooled rows are multilevel.method's (the multiverse detects outliers with main_method)
    ("dependence=multilevel", "pooling={main_method: DL}", {"multiverse_batch"}),
    # the individual correction reads the reliabilities and the correction's options, not psychometric.csv's pooling
    ("multiverse={correction: [none, individual]}", "psychometric={decimals: 3, credibility_level: 90}", set()),
    ("multiverse={correction: [none, individual]}", "psychometric={missing_artifacts: mean}",  # but those it reads do
     {"multiverse_specifications"}),  # (its batches are planned once it has run)
    ("risk_of_bias={weighted: false}", "risk_of_bias={weighted: true}", set())])  # the summary plot's
def test_a_key_a_job_does_not_read_under_the_settings_does_not_rerun_it(review_folder: Path, base: str, change: str,
                                                                        rerun: set):
    """With the settings ``base``, a new value of a key that the validation, the conversion, the pooling, the forest
    plot and the multiverse do not then read reruns none of them: each rule's params hold only what its job reads."""
    targets = [f"results/outcome/{name}" for name in ("pooled.csv", "forest.png", "multiverse.csv")]
    snakemake(review_folder, *targets, "--config", base)
    result = snakemake(review_folder, *targets, "--dry-run", "--config", base, change)
    rules = ("validate_sheet", "convert_effect_sizes", "pool", "forest_plot", "multiverse_specifications",
             "multiverse_batch")
    planned = {rule for rule in rules if f"rule {rule}:" in result.stdout or f"checkpoint {rule}:" in result.stdout}
    assert planned == rerun, result.stdout


def test_a_key_a_figure_table_or_sampler_does_not_read_does_not_rerun_it(review_folder: Path):
    """The forest plots, the psychometric forest plot, the summary of findings, the risk-of-bias figures and the
    Bayesian rules take only the keys their jobs read: plots.tiff decides the rules' outputs only (a new TIFF is a
    missing output), the main forest plot draws no subgroup diamond and the psychometric one no text columns nor
    risk-of-bias symbols; no plots key refits the psychometric analysis or the risk-of-bias sensitivity models
    (their figures are jobs of their own); a family's GRADE rating reads its own imprecision width and overrides, and the optimal
    information events only for odds ratios; a built-in risk-of-bias tool reads no domains and levels; the sampler
    reads no sensitivity prior and the Bayesian plots only the priors, hdi_prob (their labels) and plots.dpi. Each
    such key reran them all before."""
    sheet = tiny_sheet()
    sheet["rob_overall"] = [("low", "moderate", "high")[int(study[1:]) % 3] for study in sheet["study_id"]]
    sheet.to_csv(review_folder / "data" / "raw" / "studies.csv", index=False)
    write_config(review_folder, "bayes: {draws: 100, tune: 100, chains: 2}\nplots: {columns: [n], tiff: true}\n")
    targets = [f"results/outcome/{name}" for name in ("forest.png", "forest_modality.png", "psychometric_forest.png",
                                                      "summary_of_findings.csv", "rob_summary.png",
                                                      "rob_sensitivity.csv", "bayes_forest.png")]
    snakemake(review_folder, *targets)
    rules = ("forest_plot", "moderator_forest_plot", "psychometric", "psychometric_forest_plot", "summary_of_findings",
             "risk_of_bias", "risk_of_bias_sensitivity", "bayes", "bayes_plots")
    for change, rerun in (
            ("plots={tiff: false, subgroup_colour: '#000001'}", {"moderator_forest_plot", "psychometric_forest_plot"}),
            ("plots={column_width: 5, rob: true}", {"forest_plot", "moderator_forest_plot"}),
            # every figure job writes its PNGs at plots.dpi (the Bayesian plots were at 300 whatever it said); the
            # sampler does not read it
            ("plots={dpi: 150}", {"forest_plot", "moderator_forest_plot", "psychometric_forest_plot", "bayes_plots"}),
            # the psychometric analysis and the risk-of-bias refits reran with every plots key
            ("plots={rows_per_page: 5, width: 8}", {"forest_plot", "moderator_forest_plot", "psychometric_forest_plot",
                                                    "risk_of_bias"}),
            ("grade={imprecision_width: {outcome: 0.2, dropout: 0.6}, optimal_information_events: 200}", set()),
            ("grade={overrides: {dropout: {indirectness: {downgrade: 1}}}}", set()),
            ("grade={overrides: {outcome: {indirectness: {downgrade: 1}}}}", {"summary_of_findings"}),
            ("risk_of_bias={levels: [good, fair, poor]}", set()),
            ("risk_of_bias={weighted: true}", {"risk_of_bias"}),
            ("bayes={sensitivity_priors: [{family: half_normal, scale: 0.3}]}", set()),
            ("bayes={prior: {mu_sd: 2.0}}", {"bayes", "bayes_plots"})):
        result = snakemake(review_folder, *targets, "--dry-run", "--config", change)
        planned = {rule for rule in rules if f"rule {rule}:" in result.stdout}
        assert planned == rerun, (change, result.stdout)
    # plots.tiff set after a run: the missing TIFFs, not the params, rerun the forest plots (the default target)
    (review_folder / "results" / "outcome" / "forest.tiff").unlink()
    result = snakemake(review_folder, "--dry-run")
    assert "Missing output files: results/outcome/forest.tiff" in result.stdout, result.stdout


def test_knha_adhoc_reruns_the_moderator_models_and_their_predictions(review_folder: Path):
    """pooling.knha_adhoc makes the moderator models' Knapp-Hartung tests (moderators.csv, meta_regression.csv) and
    the knha predictions metafor's adhoc, so setting it reruns them with pooled.csv; it did not: their rules had no
    such param, and a bare True param would not have done (Snakemake compares the set of param values, and the
    moderators rule has centre: True). Not set, the rules keep their params (nothing reruns)."""
    targets = [f"results/outcome/{name}" for name in ("pooled.csv", "moderators.csv",
                                                      "meta_regression_predictions.csv", "bias.csv")]
    snakemake(review_folder, *targets)
    for change, rerun in (("pooling={knha_adhoc: true}", {"pool", "moderators", "model_comparison"}),
                          ("pooling={knha_adhoc: false}", set())):
        result = snakemake(review_folder, *targets, "--dry-run", "--config", change)
        planned = {rule for rule in ("pool", "moderators", "model_comparison", "publication_bias")
                   if f"rule {rule}:" in result.stdout}
        assert planned == rerun, result.stdout


def test_the_bayesian_level_reruns_model_averaging_and_no_frequentist_job(review_folder: Path):
    """bma_summary.csv's credible intervals have the mass bayes.hdi_prob (as every Bayesian interval): a new value
    reruns the bma job, which did not read it (its intervals stayed 95%), and not the pooling."""
    targets = [f"results/outcome/{name}" for name in ("pooled.csv", "bma_summary.csv")]
    snakemake(review_folder, *targets)
    result = snakemake(review_folder, *targets, "--dry-run", "--config", "bayes={hdi_prob: 0.8}")
    planned = {rule for rule in ("pool", "bma") if f"rule {rule}:" in result.stdout}
    assert planned == {"bma"}, result.stdout


def test_jobs_import_the_package_that_ships_with_the_snakefile(review_folder: Path, tmp_path_factory):
    """A job imports src/alliance_meta beside the Snakefile, as the run's main process does, not an
    alliance_meta found earlier on the Python path (another checkout, an older release)."""
    other = tmp_path_factory.mktemp("other_checkout") / "alliance_meta"
    other.mkdir()
    (other / "__init__.py").write_text("raise ImportError('the alliance_meta of another checkout')\n")
    command = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(review_folder),
               "--cores", "1", "data/processed/sheet.csv"]
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(other.parent)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "another checkout" not in (review_folder / "logs" / "validate_sheet.log").read_text()
    assert (review_folder / "data" / "processed" / "sheet.csv").is_file()


def test_a_custom_risk_of_bias_tool_lists_rob_overall_subgroups_in_its_order(review_folder: Path):
    """With risk_of_bias.tool custom, the moderators rule orders rob_overall's levels as risk_of_bias.levels lists
    them (good, fair, poor), not sorted (fair, good, poor), and so does the psychometric rule; the plots and tables take
    subgroups.csv's order."""
    sheet = tiny_sheet()
    levels = ["good", "fair", "poor"]
    sheet["rob_selection"] = [levels[(int(study[1:]) - 1) % 3] for study in sheet["study_id"]]
    sheet["rob_overall"] = sheet["rob_selection"]
    sheet.to_csv(review_folder / "data" / "raw" / "studies.csv", index=False)
    write_config(review_folder, "moderators: [rob_overall]\n"
                                "risk_of_bias: {tool: custom, domains: [selection], levels: [good, fair, poor]}\n")
    snakemake(review_folder, "results/outcome/subgroups.csv", "results/outcome/psychometric_moderators.csv")
    subgroups = pd.read_csv(review_folder / "results" / "outcome" / "subgroups.csv")
    assert subgroups["level"].tolist() == levels
    # psychometric_moderators.csv too (it listed them sorted: fair, good, poor)
    psychometric = pd.read_csv(review_folder / "results" / "outcome" / "psychometric_moderators.csv")
    assert list(dict.fromkeys(psychometric["level"])) == levels
