"""The sheets reviewers really start with, through the whole default target (.test/<case>/).

Each folder under ``.test/`` is a review folder: ``config/config.yaml``, a simulated sheet in
``data/raw/``, and ``expected.yaml``: ``report`` (the run reaches results/report.html with no
traceback anywhere) or ``problems`` followed by the lines validation must print. Also here: a
run killed with SIGKILL and restarted with the same command gives the results of an
uninterrupted run; two runs give byte-identical CSVs; a second run in a busy folder is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted(path.name for path in (ROOT / ".test").iterdir() if (path / "expected.yaml").exists())
SNAKEMAKE = [str(ROOT / ".venv" / "bin" / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--cores", "2"]

pytestmark = pytest.mark.slow


def review_folder(case: str, tmp_path: Path) -> Path:
    folder = tmp_path / case
    shutil.copytree(ROOT / ".test" / case, folder)
    return folder


def run(folder: Path, *extra: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--directory", str(folder), *extra], capture_output=True, text=True,
                          timeout=timeout)


def tracebacks(folder: Path, result: subprocess.CompletedProcess) -> list[str]:
    texts = {"stderr": result.stderr, "stdout": result.stdout}
    texts.update({str(path): path.read_text(errors="replace") for path in (folder / "logs").rglob("*.log")})
    return [name for name, text in texts.items() if "Traceback" in text]


def raw_bytes(folder: Path) -> dict[str, bytes]:
    """The files of data/raw/ (the sheet, .csv or .xlsx, and any second coder's), which no run may write to."""
    return {path.name: path.read_bytes() for path in sorted((folder / "data" / "raw").iterdir()) if path.is_file()}


def csv_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for top in ("results", "data/processed") for path in sorted((folder / top).rglob("*.csv"))}


@pytest.fixture(scope="module")
def completed(tmp_path_factory):
    """Each case run once per worker: ``completed(case)`` is (folder, first run's result, data/raw/'s bytes).

    The byte-identical and killed-run tests compare against these runs instead of repeating them.
    """
    runs: dict[str, tuple[Path, subprocess.CompletedProcess, bytes]] = {}

    def get(case: str):
        if case not in runs:
            folder = review_folder(case, tmp_path_factory.mktemp("completed"))
            before = raw_bytes(folder)
            runs[case] = folder, run(folder), before
        return runs[case]
    return get


class ReviewFolder:
    """The tests of one review folder of ``.test/``. One class per folder, so that ``make test``
    (``pytest -n 2 --dist loadscope``) runs the folders on both workers, and the tests that reuse a
    folder's run sit on the worker that made it."""

    case = ""

    def test_runs_to_its_expected_outcome(self, completed):
        folder, result, before = completed(self.case)
        expected = (folder / "expected.yaml").read_text().split("\n", 1)
        assert raw_bytes(folder) == before, "the raw sheet was written to"
        assert not tracebacks(folder, result), f"traceback in {tracebacks(folder, result)}\n{result.stderr[-3000:]}"
        if expected[0].strip() == "report":
            assert result.returncode == 0, result.stderr[-4000:]
            assert (folder / "results" / "report.html").stat().st_size > 10_000
            again = run(folder)
            assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
        else:
            assert result.returncode != 0
            log = (folder / "logs" / "validate_sheet.log").read_text()
            for line in filter(None, (line.strip() for line in expected[1].splitlines())):
                assert line in log, f"expected problem line missing: {line}\n{log}"
            assert not (folder / "results" / "report.html").exists()


class TestOutcomeOnly(ReviewFolder):
    case = "outcome_only"

    def test_families_without_rows_are_not_analysed(self, tmp_path):
        folder = review_folder(self.case, tmp_path)
        result = run(folder, "-n")
        assert result.returncode == 0
        assert "The sheet has no dropout rows: the dropout family is not analysed." in result.stdout + result.stderr
        assert "results/dropout" not in result.stdout

    def test_families_the_config_leaves_out_are_named(self, tmp_path):
        folder = review_folder("aggregate", tmp_path)  # both families in the sheet
        result = run(folder, "-n", "--config", "families=[outcome]")
        assert result.returncode == 0, result.stderr[-3000:]
        assert ("The sheet has 5 dropout rows, but families in --config/--configfile does not include dropout: the "
                "dropout family is not analysed (add dropout to families to analyse them).") in result.stdout + result.stderr
        assert "results/dropout" not in result.stdout and "results/outcome/pooled.csv" in result.stdout


    def test_a_sheet_or_second_coder_that_does_not_exist_stops_before_any_job(self, tmp_path):
        folder = review_folder(self.case, tmp_path)
        result = run(folder, "-n", "--config", "sheet=data/raw/typo.csv", "second_coder=data/raw/coder2.xlsx")
        assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
        assert "  second_coder: data/raw/coder2.xlsx does not exist (paths are relative to the review folder" in result.stderr
        assert "  sheet: data/raw/typo.csv does not exist" in result.stderr


    def test_a_misnamed_config_file_stops_the_run_instead_of_being_ignored(self, tmp_path):
        folder = review_folder(self.case, tmp_path)
        (folder / "config" / "config.yaml").rename(folder / "config" / "config.yml")
        result = run(folder, "-n")
        assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
        assert ("No config/config.yaml in this review folder, but config/config.yml is here: the pipeline reads its "
                "settings only from config/config.yaml (nothing was run)") in result.stderr
        assert f"--configfile {folder.resolve() / 'config' / 'config.yml'};" in result.stderr
        passed = run(folder, "-n", "--configfile", str(folder / "config" / "config.yml"))
        assert passed.returncode == 0, passed.stderr[-3000:]
        assert "results/outcome/pooled.csv" in passed.stdout


class TestDefaultsOnly(ReviewFolder):
    case = "defaults_only"

    def test_default_moderators_the_sheet_lacks_are_left_out(self, completed):
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        assert ("the default moderators modality, rater have no values in the sheet and are left out"
                in result.stdout + result.stderr)
        header = (folder / "results" / "outcome" / "moderators.csv").read_text().splitlines()
        assert header[0].startswith("moderator,k,qm,") and len(header) == 1  # the header, no rows
        report = (folder / "results" / "report.html").read_text()  # the empty tables say why
        assert re.search(r'id="table-moderators">\s*<figcaption>[^<]*</figcaption>\s*<p class="muted">Not run: no '
                         r"moderator to analyse", report)


class TestTwoStudies(ReviewFolder):
    case = "two_studies"

    def test_two_runs_give_byte_identical_csvs(self, tmp_path, completed):
        first, first_result, _ = completed(self.case)
        second = review_folder(self.case, tmp_path)
        assert first_result.returncode == 0
        assert run(second).returncode == 0
        assert csv_bytes(first) and csv_bytes(first) == csv_bytes(second)

    def test_sensitivity_tables_at_two_studies_and_one(self, completed):
        """As metafor: two outcome studies give a row per study in each table (each deletion fit is the other
        study alone, tau^2 = 0, Q = 0); the one dropout study has no leave-one-out or influence rows
        (leave1out and influence stop at k = 1), one cumulative row, and the log says why."""
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        tables = {(family, name): pd.read_csv(folder / "results" / family / f"{name}.csv")
                  for family in ("outcome", "dropout") for name in ("leave_one_out", "influence", "cumulative")}
        outcome = tables["outcome", "leave_one_out"]
        assert outcome["study_id"].tolist() == ["S01", "S02"] and len(tables["outcome", "influence"]) == 2
        assert (outcome[["tau2", "q", "i2"]] == 0).all().all() and (outcome[["h2", "q_p"]] == 1).all().all()
        assert tables["outcome", "cumulative"]["k"].tolist() == [1, 2]
        assert tables["dropout", "leave_one_out"].empty and tables["dropout", "influence"].empty
        # the headers a table has with rows: the contract's columns first (back-transformed ones per metric)
        assert list(tables["dropout", "leave_one_out"].columns[:12]) == list(outcome.columns[:12]) == [
            "study_id", "estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "q_p", "statistic", "p"]
        assert list(tables["dropout", "influence"].columns) == list(tables["outcome", "influence"].columns)
        assert tables["dropout", "cumulative"]["study_id"].tolist() == ["D01"]
        logs = {family: (folder / "logs" / f"sensitivity_{family}.log").read_text()
                for family in ("outcome", "dropout")}
        assert "2 studies: each leave-one-out fit is the other study alone" in logs["outcome"]
        assert "1 study: leave-one-out and influence diagnostics need at least 2 studies" in logs["dropout"]
        for family in ("outcome", "dropout"):
            for name in ("baujat", "influence", "cumulative"):
                assert (folder / "results" / family / f"{name}.png").stat().st_size > 1000


class TestOneStudy(ReviewFolder):
    case = "one_study"

    def test_empty_tables_of_the_report_say_why(self, completed):
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        report = (folder / "results" / "report.html").read_text()
        for name, reason in (("leave_one_out", "Leave-one-out and influence diagnostics need at least two studies; "
                                               "one study in this family."),
                             ("bma", "Model averaging needs at least two studies; one study in this family."),
                             ("rve", "Robust variance estimation needs at least two studies; one study in this family.")):
            assert re.search(rf'id="table-{name}">\s*<figcaption>[^<]*</figcaption>\s*<p class="muted">'
                             rf"{re.escape(reason)}</p>", report), name

    def test_killed_run_restarts_with_the_same_command(self, tmp_path, completed):
        reference, reference_result, _ = completed(self.case)
        killed = review_folder(self.case, tmp_path)
        assert reference_result.returncode == 0
        command = [*SNAKEMAKE, "--directory", str(killed)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        deadline = time.time() + 600
        while time.time() < deadline and not list((killed / "results").rglob("pooled.csv")):
            time.sleep(0.5)
        os.killpg(process.pid, signal.SIGKILL)  # snakemake and the job it was running, mid-run
        process.wait()
        assert not (killed / "results" / "report.html").exists(), "the run finished before it could be killed"
        restarted = run(killed)
        assert restarted.returncode == 0, restarted.stderr[-4000:]
        assert "was interrupted" in restarted.stderr + restarted.stdout
        assert csv_bytes(killed).keys() == csv_bytes(reference).keys()
        assert csv_bytes(killed) == csv_bytes(reference)


class TestAggregate(ReviewFolder):
    case = "aggregate"  # both families, moderators [rater]

    def test_dry_runs_and_runs_with_nothing_to_do_leave_no_run_record(self, tmp_path, completed):
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        copy = tmp_path / "again"
        shutil.copytree(folder, copy)
        record = copy / ".snakemake" / "alliance-meta-run.json"
        assert not record.exists()  # the completed run released the folder
        for extra in (("-n",), ()):
            again = run(copy, *extra)
            output = again.stdout + again.stderr
            assert again.returncode == 0 and "Nothing to be done" in output, output[-3000:]
            assert not record.exists() and "was interrupted" not in output, extra

    def test_an_earlier_run_s_outputs_that_the_config_no_longer_makes_are_named(self, tmp_path, completed):
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        copy = tmp_path / self.case
        shutil.copytree(folder, copy)
        plan = run(copy, "-n", "--config", "families=[outcome]", "moderators=[]")
        output = plan.stdout + plan.stderr
        assert plan.returncode == 0, output[-3000:]
        assert output.count("outputs of an earlier run that this config no longer makes") == 1
        assert "  results/dropout/ (" in output and "the dropout family is not analysed (not in the config's families)" in output
        assert ("results/outcome/forest_rater (.pdf, .png, .svg), results/outcome/subgroups_rater (.pdf, .png, .svg): "
                "rater is not in the config's moderators") in output
        assert (copy / "results" / "dropout" / "pooled.csv").exists()  # named, never deleted
        asked = run(copy, "-n", "--config", "families=[outcome]", "--", "results/dropout/forest.pdf")
        assert asked.returncode != 0 and "Traceback" not in asked.stderr
        assert ("results/dropout/forest.pdf is not made with this config: the dropout family is not analysed (not in the "
                "config's families). The file there is an earlier run's") in asked.stderr
        assert "No rule to produce" not in asked.stderr
        again = run(copy, "-n")  # the config of the run: nothing to name
        assert again.returncode == 0 and "earlier run" not in again.stdout + again.stderr


class TestXlsxQuirks(ReviewFolder):
    case = "xlsx_quirks"  # an Excel sheet as reviewers write them (make_sheet.py); multilevel; log OR dropout

    def test_the_quirks_are_read_as_the_reviewer_meant(self, completed):
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        rows = pd.read_csv(folder / "data" / "processed" / "effect_sizes.csv", dtype={"study_id": str})
        outcome = rows[rows["family"] == "outcome"]
        assert outcome["study_id"].tolist() == ["A01", "A01", "A01", "A02", "A03", "A04"]  # merged cells
        assert outcome["r"].tolist() == [0.31, 0.22, 0.18, 0.40, 0.12, 0.27]  # decimal commas, text numbers
        assert outcome["rater"].tolist() == ["patient", "therapist", "observer", "patient", "patient", "patient"]
        assert rows.loc[rows["study_id"] == "A02", "year"].item() == 2004  # a date in the year column
        assert rows.loc[rows["family"] == "dropout", "study_id"].tolist() == ["B01", "B02"]

    def test_count_rows_of_double_zero_tables_only(self, completed):
        """Every dropout table is double-zero: MH, Peto and the GLMM have no information (k = 0, no estimate;
        they had k = 2), while the escalc-style rows (1/2 added) are pooled as metafor's rma does."""
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        pooled = pd.read_csv(folder / "results" / "dropout" / "pooled.csv").set_index("method")
        counts = pooled.loc[["MH", "Peto", "GLMM"]]
        assert (counts["k"] == 0).all() and counts["estimate"].isna().all()
        assert counts["note"].str.contains("every table is a double-zero table").all()
        assert pooled.loc["REML", "estimate"].notna().all()
        assert "not estimated: " in (folder / "logs" / "pool_dropout.log").read_text()


    def test_a_worksheet_the_workbook_lacks_is_not_said_to_code_no_risk_of_bias(self, tmp_path):
        """sheet_name naming no worksheet: the workflow said "The sheet has no risk-of-bias judgements", and named an
        earlier run's risk-of-bias files as no longer made for that reason, before validate_sheet stopped at the
        worksheet; it cannot know what the sheet codes."""
        folder = review_folder(self.case, tmp_path)
        (folder / "results" / "outcome").mkdir(parents=True)
        (folder / "results" / "outcome" / "rob_summary.png").write_bytes(b"an earlier run's")
        result = run(folder, "-n", "--config", "sheet_name=Coded studies")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "risk-of-bias" not in result.stdout + result.stderr
        readable = run(folder, "-n")  # the workbook's worksheet, without risk-of-bias columns: said as before
        assert "The sheet has no risk-of-bias judgements" in readable.stdout + readable.stderr


class TestDropoutCounts(ReviewFolder):
    case = "dropout_counts"  # 2x2 tables with no dropout in the stronger-alliance row, a double-zero one, ORs

    def test_separated_tables_leave_mh_and_glmm_empty_and_say_why(self, completed):
        """No table has a dropout in its stronger-alliance row: the MH and GLMM odds ratios are infinite (metafor:
        NA, and rma.glmm stops); the GLMM stopped the pooling job with a ZeroDivisionError and no report was made."""
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        pooled = pd.read_csv(folder / "results" / "dropout" / "pooled.csv").set_index("method")
        counts = pooled.loc[["MH", "Peto", "GLMM"]]
        assert (counts["k"] == 4).all()  # C01-C04: C05 is double-zero, C06 and C07 give an odds ratio only
        assert counts.loc[["MH", "GLMM"], ["estimate", "q"]].isna().all().all()
        assert counts.loc[["MH", "GLMM"], "note"].str.contains("the pooled odds ratio is infinite").all()
        assert pooled.loc["Peto", "estimate"] > 0 and (pooled.loc["REML", "k"] == 7).all()
        report = (folder / "results" / "report.html").read_text()
        assert "<i>k</i> of MH, Peto and GLMM = the 2x2 tables pooled: 5 of 7 rows had 2x2 counts" in report
        log = (folder / "logs" / "pool_dropout.log").read_text()  # a warning, not "estimate = nan"
        assert "estimate = nan" not in log and log.count("not estimated: ") >= 2


class TestHomogeneous(ReviewFolder):
    case = "homogeneous"  # every study the same effect and n: tau^2 = 0 under every estimator, equal variances

    def test_no_selection_model_stands_as_an_adjusted_estimate(self, completed):
        """One p-value for every study: the continuous models still gave estimates (beta at r = .76, power at
        r = -.20, as metafor) that the Results quoted as a range of bias-adjusted effects."""
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        for family in ("outcome", "dropout"):
            pooled = pd.read_csv(folder / "results" / family / "pooled.csv")
            assert (pooled["tau2"] == 0).all()
            models = pd.read_csv(folder / "results" / family / "selection_models.csv")
            fitted = models[models["estimate"].notna()]
            assert len(fitted) and fitted["note"].str.contains("poorly identified: every study has the same").all()
        assert "No selection model gave a usable estimate" in (folder / "results" / "report.html").read_text()


class TestManyLevels(ReviewFolder):
    case = "many_levels"  # 11 measures named with numbers, several with one study; year as a slope

    def test_levels_named_with_numbers_are_listed_as_a_reader_counts(self, completed):
        folder, result, _ = completed(self.case)
        assert result.returncode == 0, result.stderr[-4000:]
        subgroups = pd.read_csv(folder / "results" / "outcome" / "subgroups.csv")
        assert subgroups["level"].tolist() == [f"Measure {i}" for i in range(1, 12)]


# every other folder of .test/: a class of its own
for _case in sorted(set(CASES) - {"outcome_only", "defaults_only", "two_studies", "one_study", "aggregate",
                                  "xlsx_quirks", "dropout_counts", "homogeneous",
                                  "many_levels"}):
    _name = "Test" + "".join(part.title() for part in _case.split("_"))
    globals()[_name] = type(_name, (ReviewFolder,), {"case": _case})


def test_every_folder_of_the_corpus_has_its_class():
    classes = {cls.case for cls in ReviewFolder.__subclasses__()}
    assert classes == set(CASES)


def test_a_second_run_in_a_busy_folder_is_refused(tmp_path):
    folder = review_folder("one_study", tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        # a live process recorded as holding the folder (as a running snakemake would be)
        (folder / ".snakemake").mkdir()
        (folder / ".snakemake" / "alliance-meta-run.json").write_text(
            '{"pid": %d, "host": "%s"}' % (sleeper.pid, os.uname().nodename))
        result = run(folder)
    finally:
        sleeper.kill()
    assert result.returncode != 0
    assert "Another run" in result.stderr and "is working in this folder" in result.stderr
    assert "Traceback" not in result.stderr
