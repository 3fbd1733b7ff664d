"""Multiverse: enumeration of specifications, their fits, batching and the summary table."""

from __future__ import annotations

import math
import numpy as np
import pandas as pd
import pytest

from alliance_meta.analyses import multiverse

from alliance_meta.models import univariate as pooling
from alliance_meta.bayes import TauPrior, exact_posterior
from alliance_meta.bayes.summaries import exact_rows
from alliance_meta.engines.transforms import back_transform
from alliance_meta.inputs.dependence import aggregate
from alliance_meta.analyses.sensitivity.univariate import influence

CONFIG = {"moderators": ["rater"], "methods": ["DL", "REML"], "tests": ["z", "knha"],
          "aggregate_methods": ["gls", "mean"], "aggregate_rhos": [0.5, 0.8],
          "publication": ["all", "published"], "minimum_n": [0, 60],
          "priors": [{"family": "half_normal", "scale": 0.5}, "turner2015_mental_health"]}


@pytest.fixture(scope="module")
def effect_sizes() -> pd.DataFrame:
    """14 studies, some with two effect sizes; one outlying study; a rater level with one study."""
    rng = np.random.default_rng(7)
    rows = []
    for study in range(14):
        n = int(rng.integers(30, 200))
        for rater in (["patient", "therapist"] if study % 3 == 0 else ["patient"]):
            yi = rng.normal(0.3, 0.12) + (0.9 if study == 5 else 0.0)
            rows.append({"study_id": f"s{study:02d}", "yi": yi, "vi": 1 / (n - 3), "n": n, "rater": rater,
                         "published": "no" if study % 4 == 0 else "yes"})
    rows.append({"study_id": "s20", "yi": 0.2, "vi": 0.01, "n": 103, "rater": "observer", "published": "yes"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def specs(effect_sizes) -> pd.DataFrame:
    return multiverse.specifications(CONFIG, effect_sizes)


@pytest.fixture(scope="module")
def table(specs, effect_sizes) -> pd.DataFrame:
    return multiverse.run_batch(specs, effect_sizes, metric="z")


def test_choices_come_first_then_the_contract_columns(table):
    choices = ["aggregate_method", "aggregate_rho", "rater", "publication", "minimum_n", "outliers",
               "method", "test", "prior"]
    contract = ["k", "estimate", "ci_lower", "ci_upper", "p", "tau2"]
    assert list(table.columns[: len(choices) + len(contract)]) == choices + contract
    assert {"r", "r_ci_lower", "r_ci_upper"} <= set(table.columns)


def test_impossible_combinations_are_excluded(specs, effect_sizes):
    bayes = specs["method"] == "bayes"
    assert (specs.loc[bayes, "test"] == "posterior").all() and (specs.loc[bayes, "prior"] != "none").all()
    assert (specs.loc[~bayes, "test"].isin(["z", "knha"])).all() and (specs.loc[~bayes, "prior"] == "none").all()
    assert "observer" not in set(specs["rater"])  # one study: k < 2
    assert set(specs["rater"]) == {"all", "patient", "therapist"}
    assert not specs.duplicated().any()
    # therapist rows of published studies with n >= 60: fewer than 3 studies, so no outlier rules
    for (rater, publication, minimum_n), part in specs.groupby(["rater", "publication", "minimum_n"]):
        mask = multiverse.row_mask(effect_sizes, {"rater": rater, "publication": publication, "minimum_n": minimum_n})
        k = effect_sizes.loc[mask, "study_id"].nunique()
        assert k >= 2
        assert (set(part["outliers"]) == {"none"}) == (k < 3)


def test_an_empty_subset_list_means_no_subsets(effect_sizes):
    specs = multiverse.specifications({**CONFIG, "subsets": []}, effect_sizes)
    assert "rater" not in specs.columns
    assert "rater" in multiverse.specifications({**CONFIG, "subsets": None}, effect_sizes).columns


def test_subset_levels_are_listed_as_the_subgroup_tables_list_them():
    """The codebook's order (rater: patient, therapist, observer; modality: CBT, psychodynamic, humanistic;
    judgements best first), that of subgroups.csv and the subgroup forest plots, not the alphabet's (observer,
    patient, therapist), in the specifications and so in multiverse.csv, its summary and the specification curve."""
    from alliance_meta.analyses.moderators.univariate import analyse_moderator

    rng = np.random.default_rng(3)
    raters, modalities = ["therapist", "observer", "patient"], ["psychodynamic", "CBT", "humanistic"]
    rows = pd.DataFrame([{"study_id": f"s{i:02d}", "yi": rng.normal(0.3, 0.1), "vi": 0.01, "n": 100,
                          "rater": raters[i % 3], "modality": modalities[i // 3 % 3],
                          "rob_overall": ["high", "low", "moderate"][i // 9 + i % 2]} for i in range(18)])
    settings = {"methods": ["REML"], "tests": ["z"], "outliers": ["none"], "publication": ["all"], "priors": [],
                "aggregate_methods": ["gls"], "subsets": ["rater", "modality", "rob_overall"]}
    specs = multiverse.specifications(settings, rows)
    summary = multiverse.summarise(multiverse.run_batch(specs, rows, metric="z"), "z")
    for moderator, expected in (("rater", ["patient", "therapist", "observer"]),
                                ("modality", ["CBT", "psychodynamic", "humanistic"]),
                                ("rob_overall", ["low", "moderate", "high"])):
        subgroups = analyse_moderator(rows, moderator, "z", permutations=0).subgroups
        assert list(subgroups["level"]) == expected
        assert list(pd.unique(specs[moderator])) == ["all", *expected]
        assert list(summary.loc[summary["choice"] == moderator, "option"]) == ["all", *expected]


def test_the_product_has_the_expected_size(specs):
    model = 2 * 2 + 2  # (DL, REML) x (z, knha), plus two priors
    per_filter = specs.groupby(["rater", "publication", "minimum_n"])["outliers"].nunique()
    assert len(specs) == 2 * 2 * model * per_filter.sum()


def test_one_specification_equals_pooling_fit_on_its_subset(effect_sizes, table):
    chosen = table.query("rater == 'patient' and publication == 'published' and minimum_n == 60 and "
                         "aggregate_method == 'mean' and aggregate_rho == 0.8 and outliers == 'none' and "
                         "method == 'REML' and test == 'knha'").iloc[0]
    rows = effect_sizes.query("rater == 'patient' and published == 'yes' and n >= 60")
    data = aggregate(rows, "mean", 0.8)
    expected = pooling.fit(data["yi"], data["vi"], "REML", "knha")
    assert chosen["k"] == len(data) == rows["study_id"].nunique()
    for name in ("estimate", "ci_lower", "ci_upper", "p", "tau2"):
        assert chosen[name] == pytest.approx(getattr(expected, name), rel=1e-12, abs=1e-15)
    assert chosen["r"] == pytest.approx(np.tanh(expected.estimate), rel=1e-12)


def test_outlier_rule_removes_the_studies_with_large_residuals(effect_sizes, table):
    data = aggregate(effect_sizes, "gls", 0.5)
    flagged = np.abs(influence(data["yi"], data["vi"], "REML").rstudent) > 2
    assert flagged.any()
    kept = data.loc[~flagged]
    chosen = table.query("rater == 'all' and publication == 'all' and minimum_n == 0 and aggregate_method == 'gls' "
                         "and aggregate_rho == 0.5 and outliers == 'rstudent' and method == 'DL' and test == 'z'").iloc[0]
    expected = pooling.fit(kept["yi"], kept["vi"], "DL", "z")
    assert chosen["k"] == len(kept) and chosen["outliers_removed"] == flagged.sum()
    assert chosen["estimate"] == pytest.approx(expected.estimate, rel=1e-12)


def test_bayesian_specification_is_the_exact_posterior(effect_sizes, table):
    data = aggregate(effect_sizes, "gls", 0.5)
    chosen = table.query("rater == 'all' and publication == 'all' and minimum_n == 0 and aggregate_method == 'gls' "
                         "and aggregate_rho == 0.5 and outliers == 'none' and prior == 'half_normal(0.5)'").iloc[0]
    posterior = exact_posterior(data["yi"], data["vi"], TauPrior("half_normal", 0.5), 1.0)
    mu = posterior.coefficient(0)
    assert chosen["estimate"] == pytest.approx(mu.mean(), rel=1e-12)
    lower, upper = mu.quantile(np.array([0.025, 0.975]))
    assert chosen["ci_lower"] == pytest.approx(lower, abs=1e-9) and chosen["ci_upper"] == pytest.approx(upper, abs=1e-9)
    assert np.isnan(chosen["p"])
    # r as bayes.csv's r row: the posterior mean of r (exact_mean), not tanh of mu's mean; the interval's limits
    # are quantiles, so tanh of mu's are r's
    rows = exact_rows(posterior, "z", math.nan, ()).set_index("parameter")
    assert chosen["r"] == pytest.approx(rows.loc["r", "exact_mean"], rel=1e-12)
    assert abs(chosen["r"] - np.tanh(mu.mean())) > 1e-5
    assert [chosen["r_ci_lower"], chosen["r_ci_upper"]] == pytest.approx(
        rows.loc["r", ["exact_eti_lower", "exact_eti_upper"]].to_numpy(float), rel=1e-9)


def test_the_curve_draws_the_r_column(table):
    """The specification curve of a Fisher-z family draws multiverse.csv's r and its interval (a Bayesian
    specification's posterior mean of r), not tanh of the estimate (tanh of mu's posterior mean)."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.multiverse import specification_curve

    fitted = table.dropna(subset=["estimate"])
    bayesian = (fitted["method"] == "bayes").to_numpy()
    assert bayesian.any() and not np.allclose(fitted["r"][bayesian], np.tanh(fitted["estimate"][bayesian]), rtol=1e-6)
    figure = specification_curve(table, "z", 95, {})
    dots = figure.axes[0].collections[1].get_offsets()[:, 1]
    np.testing.assert_array_equal(dots, np.sort(fitted["r"].to_numpy(float), kind="stable"))
    segments = figure.axes[0].collections[0].get_segments()
    assert sorted(segment[0, 1] for segment in segments) == sorted(fitted["r_ci_lower"])
    plt.close(figure)


def test_the_curve_names_its_intervals_in_words(table, tmp_path):
    """The y axis said "r (95% CI or CrI)", CrI defined nowhere in the figure (a figure stands alone: APA 2020,
    sec. 7.26); a multiverse without Bayesian specifications has no credible interval to name."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.multiverse import specification_curve

    figure = specification_curve(table, "z", 95, {})
    assert figure.axes[0].get_ylabel() == "Correlation $r$\n(95% confidence or\ncredible interval)"
    figure.savefig(tmp_path / "curve.png", dpi=100, bbox_inches="tight")
    frequentist = specification_curve(table[table["test"] != "posterior"], "z", 90, {})
    assert frequentist.axes[0].get_ylabel() == "Correlation $r$\n(90% confidence\ninterval)"
    plt.close("all")


def test_a_curve_without_a_fitted_specification_says_why_as_the_pipeline_s(table):
    """The placeholder texts of an empty specification curve were the workflow script's; am.multiverse(...).plot()
    said "No specification could be fitted (too few studies)" of a multiverse whose config lists no specification
    (six studies, multiverse.methods and priors empty). One definition now: analyses.multiverse.unplotted_reason."""
    import matplotlib.pyplot as plt

    import alliance_meta as am
    from alliance_meta.analyses.multiverse import unplotted_reason

    fit = am.fit(np.array([0.2, 0.3, 0.25, 0.4, 0.1, 0.35]), np.full(6, 0.02), metric="z")
    empty = am.multiverse(fit, {"methods": [], "priors": []})
    figure = empty.plot(note="")
    assert [text.get_text() for axis in figure.axes for text in axis.texts] == [
        unplotted_reason(empty.table, api=True)] == [  # the API's words: there is no config for a notebook user
        "No specification (see the settings' methods, tests, priors, aggregate_methods and minimum_k)"]
    assert unplotted_reason(empty.table) == (
        "No specification (see multiverse.methods, tests, priors, aggregate_methods and minimum_k)")
    unfitted = table.assign(estimate=np.nan)
    assert unplotted_reason(unfitted) == "No specification could be fitted (too few studies)"
    assert unplotted_reason(table) == ""
    plt.close("all")


def test_the_curve_takes_its_columns_from_the_display_scale_and_the_back_transforms(table):
    """The curve's columns came from a table of its own ({"z": "r", "log_or": "or"}) beside SCALES' symbol and
    back_transform's keys; an SMD family looked for "None", "None_ci_lower" and "None_ci_upper" and drew g only as
    no such column exists. displayed_prefix says there is none: g is drawn though the table has r and or."""
    import matplotlib.pyplot as plt

    from alliance_meta.engines.transforms import OddsRatioD
    from alliance_meta.plots.multiverse import specification_curve
    from alliance_meta.plots.style import displayed_prefix

    assert [displayed_prefix(metric) for metric in ("z", "log_or", "smd", OddsRatioD(), None, "r")] == [
        "r", "or", None, None, None, None]
    figure = specification_curve(table.assign(**{"or": 1.0, "or_ci_lower": 0.5, "or_ci_upper": 2.0}), "smd", 95, {})
    dots = figure.axes[0].collections[1].get_offsets()[:, 1]
    np.testing.assert_array_equal(dots, np.sort(table["estimate"].dropna().to_numpy(float), kind="stable"))
    plt.close(figure)


@pytest.mark.parametrize("metric", ["smd", "log_or"])
def test_a_bayesian_specification_s_odds_ratio_is_the_one_bayes_csv_reports(effect_sizes, specs, metric):
    """The OR of a Bayesian specification: a log-OR family's posterior median (bayes.csv's exact_median, what the
    Results, the table and the forest plot give), an SMD family's posterior mean (exact_mean); it was exp of mu's
    mean. r is the posterior mean of r (exact_mean) on both."""
    chosen = specs.query("rater == 'all' and publication == 'all' and minimum_n == 0 and aggregate_method == 'gls' "
                         "and aggregate_rho == 0.5 and outliers == 'none' and prior == 'half_normal(0.5)'")
    row = multiverse.run_batch(chosen, effect_sizes, metric=metric).iloc[0]
    data = aggregate(effect_sizes, "gls", 0.5)
    posterior = exact_posterior(data["yi"], data["vi"], TauPrior("half_normal", 0.5), 1.0)
    rows = exact_rows(posterior, metric, math.nan, ()).set_index("parameter")
    assert row["or"] == pytest.approx(rows.loc["or", "exact_median" if metric == "log_or" else "exact_mean"], rel=1e-9)
    assert row["r"] == pytest.approx(rows.loc["r", "exact_mean"], rel=1e-12)
    assert [row["or_ci_lower"], row["or_ci_upper"]] == pytest.approx(
        rows.loc["or", ["exact_eti_lower", "exact_eti_upper"]].to_numpy(float), rel=1e-9)
    assert abs(row["or"] - float(back_transform(row["estimate"], metric)["or"])) > 1e-4  # not the OR of mu's mean


def test_batches_give_the_same_table_as_one_batch(specs, effect_sizes, table):
    size = 37
    parts = [multiverse.run_batch(specs.iloc[multiverse.batch_slice(len(specs), size, b)], effect_sizes, metric="z")
             for b in range(multiverse.batch_count(len(specs), size))]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), table)


def test_specifications_with_the_same_inputs_are_fitted_once_each_as_if_alone(effect_sizes, monkeypatch):
    """A batch fits each distinct input once (issue #21): the patient ratings are one per study, so the aggregations
    give mostly the same composites (the same bytes), and an outlier rule that removes no study, or the same studies
    as another, the same data. Every specification's row is still bit for bit the one it gets fitted alone."""
    config = {**CONFIG, "aggregate_methods": ["gls", "mean", "multilevel"], "minimum_n": [0], "publication": ["all"]}
    specs = multiverse.specifications(config, effect_sizes)
    specs = specs.loc[specs["rater"] == "patient"].reset_index(drop=True)
    alone = pd.concat([multiverse.run_batch(specs.iloc[[i]], effect_sizes, metric="z") for i in range(len(specs))],
                      ignore_index=True)
    calls = {"fit_specification": [], "fit_three_level": [], "influence": []}
    for name, inputs in (("fit_specification", 5), ("fit_three_level", 6), ("influence", 3)):
        def counted(*args, _function=getattr(multiverse, name), _calls=calls[name], _inputs=inputs, **kwargs):
            _calls.append(tuple(a.tobytes() if isinstance(a, np.ndarray) else a for a in args[:_inputs]))
            return _function(*args, **kwargs)
        monkeypatch.setattr(multiverse, name, counted)
    table = multiverse.run_batch(specs, effect_sizes, metric="z")
    pd.testing.assert_frame_equal(table, alone, check_exact=True)
    for name, made in calls.items():
        assert made and len(made) == len(set(made)), name  # each distinct input once
    three_level = specs["aggregate_method"] == "multilevel"
    assert len(calls["fit_specification"]) <= (~three_level).sum() / 2
    assert len(calls["fit_three_level"]) < three_level.sum()
    data_sets = specs[multiverse.data_columns(specs)].drop(columns="outliers").drop_duplicates()
    assert len(calls["influence"]) < len(data_sets)


def test_progress_is_reported(specs, effect_sizes):
    calls = []
    multiverse.run_batch(specs.iloc[:25], effect_sizes, progress=lambda done, total: calls.append(done),
                         progress_every=10)
    assert calls == [10, 20, 25]


def test_prior_labels_read_back():
    for spec in ({"family": "half_cauchy", "scale": 0.25}, {"family": "log_normal", "mu": -3.0, "sigma": 1.5},
                 "rhodes2015_mental_health"):
        prior = multiverse.parse_prior(multiverse.prior_label(spec), "z")
        assert prior == TauPrior.from_config(spec, "z")


def test_summary_counts_and_shares(table):
    summary = multiverse.summarise(table, "z")
    overall = summary.iloc[0]
    assert (overall["choice"], overall["specifications"]) == ("all", len(table))
    fitted = table.loc[table["estimate"].notna()]
    assert overall["fitted"] == len(fitted) < len(table)  # small subsets lose studies to the outlier rules
    assert overall["share_significant"] == pytest.approx(fitted["significant"].mean())
    assert overall["median_r"] == pytest.approx(fitted["r"].median())
    methods = summary.loc[summary["choice"] == "method"]
    assert methods["specifications"].sum() == len(table)


def test_specification_curve_is_drawn(table, tmp_path):
    from alliance_meta.plots.multiverse import main_specification, specification_curve
    from alliance_meta.plots.style import save_figure

    main = {"aggregate_method": "gls", "aggregate_rho": 0.5, "method": "REML"}
    assert main_specification(table, main).sum() == 1
    save_figure(specification_curve(table, "z", 95, main), [tmp_path / "curve.png", tmp_path / "curve.pdf"])
    assert (tmp_path / "curve.png").stat().st_size > 10_000 and (tmp_path / "curve.pdf").stat().st_size > 0


def test_the_assumed_rho_reads_as_the_methods_write_it(table):
    """The specification curve's rows read "Assumed ρ: 0.5" beside the Methods' "a correlation of .50" (APA)."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.multiverse import specification_curve

    figure = specification_curve(table, "z", 95, {})
    labels = {label.get_text() for axis in figure.axes for label in axis.get_yticklabels()}
    rhos = sorted(text for text in labels if text.startswith("Assumed"))
    assert rhos == ["Assumed \u03c1: .50", "Assumed \u03c1: .80"]
    plt.close(figure)


def test_a_small_multiverse_is_drawn_visibly_with_whole_ranks(table):
    """Four specifications were drawn as for thousands (faint hairlines, 2-point dots), under ticks 0, 1, 2, 2, 2,
    3, ... (ranks 0.5 apart rounded)."""
    from alliance_meta.plots.multiverse import specification_curve

    def marks(figure):
        lines = figure.axes[0].collections[0]
        return lines.get_alpha(), float(lines.get_linewidths()[0])

    small = specification_curve(table.dropna(subset=["estimate"]).iloc[:4], "z", 95, {})
    assert marks(small) == (pytest.approx(0.8), pytest.approx(1.5))
    assert all(float(tick).is_integer() for tick in small.axes[1].get_xticks())
    assert marks(specification_curve(pd.concat([table] * (500 // len(table) + 1)), "z", 95, {})) == (0.18, 0.5)
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("metric", ["z", "log_or"])
def test_the_median_in_the_legend_is_that_of_the_line_on_the_readers_scale(table, metric):
    """The legend's median is the dotted line's value (r, OR), which the summary's median_r also gives; it
    said the median Fisher z (.31 where r = .30) and, for odds ratios, the median log OR."""
    from alliance_meta.plots.multiverse import specification_curve
    from alliance_meta.plots.style import SCALES, format_number

    figure = specification_curve(table, metric, 95, {})
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    fitted = table.dropna(subset=["estimate"])
    # the r column (a Bayesian specification's posterior mean of r); this table has no odds ratios: exp(estimate)
    median = float(np.median(fitted["r"] if metric == "z" else SCALES[metric].to_display(fitted["estimate"])))
    assert f"Median = {format_number(median, metric)}" in legend
    if metric == "z":
        assert median == pytest.approx(multiverse.summarise(table, "z").iloc[0]["median_r"])
    assert figure.axes[0].lines[-1].get_ydata()[0] == pytest.approx(median)


def test_rows_converted_from_beta_are_a_choice_only_where_there_are_some(effect_sizes):
    kinds = np.where(np.arange(len(effect_sizes)) % 5 == 0, "beta", "r")
    with_beta = effect_sizes.assign(input_kind=kinds)
    config = {**CONFIG, "priors": [], "beta_rows": ["include", "exclude"]}
    specs = multiverse.specifications(config, with_beta)
    assert set(specs["beta_rows"]) == {"include", "exclude"}
    assert multiverse.data_columns(specs).index("beta_rows") == multiverse.data_columns(specs).index("minimum_n") + 1
    mask = multiverse.row_mask(with_beta, {"beta_rows": "exclude"})
    assert mask.sum() == (kinds != "beta").sum() and not (with_beta.loc[mask, "input_kind"] == "beta").any()
    assert multiverse.row_mask(with_beta, {"beta_rows": "include"}).all()
    without = multiverse.specifications(config, effect_sizes)
    included = specs[specs["beta_rows"] == "include"].drop(columns="beta_rows").reset_index(drop=True)
    pd.testing.assert_frame_equal(included, without)
    assert 0 < (specs["beta_rows"] == "exclude").sum() < len(without)  # subsets too small without them go
    assert "beta_rows" not in multiverse.specifications(config, effect_sizes.assign(input_kind="r"))
    assert "beta_rows" not in multiverse.specifications({**config, "beta_rows": ["include"]}, with_beta)


def test_the_multilevel_choice_fits_the_three_level_model_of_the_rows_each_specification_keeps():
    import alliance_meta as am
    from alliance_meta.analyses.multiverse import specifications

    rows = am.effect_sizes(am.read_sheet("data/raw/studies.csv")).query("family == 'outcome'")
    fit = am.fit(rows, metric="z")
    settings = {"aggregate_methods": ["gls", "multilevel"], "aggregate_rhos": [0.5, 0.8], "methods": ["REML", "DL"],
                "outliers": ["none", "rstudent"], "subsets": ["rater"], "publication": ["all"]}
    specs = specifications(settings, rows)
    three = specs[specs.aggregate_method == "multilevel"]
    assert set(three.method) == {"REML"} and set(three.test) == {"z", "knha"} and set(three.prior) == {"none"}
    table = am.multiverse(fit, settings).to_frame()
    chosen = table[(table.aggregate_method == "multilevel") & (table.outliers == "none")]
    for rater, rho, test in (("all", 0.5, "knha"), ("patient", 0.8, "z")):
        row = chosen[(chosen.rater == rater) & (chosen.aggregate_rho == rho) & (chosen.test == test)].iloc[0]
        kept = rows if rater == "all" else rows[rows.rater == rater]
        reference = am.fit(kept, dependence="multilevel", rho=rho, test={"knha": "t", "z": "z"}[test], metric="z")
        assert np.allclose([row.estimate, row.ci_lower, row.ci_upper, row.tau2, row.p],
                           [reference.estimate, *reference.conf_int(), reference.tau2, reference.pvalue], rtol=1e-7)
        assert (row.k, row.k_effect_sizes) == (reference.n_studies, reference.k)
    # outliers: the studies whose composites the rstudent rule flags leave with all their rows
    gls = table[(table.aggregate_method == "gls") & (table.rater == "all") & (table.aggregate_rho == 0.5)
                & (table.outliers == "rstudent") & (table.method == "REML") & (table.test == "z")].iloc[0]
    three_level = table[(table.aggregate_method == "multilevel") & (table.rater == "all") & (table.aggregate_rho == 0.5)
                        & (table.outliers == "rstudent") & (table.test == "z")].iloc[0]
    assert three_level.outliers_removed == gls.outliers_removed > 0 and three_level.k == gls.k


def test_a_three_level_fit_is_the_marked_specification_when_the_multiverse_has_three_level_ones():
    import alliance_meta as am
    from alliance_meta.plots.multiverse import main_specification

    rows = am.effect_sizes(am.read_sheet("data/raw/studies.csv")).query("family == 'dropout'")
    three = am.fit(rows, dependence="multilevel", metric="smd")
    settings = {"methods": ["REML"], "tests": ["z"], "outliers": ["none"], "subsets": [], "publication": ["all"]}
    with_three_level = am.multiverse(three, {**settings, "aggregate_methods": ["gls", "multilevel"]})
    marked = with_three_level.to_frame()[main_specification(with_three_level.to_frame(), with_three_level.main)]
    assert marked["aggregate_method"].tolist() == ["multilevel"] and with_three_level.notes == ()
    assert math.isclose(marked["estimate"].iloc[0], three.estimate, rel_tol=1e-7)
    without = am.multiverse(three, {**settings, "aggregate_methods": ["gls"]})
    assert without.main["aggregate_method"] == "gls" and "aggregated model" in without.notes[0]


def test_the_curve_calls_a_three_level_main_specification_the_main_analysis():
    import matplotlib

    matplotlib.use("Agg")
    import alliance_meta as am
    from alliance_meta.plots.multiverse import specification_curve

    rows = am.effect_sizes(am.read_sheet("data/raw/studies.csv")).query("family == 'dropout'")
    settings = {"methods": ["REML"], "tests": ["z"], "outliers": ["none"], "subsets": [], "publication": ["all"],
                "aggregate_methods": ["gls", "multilevel"]}
    table = am.multiverse(am.fit(rows, metric="smd"), settings).to_frame()

    def legend(main):
        figure = specification_curve(table, "smd", 95, main, dependence="multilevel")
        return [text.get_text() for axis in figure.axes if axis.get_legend() for text in axis.get_legend().get_texts()]

    assert "Main analysis" in legend({"aggregate_method": "multilevel", "aggregate_rho": 0.5, "method": "REML"})
    assert "Aggregated model (the main analysis is three-level)" in legend(
        {"aggregate_method": "gls", "aggregate_rho": 0.5, "method": "REML"})



def test_the_marked_specification_has_the_headline_test(table, effect_sizes):
    """Under pooling.tests [knha] the main analysis is the Knapp-Hartung fit: the curve marks its specification
    (am.multiverse marks its fit's test, the workflow's multiverse_main the headline's), not the Wald one it
    marked whatever the test; an ad hoc fit's specification is its own (the knha specifications are ad hoc too)."""
    import alliance_meta as am
    from alliance_meta.plots.multiverse import main_specification

    main = {"aggregate_method": "gls", "aggregate_rho": 0.5, "method": "REML"}
    for test in ("z", "knha"):
        marked = table[main_specification(table, {**main, "test": test})]
        assert len(marked) == 1 and marked["test"].tolist() == [test]
    assert table[main_specification(table, main)]["test"].tolist() == ["z"]  # no test named: the Wald one
    settings = {"methods": ["REML"], "tests": ["z", "knha"], "outliers": ["none"], "subsets": [],
                "publication": ["all"], "aggregate_methods": ["gls"]}
    for test, choice in (("z", "z"), ("knha", "knha"), ("adhoc", "knha")):
        result = am.multiverse(am.fit(effect_sizes, test=test, metric="z"), settings)
        marked = result.to_frame()[main_specification(result.to_frame(), result.main)]
        assert result.main["test"] == choice and marked["test"].tolist() == [choice]


def test_the_marked_specification_of_an_ad_hoc_fit_is_that_fit():
    """Under pooling.knha_adhoc the headline (pooled.csv's knha row) is metafor's ad hoc Knapp-Hartung, but the
    multiverse's knha specifications were plain Knapp-Hartung: the marked specification's CI was not the
    headline's (demo dropout: [0.4291, 0.6210] against [0.4288, 0.6212]). They now follow the fit's variant
    (run_batch's knha_adhoc, which the workflow passes from pooling.knha_adhoc)."""
    import alliance_meta as am
    from alliance_meta.plots.multiverse import main_specification

    rows = pd.DataFrame({"study_id": [f"S{i}" for i in range(6)], "yi": [0.30, 0.31, 0.29, 0.30, 0.32, 0.28],
                         "vi": [0.01, 0.02, 0.015, 0.01, 0.02, 0.012], "family": "outcome", "metric": "z"})
    settings = {"methods": ["REML"], "tests": ["z", "knha"], "outliers": ["none"], "subsets": [],
                "publication": ["all"], "aggregate_methods": ["gls"]}
    knha, adhoc = (am.fit(rows, test=test, metric="z") for test in ("knha", "adhoc"))
    assert adhoc.conf_int()[0] < knha.conf_int()[0]  # s2w < 1: the ad hoc interval is wider
    for fit in (knha, adhoc):
        result = am.multiverse(fit, settings)
        marked = result.to_frame()[main_specification(result.to_frame(), result.main)]
        assert len(marked) == 1
        assert marked[["ci_lower", "ci_upper"]].iloc[0].tolist() == pytest.approx(list(fit.conf_int()), rel=1e-9)



def test_the_specification_curve_keeps_the_option_names_when_saved_as_it_is(table):
    """am.multiverse(fit).plot().savefig(path) cut the names of the options ("Outliers: Large residual") off at
    the left edge: they reached half an inch beyond it (the pipeline saves with bbox_inches="tight")."""
    from alliance_meta.plots.multiverse import specification_curve

    figure = specification_curve(table, "z", 95, {})
    figure.draw_without_rendering()
    box = figure.get_tightbbox()
    width, height = figure.get_size_inches()
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height


def test_legend_bars_stand_apart_from_their_text(table):
    """The interval bars of the legend (3 pt wide, projecting caps, handletextpad 0.3) touched their labels."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.multiverse import specification_curve

    figure = specification_curve(table, "z", 95, {})
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    legend = next(axis.get_legend() for axis in figure.axes if axis.get_legend())
    points = figure.dpi / 72
    for handle, text in zip(legend.legend_handles, legend.get_texts()):
        if handle.get_linestyle() != "-":
            continue
        cap = handle.get_linewidth() / 2 if handle.get_solid_capstyle() == "projecting" else 0.0
        gap = (text.get_window_extent(renderer).x0 - handle.get_window_extent(renderer).x1) / points - cap
        assert gap >= 3, (text.get_text(), gap)
    legend_box = legend.get_window_extent(renderer)
    assert legend_box.x1 <= figure.bbox.x1
    plt.close(figure)


def test_a_main_analysis_that_is_no_specification_is_named_not_marked(table):
    """pooling.main_method SJ (or aggregate_rho 0.7) with the default multiverse.methods (aggregate_rhos): no
    specification has the main analysis's choices; the legend showed the diamond of "Main analysis" all the same."""
    from alliance_meta.plots.multiverse import main_specification, missing_main_choices, specification_curve

    main = {"aggregate_method": "gls", "aggregate_rho": 0.5, "method": "REML", "test": "z"}
    assert missing_main_choices(table, main) == []
    other = {**main, "method": "SJ", "aggregate_rho": 0.7, "test": "knha"}
    assert missing_main_choices(table, other) == ["aggregate_rho 0.7 (multiverse.aggregate_rhos)",
                                                  "method SJ (multiverse.methods)"]
    assert main_specification(table, other).sum() == 0

    def texts(main_analysis):
        figure = specification_curve(table, "z", 95, main_analysis)
        return {text.get_text() for text in figure.axes[0].get_legend().get_texts()}, figure.axes[1].get_xlabel()

    legend, axis = texts(main)
    assert "Main analysis" in legend and "no specification" not in axis
    legend, axis = texts(other)
    assert "Main analysis" not in legend and axis.endswith("; no specification is the main analysis)")


def test_the_warning_under_multilevel_names_the_three_level_main_analysis(table):
    """dependence multilevel, multiverse.aggregate_methods without multilevel and pooling.main_method PM (not in
    multiverse.methods): the log said "no specification is the main analysis, which has method PM", but the main
    analysis is the three-level REML model; PM is the aggregated model's, marked in its place."""
    from alliance_meta.plots.multiverse import unmarked_warning

    main = {"aggregate_method": "gls", "aggregate_rho": 0.5, "method": "PM", "test": "z"}
    warning = unmarked_warning(table, main, "multilevel", "ML")
    assert warning.startswith("the main analysis is the three-level ML model, which is no specification (add "
                              "multilevel to multiverse.aggregate_methods for one); the aggregated model marked in "
                              "its place has method PM (multiverse.methods)")
    assert "no specification is the main analysis" not in warning
    assert unmarked_warning(table, main) == ("no specification is the main analysis, which has method PM "
                                             "(multiverse.methods): not marked")
    assert unmarked_warning(table, {**main, "method": "REML"}, "multilevel") == ""
    three_level = {**main, "aggregate_method": "multilevel"}  # a three-level specification is the main analysis
    assert unmarked_warning(table, three_level, "multilevel").startswith("no specification is the main analysis")


def test_a_choice_of_one_option_is_not_a_missing_main_choice(table):
    """A family whose studies each have one effect size keeps only the first of aggregate_rhos [0.5, 0.8] (they give
    the same data): with aggregate_rho 0.8 the log said no specification is the main analysis, which the plot marked."""
    from alliance_meta.plots.multiverse import main_specification, missing_main_choices

    one = table[table["aggregate_rho"] == table["aggregate_rho"].iloc[0]].assign(aggregate_rho=0.5)
    main = {"aggregate_method": "gls", "aggregate_rho": 0.8, "method": "REML", "test": "z"}
    assert main_specification(one, main).sum() == 1
    assert missing_main_choices(one, main) == []


def test_the_risk_of_bias_options_are_named_in_words():
    """multiverse.risk_of_bias [all, exclude_high, low_only]: the choice panel showed the config's words."""
    from alliance_meta.plots.multiverse import _option_name

    assert [_option_name("risk_of_bias", option) for option in ("all", "exclude_high", "low_only")] == [
        "all", "high risk left out", "low risk only"]


def test_the_prior_options_are_named_as_the_methods_name_them():
    """The choice panel showed the prior column's 'half_normal(0.5)' beside the Methods' 'half-normal(0.5)'."""
    from alliance_meta.plots.multiverse import _option_name

    assert [_option_name("prior", option) for option in ("half_normal(0.5)", "half_cauchy(1)", "none")] == [
        "half-normal(0.5)", "half-Cauchy(1)", "none (frequentist)"]
    assert _option_name("prior", "turner2015_mental_health") == "Turner et al. (2015)"  # a named prior by its source


def test_a_multiverse_without_methods_and_priors_says_why_it_has_no_specification():
    """multiverse {methods: [], priors: []} gave 0 specifications without a word (and a figure blaming too few
    studies); empty lists are how a review leaves the multiverse out (there is no switch), so the log says so."""
    from alliance_meta.analyses.multiverse import no_specification_note

    assert no_specification_note({"methods": [], "priors": []}) == (
        "multiverse.methods and multiverse.priors are empty: the multiverse has no specification (frequentist ones "
        "need methods and tests, Bayesian ones priors), so multiverse.csv is empty")
    assert no_specification_note({"tests": [], "priors": []}).startswith("multiverse.tests and multiverse.priors")
    assert no_specification_note({}) == no_specification_note({"methods": []}) == ""  # priors: Bayesian ones
    assert no_specification_note({"priors": []}) == ""
    from alliance_meta.report.methods import methods_paragraph

    assert "A multiverse analysis" in methods_paragraph({}, {"multiverse"}, {})
    assert "multiverse" not in methods_paragraph({"multiverse": {"methods": [], "priors": []}}, {"multiverse"}, {})


def test_a_three_level_only_multiverse_says_why_it_has_no_specification(effect_sizes):
    """aggregate_methods [multilevel] alone takes REML or ML and no prior (no Bayesian three-level model): with
    methods [] and priors, 0 specifications without a warning and a Methods sentence of a multiverse analysis, as
    no_specification_note counted the priors; its note now agrees with specifications() in every such case."""
    from alliance_meta.analyses.multiverse import no_specification_note, specifications
    from alliance_meta.report.methods import methods_paragraph

    base = {"aggregate_methods": ["multilevel"], "aggregate_rhos": [0.5], "subsets": [], "outliers": ["none"],
            "publication": ["all"], "minimum_n": [0]}
    settings = {**base, "methods": []}
    assert no_specification_note(settings) == (
        "multiverse.methods is empty; multiverse.aggregate_methods is [multilevel] alone, whose three-level "
        "specifications take no prior (there is no Bayesian three-level model): the multiverse has no specification "
        "(frequentist ones need methods and tests, three-level ones REML or ML, Bayesian ones priors and a study "
        "composite (gls, mean) in aggregate_methods), so multiverse.csv is empty")
    assert "multiverse" not in methods_paragraph({"multiverse": settings}, {"multiverse"}, {})
    for change in ({}, {"methods": ["DL"]}, {"methods": ["DL"], "priors": []}, {"methods": ["ML"]},
                   {"aggregate_methods": ["multilevel", "gls"]}, {"methods": ["DL"], "aggregate_methods": ["mean"]}):
        config = {**settings, **change}
        assert specifications(config, effect_sizes).empty == bool(no_specification_note(config)), change


def test_a_memo_key_refuses_object_arrays_whose_bytes_are_addresses():
    """Two arrays of other study ids could have the same bytes once the first one's strings are freed."""
    with pytest.raises(TypeError, match="numeric arrays"):
        multiverse._input_key(np.array(["S1", "S2"], dtype=object))
    assert multiverse._input_key(np.array([0, 1])) == multiverse._input_key(np.array([0, 1]))


def test_the_log_says_why_a_family_of_one_study_has_no_specification(tmp_path, effect_sizes):
    """A retraction leaves a family one study: the specifications job logged "0 specifications" and each choice
    with no value ("method: "), not why; its batch "specifications 1 to 0 of 0"."""
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    from alliance_meta.io import write_table

    scripts = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
    rows, specifications = tmp_path / "effect_sizes.csv", tmp_path / "specifications.csv"
    write_table(effect_sizes[effect_sizes["study_id"] == "s01"], rows)
    settings = {**CONFIG, "priors": [], "batch_size": 100}
    runpy.run_path(str(scripts / "multiverse_specifications.py"), init_globals={"snakemake": SimpleNamespace(
        input=[str(rows)], output=[str(specifications)], log=[str(tmp_path / "specifications.log")],
        params=SimpleNamespace(settings=settings), wildcards=SimpleNamespace(family="dropout"))})
    log = (tmp_path / "specifications.log").read_text()
    assert ("no specification: every subset has fewer than multiverse.minimum_k = 2 studies (1 study in this "
            "family), so multiverse.csv is empty") in log
    assert "method:" not in log
    runpy.run_path(str(scripts / "multiverse_batch.py"), init_globals={"snakemake": SimpleNamespace(
        input=SimpleNamespace(specifications=str(specifications), effect_sizes=str(rows)),
        output=[str(tmp_path / "batch.csv")], log=[str(tmp_path / "batch.log")],
        params=SimpleNamespace(batch_size=100, metric="z", level=95, outlier_threshold=2.0, detection_method="REML",
                               psychometric={}),
        config={"multiverse": {"progress_every": 500}}, wildcards=SimpleNamespace(family="dropout", batch="0"))})
    log = (tmp_path / "batch.log").read_text()
    assert "of 0" not in log and "no specification to fit (logs/multiverse_specifications_dropout.log" in log
    # the lists of no specification keep their own note; the API's wording is unchanged
    nothing = {"methods": [], "priors": []}
    assert multiverse.empty_note(nothing, multiverse.specifications(nothing, effect_sizes), effect_sizes) == \
        multiverse.no_specification_note(nothing)
    one = effect_sizes.iloc[:1]
    assert multiverse.empty_note(settings, multiverse.specifications(settings, one), one, api=True) == \
        "no specification: every subset has fewer than minimum_k = 2 studies"


def test_a_multiverse_emptied_by_its_outlier_choices_says_so(effect_sizes):
    """Two studies, minimum_k 2 and outliers without none: every subset reaches minimum_k but an outlier rule needs 3
    studies. The log said "every subset has fewer than multiverse.minimum_k = 2 studies (2 studies in this family)"."""
    two = effect_sizes.loc[effect_sizes["study_id"].isin(effect_sizes["study_id"].unique()[:2])]
    settings = {**CONFIG, "outliers": ["rstudent"], "minimum_k": 2}
    table = multiverse.specifications(settings, two)
    assert table.empty
    assert multiverse.empty_note(settings, table, two) == (
        "no specification: the outlier choices listed (rstudent) need at least 3 studies, and every subset has fewer "
        "(2 studies in this family), so multiverse.csv is empty")


def test_the_summary_of_a_multiverse_without_specification_has_no_row(effect_sizes):
    """With no specification (multiverse.methods and priors empty, or a family of one study after a retraction),
    multiverse_summary.csv had the row "all, all, 0, 0", so the report showed it instead of saying why (it says so
    for an empty table); its columns stay those of a summary with specifications."""
    table = multiverse.run_batch(multiverse.specifications(CONFIG, effect_sizes).iloc[:2], effect_sizes, metric="z")
    empty = multiverse.summarise(table.iloc[:0], "z")
    assert empty.empty and list(empty.columns) == list(multiverse.summarise(table, "z").columns)


def test_priors_alone_without_the_bayesian_extra_are_said_in_the_api(effect_sizes, monkeypatch):
    """am.multiverse with priors alone (methods and tests empty) and alliance_meta.bayes missing returned an empty
    table without a note; the workflow's log says it apart."""
    monkeypatch.setattr(multiverse, "exact_posterior", None)
    settings = {**CONFIG, "methods": [], "tests": []}
    table = multiverse.specifications(settings, effect_sizes)
    assert table.empty
    assert "alliance_meta.bayes is not installed" in multiverse.empty_note(settings, table, effect_sizes, api=True)
    assert multiverse.empty_note(settings, table, effect_sizes) == ""
