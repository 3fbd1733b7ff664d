"""alliance_meta.inputs.config_check: every problem of the config at once, with the full
key path and a did-you-mean; an empty config file means all defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alliance_meta.inputs.config_check import (
    ConfigFileError,
    check_config,
    dotted,
    fill_defaults,
    format_config_problems,
    load_config_file,
    merge_overrides,
    misnamed_config_files,
    misnamed_config_message,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_the_shipped_config_and_the_empty_config_have_no_problems():
    assert check_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), SCHEMA) == []
    assert check_config({}, SCHEMA) == []
    assert check_config(fill_defaults({}, SCHEMA), SCHEMA) == []


@pytest.mark.parametrize(("config", "expected"), [
    ({"bayes": {"draw": 4000}}, "bayes.draw: unknown key; did you mean bayes.draws?"),
    ({"bayes": {"prior": {"mu_sdd": 2}}}, "bayes.prior.mu_sdd: unknown key; did you mean bayes.prior.mu_sd?"),
    ({"bayes": {"prior": {"tau": {"famly": "half_cauchy"}}}},
     "bayes.prior.tau.famly: unknown key; did you mean bayes.prior.tau.family?"),
    ({"bayes": {"retry": {"draw_factor": 3}}},
     "bayes.retry.draw_factor: unknown key; did you mean bayes.retry.draws_factor?"),
    ({"bayes": {"diagnostics": {"rhat_max": 1.05}}},
     "bayes.diagnostics.rhat_max: unknown key; did you mean bayes.diagnostics.r_hat_max?"),
    ({"bayes": {"sensitivity_priors": ["rhodes2015_general", {"family": "half_normal", "scal": 0.2}]}},
     "bayes.sensitivity_priors[1].scal: unknown key; did you mean bayes.sensitivity_priors[1].scale?"),
    ({"multiverse": {"priors": [{"family": "log_t", "mu": -3.0}]}},
     "multiverse.priors[0]: needs the key sigma (a log_t prior)"),
    ({"moderator": ["rater"]}, "moderator: unknown key; did you mean moderators?"),
    ({"zzz": 1}, "zzz: unknown key; allowed keys: sheet, sheet_name, decimal, second_coder, families,"),
    ({"pooling": {"main_method": "reml"}}, "pooling.main_method: 'reml' is not one of common, DL,"),
    ({"pooling": {"methods": ["REML", "MH"]}},  # a dropout reviewer asking for Mantel-Haenszel
     "pooling.methods[1]: 'MH' is not one of common, DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM, GENQ; MH, Peto "
     "and GLMM are not set here: under metric.dropout: log_or pooled.csv gets their rows from the dropout rows with "
     "2x2 counts"),
    ({"pooling": {"main_method": "DL", "methods": ["common", "REML"]}},
     "pooling.main_method: DL is not among pooling.methods (common, REML); add it there or choose one of them"),
    ({"pooling": {"methods": ["DL", "PM"]}},  # the default main method REML is not fitted
     "pooling.main_method: REML is not among pooling.methods (DL, PM)"),
    ({"reference_levels": {"modalty": "CBT"}},
     ("reference_levels.modalty: not a categorical moderator (moderators, or a variable of meta_regression or "
      "location_scale not in continuous_moderators); did you mean reference_levels.modality?")),
    ({"decimal": ";"}, "decimal: ';' is not one of auto, '.', ','"),
    ({"sheet_name": 2}, "sheet_name: 2 is not a string or null"),
    ({"pooling": "REML"}, "pooling: 'REML' is not a mapping of keys"),
    # a key of one value per family written as one value: which families take it, in the mapping to write
    ({"metric": "log_or"}, "metric: 'log_or' is not a mapping of keys; it takes a value per family: write "
                           "{dropout: log_or}"),
    ({"grade": {"imprecision_width": 0.3}}, "grade.imprecision_width: 0.3 is not a mapping of keys; it takes a value "
                                            "per family: write {outcome: 0.3, dropout: 0.3}"),
    ({"risk_of_bias": {"tool": "custom"}}, "risk_of_bias.domains: the custom tool needs its domains"),
    ({"pooling": {"level": 0.95}}, "pooling.level: 0.95 is read in percent (a 0.95% interval): write 95"),
    ({"pooling": {"level": 10}},  # as am.fit refuses it: a job of the run would stop on it
     "pooling.level: 10 would give a 10% interval; write the level in percent (e.g. 95): levels below 50 are refused"),
    ({"psychometric": {"credibility_level": 0.8}},
     "psychometric.credibility_level: 0.8 is read in percent (a 0.8% interval): write 80"),
    ({"psychometric": {"reliability": {"WAI-SR": 0.91, "calpass": 0.85}}},  # WAI-SR is a synonym of WAI
     "psychometric.reliability.calpass: not a value of the measure column; did you mean CALPAS? measures: WAI,"),
    ({"psychometric": {"reliability": {"WAI": 0.93, "WAI-SR": 0.85}}},
     "psychometric.reliability: WAI and WAI-SR name the same measure (WAI); keep one"),
    ({"families": ["dropout"], "metric": {"dropout": "log_or"}, "plots": {"xlim": [-1, 1.5]}},
     "plots.xlim [-1, 1.5]: the dropout family is shown as odds ratios, whose axis needs limits above 0"),
    ({"plots": {"xlim": [0.1, 3]}},  # the outcome family (Fisher z) is drawn as r
     "plots.xlim [0.1, 3]: the outcome family is shown as correlations, whose axis needs limits within [-1, 1]"),
    ({"plots": {"xlim": [0.5, -0.5]}}, "plots.xlim [0.5, -0.5]: needs two finite limits, the lower first"),
    ({"moderators": ["rater"], "reference_levels": {"rater": "client"}},  # the rows hold "patient"
     "reference_levels.rater: 'client' is not a level of rater; write patient (the codebook's spelling"),
    ({"bias": {"selection": {"steps": [1]}}},  # fitted the random-effects model with an LRT p of nan
     "bias.selection.steps [1]: no p-value cut-point below 1, so the step function has one interval"),
    ({"continuous_moderators": ["mean age", "mean_age"]},  # both drawn to bubble_mean_age.png (planning.file_part)
     "continuous_moderators: 'mean age' and 'mean_age' name the same figure files "
     "(results/<family>/bubble_mean_age.png); rename one of the sheet columns"),
    ({"moderators": ["Dose", "dose"]},  # forest_Dose.png and forest_dose.png: one file where case is ignored
     "moderators: 'Dose' and 'dose' name figure files that differ only in case (forest_Dose.png, forest_dose.png), "
     "the same file on Windows and macOS; rename one of the sheet columns"),
    ({"moderators": ["%"]}, "moderators: '%' cannot name the figure files of the moderator (no letter or digit)"),
    ({"plots": {"columns": ["rater", "measure"], "column_labels": {"ratr": "Rater", "measure": "Measure"}}},
     "plots.column_labels.ratr: not a column of plots.columns (rater, measure), so its header would not be used; "
     "did you mean plots.column_labels.rater?"),
    ({"moderators": None}, "moderators: is empty; write [] for none, or the values as a list: [a, b]"),
    ({"families": "outcome"}, "families: 'outcome' is not a list; write it as a list: [outcome]"),
    ({"bayes": {"thresholds": 0.1}}, "bayes.thresholds: 0.1 is not a list; write it as a list: [0.1]"),
    ({"moderators": ["rater", "year"], "continuous_moderators": ["year"]},  # analysed as a slope, plotted as levels
     "moderators and continuous_moderators both list year: keep it in one, continuous_moderators to enter its "
     "values as a slope, moderators to compare them as levels"),
])
def test_one_problem(config, expected):
    problems = check_config(config, SCHEMA)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_every_problem_at_once_in_key_order():
    config = {"bayes": {"draw": 4000, "prior": {"mu_sdd": 2}}, "pooling": {"main_method": "XX"},
              "aggregate_rho": 2, "plots": {"width": "7in"}, "reference_levels": {"setting": "inpatient"},
              "meta_regression": ["setting + year"], "continuous_moderators": ["year"]}
    problems = check_config(config, SCHEMA)
    assert [problem.split(":")[0] for problem in problems] == [
        "aggregate_rho", "bayes.draw", "bayes.prior.mu_sdd", "plots.width", "pooling.main_method"]
    assert "reference_levels.setting" not in str(problems)  # a categorical variable of a formula
    message = format_config_problems(problems, "config/config.yaml")
    assert message.splitlines()[0].startswith("config/config.yaml: 5 problems")
    assert "  bayes.draw: unknown key; did you mean bayes.draws?" in message.splitlines()


@pytest.mark.parametrize(("config", "key"), [
    ({"meta_regression": ["modality + rater", "rater +"]}, "meta_regression[1]"),  # was the first job's problem
    ({"meta_regression": ["rater * "]}, "meta_regression[0]"),
    ({"location_scale": ["rater +"]}, "location_scale[0]"),  # was a traceback of the location_scale job
    ({"location_scale": [{"location": "modality", "scale": "(rater"}]}, "location_scale[0].scale"),
])
def test_a_formula_that_cannot_be_read_is_a_config_problem(config, key):
    problems = check_config(config, SCHEMA)
    assert len(problems) == 1 and problems[0].startswith(f"{key}: cannot read the formula "), problems
    assert problems[0].endswith('joins sheet columns with + (main effects), : (interaction) or * (both), '
                                'e.g. "modality + rater"')


def test_reference_levels_of_a_location_scale_moderator_are_accepted():
    for model in ("format", {"location": "1", "scale": "format"}):
        assert check_config({"location_scale": [model], "reference_levels": {"format": "group"}}, SCHEMA) == []


def test_a_label_of_a_column_not_shown_and_unlike_the_shown_ones_is_accepted():
    """A reviewer who takes a column out of plots.columns may leave its header in plots.column_labels."""
    assert check_config({"plots": {"columns": ["rater"], "column_labels": {"rater": "Rater", "timing": "Timing"}}},
                        SCHEMA) == []


def test_main_method_in_the_configured_methods_is_accepted():
    assert check_config({"pooling": {"methods": ["common", "DL"], "main_method": "DL"}}, SCHEMA) == []


def test_xlim_on_every_family_s_display_scale():
    """One xlim serves the forest plots of every family: each family's scale is checked, each
    refusal a line of its own; a range valid on every scale, or an smd family, passes."""
    config = {"metric": {"dropout": "log_or"}, "plots": {"xlim": [-1, 1.5]}}
    assert check_config(config, SCHEMA) == [
        "plots.xlim [-1, 1.5]: the dropout family is shown as odds ratios, whose axis needs limits above 0",
        "plots.xlim [-1, 1.5]: the outcome family is shown as correlations, whose axis needs limits within [-1, 1]"]
    assert check_config({"metric": {"dropout": "log_or"}, "plots": {"xlim": [0.2, 1]}}, SCHEMA) == []
    assert check_config({"families": ["dropout"], "plots": {"xlim": [-1, 1.5]}}, SCHEMA) == []  # smd
    assert check_config({"families": ["dropout"], "metric": {"dropout": "log_or"}, "plots": {"xlim": [0.5, 4]}},
                        SCHEMA) == []


def test_the_config_is_not_changed():
    config = {"pooling": {"methods": ["DL"]}, "bayes": {"draw": 1}}
    check_config(config, SCHEMA)
    assert config == {"pooling": {"methods": ["DL"]}, "bayes": {"draw": 1}}


def test_dotted_paths():
    assert dotted(["bayes", "sensitivity_priors", 2, "famly"]) == "bayes.sensitivity_priors[2].famly"
    assert dotted([]) == "the config"


@pytest.mark.parametrize("text", ["", "\n\n", "# all defaults\n# sheet: data/raw/studies.csv\n", "---\n", "\ufeff# bom\n"])
def test_an_empty_or_comment_only_file_means_all_defaults(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_config_file(path) == {}


def test_a_file_that_is_not_a_mapping_or_not_yaml(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("- sheet\n- families\n")
    with pytest.raises(ConfigFileError, match="must hold keys at the top level"):
        load_config_file(path)
    path.write_text("bayes:\n  draws: [1000\n")
    with pytest.raises(ConfigFileError, match=r"not valid YAML \(line 3"):
        load_config_file(path)


def test_overrides_win_and_merge_key_by_key():
    written = {"pooling": {"methods": ["DL", "REML"], "main_method": "DL"}, "dependence": "aggregate"}
    merged = merge_overrides(written, {"pooling": {"main_method": "REML"}, "dependence": "multilevel"})
    assert merged == {"pooling": {"methods": ["DL", "REML"], "main_method": "REML"}, "dependence": "multilevel"}
    assert written["pooling"]["main_method"] == "DL"


def test_the_same_settings_in_another_key_order_are_one_config():
    from alliance_meta.inputs.config_check import canonical_order

    written = {"metric": {"dropout": "smd", "outcome": "z"}, "moderators": ["rater", "modality"],
               "psychometric": {"reliability": {"CALPAS": 0.85, "WAI": 0.9}},
               "bayes": {"seed": 7, "prior": {"tau": {"scale": 0.5, "family": "half_normal"}, "mu_sd": 1.0}}}
    reordered = {"bayes": {"prior": {"mu_sd": 1.0, "tau": {"family": "half_normal", "scale": 0.5}}, "seed": 7},
                 "psychometric": {"reliability": {"CALPAS": 0.85, "WAI": 0.9}}, "moderators": ["rater", "modality"],
                 "metric": {"outcome": "z", "dropout": "smd"}}
    one, two = canonical_order(written, SCHEMA), canonical_order(reordered, SCHEMA)
    assert repr(one) == repr(two)  # Snakemake compares a rule's params as written
    assert list(one) == ["moderators", "metric", "bayes", "psychometric"]  # the schema's order
    assert list(one["metric"]) == ["outcome", "dropout"] and one["moderators"] == ["rater", "modality"]  # lists kept
    prisma = {"prisma": {"excluded_reasons": {"wrong population": 40, "no alliance measure": 25, "review": 3},
                         "databases": {"PsycINFO": 900, "MEDLINE": 700}}}
    kept = canonical_order(prisma, SCHEMA)["prisma"]  # keys the schema does not list keep the reviewer's order
    assert list(kept["excluded_reasons"]) == ["wrong population", "no alliance measure", "review"]
    assert list(kept["databases"]) == ["PsycINFO", "MEDLINE"]


def test_nested_command_line_values_get_the_schema_s_types():
    from snakemake.cli import parse_config

    from alliance_meta.inputs.config_check import typed_overrides

    overrides = parse_config(["bayes={draws: 500, chains: 2}", "bias={selection: {steps: [0.025, 0.5]}}",
                              "pooling={level: 90}", "reference_levels={rater: therapist}", "plots={tiff: true}"])
    assert overrides["bayes"]["draws"] == "500"  # Snakemake reads nested values as text
    typed = typed_overrides(overrides, SCHEMA)
    assert typed == {"bayes": {"draws": 500, "chains": 2}, "bias": {"selection": {"steps": [0.025, 0.5]}},
                     "pooling": {"level": 90}, "reference_levels": {"rater": "therapist"}, "plots": {"tiff": True}}
    assert check_config(typed, SCHEMA) == []
    assert check_config(typed_overrides(parse_config(["bayes={draws: many}"]), SCHEMA), SCHEMA) == [
        "bayes.draws: 'many' is not an integer"]
    # through $ref and anyOf, and null
    deeper = typed_overrides(parse_config(["prisma={duplicates_removed: 3}", "psychometric={outcome_reliability: null}",
                                           "bayes={sensitivity_priors: [{family: half_normal, scale: 0.3}]}"]), SCHEMA)
    assert deeper == {"prisma": {"duplicates_removed": 3}, "psychometric": {"outcome_reliability": None},
                      "bayes": {"sensitivity_priors": [{"family": "half_normal", "scale": 0.3}]}}


def test_a_config_problem_names_the_schema_by_a_path_that_exists_outside_the_checkout(tmp_path, monkeypatch):
    """A review folder has no workflow/ of its own: the message gives the schema's full path."""
    from alliance_meta.inputs.config_check import format_config_problems

    monkeypatch.chdir(tmp_path)
    message = format_config_problems(["pooling.method: 'REMLL' is not one of ..."])
    path = message.split("keys and values: ")[1].split(";")[0]
    assert Path(path).is_absolute() and Path(path).is_file() and path.endswith("config.schema.yaml")


@pytest.mark.parametrize("names, expected", [
    (["config/config.yml"], ["config/config.yml"]),
    (["config.yaml"], ["config.yaml"]),  # beside config/, not in it
    (["Config/config.yaml"], ["Config/config.yaml"]),
    (["config/config.yaml.txt", "config/Config (1).YAML", "config/README.md", "config/my_settings.yaml",
      "config/config_notes.txt"], ["config/Config (1).YAML", "config/config.yaml.txt"]),
    (["data/raw/config.yml", "notes.yaml"], []),
])
def test_config_files_that_would_be_ignored_are_found(tmp_path, names, expected):
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("moderators: [rater]\n")
    assert misnamed_config_files(tmp_path) == expected


def test_the_message_says_which_file_is_read_and_how_to_pass_another(tmp_path):
    message = misnamed_config_message(["config/config.yml"], tmp_path)
    assert message.startswith("No config/config.yaml in this review folder, but config/config.yml is here")
    assert f"--configfile {tmp_path.resolve() / 'config' / 'config.yml'};" in message and "nothing was run" in message


# --- A reviewer editing config.yaml by hand -----------------------------------------------------------------------


def test_a_key_written_twice_is_a_problem_not_a_silent_last_value(tmp_path):
    """YAML keeps the last of two equal keys: a `moderators:` line added at the bottom replaced the one above."""
    path = tmp_path / "config.yaml"
    path.write_text("moderators: [rater]\npooling:\n  methods: [REML]\n  methods: [DL, REML]\nmoderators: [modality]\n"
                    "bayes: {draws: 500}\n")
    expected = ["moderators: written twice in one block (lines 1 and 5); YAML reads only the last: keep one",
                "pooling.methods: written twice in one block (lines 3 and 4); YAML reads only the last: keep one"]
    problems = []
    assert load_config_file(path, problems)["moderators"] == ["modality"] and problems == expected
    with pytest.raises(ConfigFileError) as raised:  # without a list for them
        load_config_file(path)
    assert str(raised.value).splitlines()[1:] == [f"  {line}" for line in expected]


def test_repeated_keys_of_aliases_flow_blocks_and_typed_keys():
    """A block used again through an alias is reported once, not under each alias; two keys on one line say so
    (not "lines 1 and 1"); 1 and '1' are different keys to YAML, not a repeat."""
    from alliance_meta.inputs.config_check import repeated_keys

    assert repeated_keys("a: &b\n  x: 1\n  x: 2\nb: *b\nc: *b\n") == [("a.x", "lines 2 and 3")]
    assert repeated_keys("bayes: {draws: 1, draws: 2}\n") == [("bayes.draws", "line 1 (2 times)")]
    assert repeated_keys("reference_levels:\n  1: a\n  '1': b\n") == []


def test_a_config_saved_as_utf16_or_windows_1252_is_read(tmp_path):
    """Notepad's "Unicode" is UTF-16 with a BOM, its "ANSI" Windows-1252: the sheet reads both, so does the config."""
    text = "moderators: [rater]\nprisma:\n  excluded_reasons: {Keine Allianzmessung für: 3}\n"
    for encoding in ("utf-16", "cp1252", "utf-8-sig"):
        path = tmp_path / f"{encoding}.yaml"
        path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
        assert load_config_file(path) == {"moderators": ["rater"],
                                          "prisma": {"excluded_reasons": {"Keine Allianzmessung für": 3}}}


@pytest.mark.parametrize(("text", "hint"), [
    ("pooling:\n\ttests: [z]\n", "found character '\\t' that cannot start any token; indent with spaces, not a tab"),
    ("plots:\n  font_family: Arial: bold\n", 'mapping values are not allowed here; a value holding ": " needs quotes'),
    ("moderators: [rater]\ndependence:multilevel\n", "could not find expected ':'; every line is key: value, with a "
                                                     "space after the colon"),
    ("dependence:multilevel\n", "not a str: write a space after the colon"),
    ("pooling:\n  methods: [REML]\n   tests: [z]\n", "the keys of one block start in the same column: check this "
                                                   "line's indentation"),
])
def test_yaml_slips_say_how_to_mend_them(tmp_path, text, hint):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=re.escape(hint)):
        load_config_file(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("pooling: {level: 95%}", "pooling.level: '95%' is not a number; write 95 (without %"),
    ("aggregate_rho: 50%", "aggregate_rho: '50%' is not a number; write 0.5 (a proportion, not a percentage)"),
    ("bayes:\n  draws: 4,000", "bayes.draws: '4,000' is not an integer; write 4000 (without a thousands separator)"),
    ("aggregate_rho: 0,5", "aggregate_rho: '0,5' is not a number; write 0.5 (with a decimal point)"),
    ("bayes: {draws: 1e3}", "bayes.draws: '1e3' is not an integer; write 1000 (YAML reads '1e3' as text)"),
    ("bayes: {prior: {mu_sd: 1e-7}}", "bayes.prior.mu_sd: '1e-7' is not a number; write 1.0e-07"),
    ('centre_continuous: "TRUE"', "centre_continuous: 'TRUE' is not a boolean; write true (without quotes)"),
    ("plots: {tiff: 1}", "plots.tiff: 1 is not a boolean; write true"),
    ("second_coder: no", "second_coder: False is not a string or null; for none write null, or delete the line"),
    ("prisma: false", "prisma: False is not null or a mapping of keys; for none write null, or delete the line"),
    ("sheet_name: 2019", 'sheet_name: 2019 is not a string or null; write it in quotes: "2019"'),
    ("plots:\n  study_colour: #0072B2", "plots.study_colour: None is not a string; it is empty (nothing after the "
                                       "colon, or a value starting with #, which YAML reads as a comment"),
])
def test_a_value_yaml_reads_as_another_type_says_how_to_write_it(text, expected):
    problems = check_config(yaml.safe_load(text), SCHEMA)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_whole_numbers_with_a_decimal_point_become_integers():
    """JSON Schema accepts 1000.0 as an integer; the moderators job then stopped on range(1000.0) as a bug."""
    from alliance_meta.inputs.config_check import typed_overrides

    written = {"permutations": 50.0, "aggregate_rho": 1.0, "bayes": {"draws": 500.0, "hdi_prob": 0.9},
               "plots": {"decimals": 2.0, "width": 7.0}, "psychometric": {"decimals": 3.0}, "sheet_name": "2019"}
    typed = typed_overrides(written, SCHEMA, texts=False)
    assert typed == written and check_config(typed, SCHEMA) == []
    assert [type(value) for value in (typed["permutations"], typed["bayes"]["draws"], typed["plots"]["decimals"],
                                      typed["psychometric"]["decimals"])] == [int] * 4
    assert [type(value) for value in (typed["aggregate_rho"], typed["bayes"]["hdi_prob"],
                                      typed["plots"]["width"])] == [float] * 3
    assert typed_overrides({"centre_continuous": "TRUE"}, SCHEMA, texts=False) == {"centre_continuous": "TRUE"}
    named = {"sheet_name": 2019, "plots": {"font_family": 42}, "permutations": 1}  # a worksheet named by its year
    assert typed_overrides(named, SCHEMA, texts=False) == {"sheet_name": "2019", "plots": {"font_family": "42"},
                                                          "permutations": 1}


def test_command_line_booleans_are_read_as_in_config_yaml():
    """`centre_continuous: yes` works in config.yaml (YAML 1.1); --config centre_continuous=yes was 'not a boolean'."""
    from snakemake.cli import parse_config

    from alliance_meta.inputs.config_check import typed_overrides

    typed = typed_overrides(parse_config(["centre_continuous=yes", "plots={tiff: on, rob: No}"]), SCHEMA)
    assert typed == {"centre_continuous": True, "plots": {"tiff": True, "rob": False}}


def test_a_sheet_path_from_the_home_folder(monkeypatch, tmp_path):
    from alliance_meta.inputs.planning import home_paths

    monkeypatch.setenv("HOME", str(tmp_path))
    assert home_paths({"sheet": "~/review/studies.xlsx", "second_coder": None, "moderators": ["~x"]}) == {
        "sheet": str(tmp_path / "review" / "studies.xlsx")}
    assert home_paths({"sheet": "data/raw/studies.csv", "second_coder": "~/coder2.csv"}) == {
        "second_coder": str(tmp_path / "coder2.csv")}


def test_a_sheet_that_does_not_exist_gets_a_did_you_mean(monkeypatch, tmp_path):
    from alliance_meta.inputs.planning import unusable_files

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "studies.csv").write_text("study_id,r,n\ns1,0.3,50\n")
    for written in ("data/raw/studes.csv", "data/raw/Studies.CSV", "data\\raw\\studies.csv",
                    "\u201cdata/raw/studies.csv\u201d", "data/raw/studies.csv "):
        problems = unusable_files({"sheet": written}, named=("sheet",))
        assert len(problems) == 1 and "did you mean data/raw/studies.csv?" in problems[0], problems
    assert "write / between folders" in unusable_files({"sheet": "data\\raw\\studies.csv"}, named=("sheet",))[0]
    assert "typographic quotes" in unusable_files({"sheet": "\u201cdata/raw/studies.csv\u201d"}, named=("sheet",))[0]
    assert "did you mean" not in unusable_files({"sheet": "elsewhere/sheet.csv"}, named=("sheet",))[0]


@pytest.mark.parametrize(("config", "expected"), [
    ({"pooling": {"tests": ["z", "HKSJ"]}}, "pooling.tests[1]: 'HKSJ' is not one of z, knha; did you mean knha?"),
    ({"pooling": {"methods": ["Paule-Mandel", "REML"]}},
     "pooling.methods[0]: 'Paule-Mandel' is not one of common, DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM, GENQ; "
     "did you mean PM?"),
    ({"dependence": "three-level"}, "dependence: 'three-level' is not one of aggregate, multilevel; did you mean "
                                    "multilevel?"),
    ({"metric": {"dropout": "OR"}}, "metric.dropout: 'OR' is not one of smd, log_or; did you mean log_or?"),
])
def test_other_names_of_an_allowed_value_get_a_did_you_mean(config, expected):
    assert check_config(config, SCHEMA) == [expected]


def test_a_key_without_a_space_after_its_colon():
    """--config "bayes={draws:500}": YAML reads draws:500 as one key."""
    assert check_config({"bayes": {"draws:500": None}}, SCHEMA) == [
        "bayes.draws:500: unknown key; write a space after the colon: draws: 500"]


def test_a_comma_inside_braces_is_explained():
    """YAML reads {columns: n, rater} as columns: n and a key rater without a value (on the command line: '')."""
    from snakemake.cli import parse_config

    from alliance_meta.inputs.config_check import typed_overrides

    for config in (yaml.safe_load("plots: {columns: n, rater}"),
                   typed_overrides(parse_config(["plots={columns: n, rater}"]), SCHEMA)):
        problems = check_config(config, SCHEMA)
        assert problems[1].startswith("plots.rater: unknown key; it has no value: inside { } a comma starts the next "
                                      "key, so write a list in [ ] (columns: [n, rater])"), problems


def test_a_block_whose_keys_are_all_commented_out_means_its_defaults(tmp_path):
    """`pooling:` with every line under it commented out was "None is not a mapping of keys", while an empty file
    means all defaults; `prisma:` empty stays null (no diagram) and `moderators:` empty stays a problem."""
    from alliance_meta.inputs.config_check import typed_overrides

    path = tmp_path / "config.yaml"
    path.write_text("pooling:\n#  methods: [REML]\nbayes:\n  prior:\nplots:\nprisma:\n")
    typed = typed_overrides(load_config_file(path), SCHEMA, texts=False)
    assert typed == {"pooling": {}, "bayes": {"prior": {}}, "plots": {}, "prisma": None}
    assert check_config(typed, SCHEMA) == []
    assert typed_overrides({"moderators": None}, SCHEMA, texts=False) == {"moderators": None}


@pytest.mark.parametrize(("text", "expected"), [
    ("bayes:\n  draws: 500\nchains: 2\n", "chains: unknown key; did you mean changes? (bayes.chains is a key of bayes: "
                                         "indent it under bayes:)"),
    ("pooling:\n  methods: [REML]\nmain_method: REML\n",
     "main_method: unknown key; pooling.main_method is a key of pooling: indent it under pooling:"),
    ("methods: [REML]\n",
     "methods: unknown key; methods is a key of pooling and multiverse: indent it under one of them"),
    ("bayes:\n  draws: 500\n  moderators: [rater]\n",
     "bayes.moderators: unknown key; moderators is a top-level key: write it at the start of its line, without "
     "indentation"),
    ("pooling: {method: [REML]}", "pooling.method: unknown key; did you mean pooling.methods?"),  # not multilevel's
])
def test_a_key_at_the_wrong_indentation_is_pointed_to_its_block(text, expected):
    """A key of another block, written at this level, was "chains: unknown key; did you mean changes?"."""
    assert check_config(yaml.safe_load(text), SCHEMA) == [expected]


def _edited_schema(tmp_path, old: str, new: str) -> Path:
    """A copy of the config schema with one edit, as a developer's typo makes it."""
    text = (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text()
    assert text.count(old) == 1
    path = tmp_path / "config.schema.yaml"
    path.write_text(text.replace(old, new))
    return path


ROHO = "    minimum: -1\n    maximum: 1\n    default: 0.5\n"  # aggregate_rho's bounds and default


@pytest.mark.parametrize(("edit", "message"), [
    (ROHO.replace("maximum: 1", "maximum: 1x"),
     "properties.aggregate_rho.maximum: '1x' is not of type 'number' (an edit of the config schema"),
    (ROHO.replace("default: 0.5", "default: 0,5"),
     "the default of aggregate_rho breaks its own rule: '0,5' is not of type 'number'"),
    (ROHO.replace("    maximum", "   maximum"), "not valid YAML (line "),
])
def test_a_broken_config_schema_names_its_file_and_key(tmp_path, edit, message):
    """A typo in workflow/schemas/config.schema.yaml stopped every run with a TypeError deep in jsonschema ("'>' not
    supported between instances of 'float' and 'str'") or a validation error blaming the config file."""
    from alliance_meta.inputs.config_check import SchemaError, load_schema

    path = _edited_schema(tmp_path, ROHO, edit)
    with pytest.raises(SchemaError) as raised:
        load_schema(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)
    assert load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml") == SCHEMA


def test_a_bound_that_is_no_number_is_named_when_a_config_sets_its_key(tmp_path):
    """A key without a default passes load_schema; the config that sets it met jsonschema's TypeError."""
    from alliance_meta.inputs.config_check import SchemaError

    schema = yaml.safe_load(_edited_schema(tmp_path, ROHO, ROHO.replace("    default: 0.5\n", "")
                                           .replace("maximum: 1", "maximum: 1x")).read_text())
    with pytest.raises(SchemaError, match=r"^schema.yaml: properties.aggregate_rho.maximum: '1x' is not of type"):
        check_config({"aggregate_rho": 0.3}, schema, "schema.yaml")


def test_the_api_s_option_check_names_a_broken_schema_too(tmp_path, monkeypatch):
    """am.fit(...).plot_forest(...) and the other option dicts are checked against the schema: a broken one is named."""
    from alliance_meta.inputs import options
    from alliance_meta.inputs.config_check import SchemaError

    path = _edited_schema(tmp_path, ROHO, ROHO.replace("maximum: 1", "maximum: 1x"))
    monkeypatch.setattr(options, "CONFIG_SCHEMA", path)  # another file: read again, with no cache emptied
    with pytest.raises(SchemaError, match=r"properties.aggregate_rho.maximum: '1x' is not of type 'number'"):
        options.option_problems("plots", {"sort": "effect"}, {"sort": None})


def test_a_colour_matplotlib_cannot_draw_is_a_config_problem():
    """plots.study_colour: blu passed the check, and every forest plot job then stopped with matplotlib's traceback."""
    problems = check_config({"plots": {"study_colour": "blu", "summary_colour": "#00000",
                                       "subgroup_colour": "darkorange"}}, SCHEMA)
    assert problems == [
        "plots.study_colour: 'blu' is not a colour; did you mean blue? write a colour name (blue, darkorange) or a hex "
        'code in quotes ("#0072B2")',
        "plots.summary_colour: '#00000' is not a colour; write a colour name (blue, darkorange) or a hex code in "
        'quotes ("#0072B2")']
    assert check_config({"plots": {"study_colour": "#0072B2", "summary_colour": "black"}}, SCHEMA) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("dependence: [multilevel]", ["dependence: ['multilevel'] is not a string; write it without brackets: "
                                  "multilevel"]),
    ("aggregate_rho: [0.5]", ["aggregate_rho: [0.5] is not a number; write it without brackets: 0.5"]),
])
def test_a_list_where_one_value_belongs_is_one_problem_that_says_how_to_write_it(text, expected):
    """dependence: [multilevel] was two problems of one key (not a string, and not one of its values)."""
    assert check_config(yaml.safe_load(text), SCHEMA) == expected


@pytest.mark.parametrize(("entry", "expected"), [
    ("moderators=[rater", "moderators: '[rater' is not a list; it cannot be read (expected ',' or ']', but got "
                          "'<stream end>'): check that every [ and { is closed"),
    ("plots={xlim: [0, 1}", "plots: '{xlim: [0, 1}' is not a mapping of keys; it cannot be read (expected ',' or "
                            "']', but got '}'): check that every [ and { is closed"),
    ("bayes={draws: 1000.5}", "bayes.draws: 1000.5 is not an integer"),
])
def test_command_line_values_snakemake_passes_on_as_text_get_a_true_hint(entry, expected):
    """--config 'moderators=[rater' was told to write [[rater]; bayes={draws: 1000.5} to write 1000.5."""
    from snakemake.cli import parse_config

    from alliance_meta.inputs.config_check import typed_overrides

    assert check_config(typed_overrides(parse_config([entry]), SCHEMA), SCHEMA) == [expected]


def test_a_percentage_where_a_proportion_belongs_says_the_proportion():
    """pooling.level: 0.95 says to write 95; bayes.hdi_prob: 95 only said it exceeds the maximum of 1."""
    assert check_config({"bayes": {"hdi_prob": 95}, "aggregate_rho": 1.5}, SCHEMA) == [
        "aggregate_rho: 1.5 is greater than the maximum of 1",
        "bayes.hdi_prob: 95 is greater than or equal to the maximum of 1; write 0.95 (a proportion, not a percentage)"]


def test_prediction_values_name_continuous_moderators():
    """prediction_values.rater (a categorical moderator) stopped the model_comparison job with KeyError 'k', reported
    as a bug of alliance-meta; a misspelt key (yr) was ignored without a word."""
    config = {"moderators": ["rater"], "continuous_moderators": ["year"], "meta_regression": ["rater + year"],
              "prediction_values": {"rater": [3], "yr": [2000], "year": [1990, 2010]}}
    assert check_config(config, SCHEMA) == [
        "prediction_values.rater: not a continuous moderator (its levels are each predicted); continuous moderators: "
        "year",
        "prediction_values.yr: not a continuous moderator; did you mean prediction_values.year?"]


def test_a_font_that_is_not_installed_is_a_config_problem():
    """plots.font_family: Dejavu Sanss ran, with every figure in DejaVu Sans and matplotlib's "findfont: Font family
    'Dejavu Sanss' not found." printed for each text (856 lines for one forest plot)."""
    assert check_config({"plots": {"font_family": "Dejavu Sanss"}}, SCHEMA) == [
        "plots.font_family: 'Dejavu Sanss' is not a font installed on this computer (every figure would fall back to "
        "matplotlib's default font); did you mean DejaVu Sans? write an installed font or a generic family (serif, sans-serif)"]
    assert [check_config({"plots": {"font_family": family}}, SCHEMA) for family in ("serif", "DejaVu Sans")] == [[], []]


def test_metafors_t_test_is_pointed_to_knha():
    """tests: [z, t] (metafor's test = "t") only listed z and knha, without saying that knha gives the t tests."""
    problems = check_config({"pooling": {"tests": ["z", "t"]}}, SCHEMA)
    assert problems == ["pooling.tests[1]: 't' is not one of z, knha; knha gives the t tests: Knapp-Hartung under "
                        "dependence: aggregate, rma.mv's t with k - 1 df in three-level models (metafor's test = \"t\" "
                        "of univariate models, without the Knapp-Hartung factor, is not offered)"]


def test_checking_the_default_plot_colours_and_font_imports_no_matplotlib():
    """The colour and font checks run in Snakemake's main process at every start: the defaults (hex codes, the font
    matplotlib ships) are checked without importing matplotlib, which took about 1 s of each start."""
    import subprocess
    import sys

    code = ("import sys; from alliance_meta.inputs.config_check import colour_problem, font_problem\n"
            "assert colour_problem('study_colour', '#0072B2') is None and colour_problem('summary_colour', '#000') is None\n"
            "assert font_problem('DejaVu Sans') is None and font_problem('serif') is None\n"
            "print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_hints_fit_the_key_a_correlation_a_mapping_a_spelling_of_a_generic_font():
    """aggregate_rho: 50 (a correlation, -1..1) was told to write 0.5 "a proportion"; prediction_values: [year] (a
    mapping) to write it without brackets; font_family: sans serif (matplotlib's spelling too) was not installed."""
    assert check_config({"aggregate_rho": 50}, SCHEMA) == ["aggregate_rho: 50 is greater than the maximum of 1"]
    problems = check_config({"prediction_values": ["year"]}, SCHEMA)
    assert len(problems) == 1 and "without brackets" not in problems[0]
    assert check_config({"plots": {"font_family": "sans serif"}}, SCHEMA) == []
