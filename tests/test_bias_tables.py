"""Contract tables of the bias and sensitivity stage, small-k behaviour, and plot smoke tests
(the PNGs land in pytest's tmp folder for a look)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference

from alliance_meta.analyses import bias

from alliance_meta.analyses.sensitivity import univariate as influence
from alliance_meta.plots.funnel import funnel_plot
from alliance_meta.plots.influence import baujat_plot, cumulative_forest, influence_plot
from alliance_meta.plots.style import message_figure
from alliance_meta.plots.style import save_figure

DATASET = load_reference("bias")["datasets"]["molloy2014"]
YI, VI = np.array(DATASET["yi"]), np.array(DATASET["vi"])
TESTS = ["egger", "egger_lm", "rank", "trim_and_fill", "fail_safe_n", "fail_safe_n_orwin",
         "fail_safe_n_rosenberg", "pet", "peese", "pet_peese", "selection_model", "tes", "henmi_copas", "svalue"]


def test_bias_table_has_the_contract_rows_and_columns():
    table, filled = bias.bias_tests(YI, VI, metric="z")
    assert table["test"].tolist() == TESTS
    assert list(table.columns[:5]) == ["test", "statistic", "p", "estimate", "k_imputed"]
    assert {"se", "ci_lower", "ci_upper", "side", "note", "r", "r_ci_lower", "r_ci_upper"} <= set(table.columns)
    row = table.set_index("test").loc["trim_and_fill"]
    assert row.k_imputed == filled.k0 == 2 and row.side == "left"
    np.testing.assert_allclose(table["r"], np.tanh(table["estimate"]))


@pytest.mark.parametrize("k", [0, 2])
def test_too_few_studies_give_rows_with_notes(k):
    table, filled = bias.bias_tests(YI[:k], VI[:k], metric="z")
    assert filled is None
    assert table["test"].tolist() == TESTS
    assert table.set_index("test").loc["egger", "note"].startswith("not estimable")
    assert table.set_index("test").loc["fail_safe_n", "note"].startswith("not estimable" if k == 0 else "Rosenthal")


def test_sensitivity_tables_have_the_contract_columns():
    data = pd.DataFrame({"study_id": [f"s{i}" for i in range(YI.size)], "yi": YI, "vi": VI, "year": DATASET["year"]})
    leave_one_out, influence_table, cumulative, result = influence.sensitivity_tables(data, metric="z")
    assert list(leave_one_out.columns[:7]) == ["study_id", "estimate", "se", "ci_lower", "ci_upper", "tau2", "i2"]
    assert len(leave_one_out) == len(influence_table) == len(cumulative) == YI.size
    assert cumulative["k"].tolist() == list(range(1, YI.size + 1))
    two = influence.sensitivity_tables(data.head(2), metric="z")  # each deletion: a k = 1 fit, as metafor
    assert two[3] is not None and len(two[0]) == len(two[1]) == len(two[2]) == 2
    assert list(two[0].columns) == list(leave_one_out.columns) and list(two[1].columns) == list(influence_table.columns)
    one = influence.sensitivity_tables(data.head(1), metric="z")  # metafor's leave1out/influence stop at k = 1
    assert one[3] is None and len(one[0]) == len(one[1]) == 0 and len(one[2]) == 1
    assert (list(one[0].columns), list(one[1].columns)) == (list(leave_one_out.columns), list(influence_table.columns))


def test_plots_are_written(tmp_path):
    _, filled = bias.bias_tests(YI, VI)
    result = influence.influence(YI, VI)
    labels = DATASET["label"]
    figures = {
        "funnel": funnel_plot(YI, VI, "z", 0.15, filled.filled_yi, filled.filled_vi, filled.fit.estimate),
        "funnel_empty": funnel_plot([], [], "smd"),
        "baujat": baujat_plot(result, labels),
        "influence": influence_plot(result),
        "cumulative": cumulative_forest(influence.cumulative(YI, VI, DATASET["year"]), labels, "z"),
        "message": message_figure("k = 2: too few studies"),
    }
    for name, figure in figures.items():
        save_figure(figure, [tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"])
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_equal_sampling_variances_make_the_sei_tests_not_estimable_and_nothing_else():
    yi, vi = np.array([0.1, 0.3, 0.2, 0.5, 0.4]), np.full(5, 0.02)
    table = bias.bias_tests(yi, vi, metric="z")[0].set_index("test")
    for name in ("egger", "egger_lm", "rank", "pet", "peese", "pet_peese"):
        assert np.isnan(table.loc[name, "statistic"])
        assert table.loc[name, "note"].startswith("not estimable: every study has the same sampling variance")
    assert "set bias.trimfill_side" in table.loc["trim_and_fill", "note"]
    assert bias.bias_tests(yi, vi, trimfill_side="left")[0].set_index("test").loc["trim_and_fill", "statistic"] == 0
    assert np.isfinite(table.loc["henmi_copas", "estimate"])
    assert not table.loc["henmi_copas", "note"].startswith("not estimable")


def test_the_cumulative_plot_says_how_studies_without_a_year_are_ordered():
    from alliance_meta.plots.influence import cumulative_order_note

    assert cumulative_order_note([1999, 2004]) == ""
    assert cumulative_order_note([1999, np.nan, None]) == "by year; 2 without a year last, in sheet order"
    assert cumulative_order_note(None) == cumulative_order_note([np.nan]) == "in sheet order (no year in the sheet)"
    figure = cumulative_forest(influence.cumulative(YI, VI, np.full(YI.size, np.nan)), DATASET["label"], "z",
                               order_note=cumulative_order_note(None))
    assert figure.axes[0].get_xlabel().endswith("cumulative\nin sheet order (no year in the sheet)")


def test_the_cumulative_plot_names_the_test_of_its_cis():
    """As the forest plot's footnote names the diamond's: the refits have the main model's test, but a univariate
    Knapp-Hartung step of one study a Wald CI (metafor's rma); the pipeline's figures pass the fit's test."""
    import alliance_meta as am
    from alliance_meta.plots.influence import sensitivity_figures

    table = influence.cumulative(YI, VI, DATASET["year"])
    label = {test: cumulative_forest(table, DATASET["label"], "z", test=test).axes[0].get_xlabel()
             for test in ("z", "knha", "adhoc", "t")}
    assert label["z"] == "Correlation $r$ (95% CI: Wald), cumulative"
    assert label["knha"] == "Correlation $r$ (95% CI: Knapp\u2013Hartung; one study: Wald), cumulative"
    assert label["adhoc"] == "Correlation $r$ (95% CI: Knapp\u2013Hartung, ad hoc variant; one study: Wald), cumulative"
    assert label["t"] == "Correlation $r$ (95% CI: t test), cumulative"  # a three-level fit's rma.mv t: no k = 1 rule
    assert cumulative_forest(table, DATASET["label"], "z").axes[0].get_xlabel() == "Correlation $r$ (95% CI), cumulative"
    rows = pd.DataFrame({"study_id": [f"s{i}" for i in range(YI.size)], "yi": YI, "vi": VI, "year": DATASET["year"]})
    for test, name in (("z", "Wald"), ("knha", "Knapp\u2013Hartung; one study: Wald")):
        figure = sensitivity_figures(am.sensitivity(am.fit(rows, test=test, metric="z")))["cumulative"]
        assert figure.axes[0].get_xlabel() == f"Correlation $r$ (95% CI: {name}), cumulative"


def test_egger_lm_of_studies_with_one_and_the_same_effect_is_not_estimable():
    """Every study r = .30: the classical Egger regression fits exactly; its slope's t was the ratio of two
    rounding errors (0.67, p = .55 in bias.csv), not a test."""
    yi = np.full(5, np.arctanh(0.3))
    vi = 1 / (np.array([50, 120, 80, 200, 65]) - 3)
    row = bias.bias_tests(yi, vi, metric="z")[0].set_index("test").loc["egger_lm"]
    assert np.isnan(row["statistic"]) and np.isnan(row["p"])
    assert row["note"] == ("not estimable: every study has the same effect, so the regression fits exactly and "
                           "the t test of its slope is 0/0")


def test_pet_peese_of_studies_with_one_and_the_same_effect_is_not_estimable():
    """Every study r = .30: PET and PEESE fit exactly, and their intercepts' t was about 1e16 (p = 7e-80 in
    bias.csv and the report's bias table), the ratio of a number to a rounding error."""
    yi = np.full(5, np.arctanh(0.3))
    vi = 1 / (np.array([50, 120, 80, 200, 65]) - 3)
    for yi in (yi, np.arctanh([.3, .30000000000000004, .3, .30000000000000004, .3])):  # equal, or a float apart
        table = bias.bias_tests(yi, vi, metric="z")[0].set_index("test")
        assert np.isnan(table.loc["rank", "statistic"]) and np.isnan(table.loc["egger_lm", "statistic"])
    for name in ("pet", "peese", "pet_peese"):
        assert np.isnan(table.loc[name, "statistic"]) and np.isnan(table.loc[name, "p"]), name
        assert table.loc[name, "note"].startswith("not estimable: every study has the same effect, so the "
                                                  "regressions fit exactly")


def test_trim_and_fill_says_when_the_se_of_k0_is_not_defined():
    """Studies with one and the same effect make L0's variance of k0 negative (NaN in metafor): the
    note, printed in the report, read "statistic = k0 (SE nan)"."""
    yi = np.full(10, np.arctanh(0.3))
    vi = 1 / (np.array([40, 55, 60, 80, 120, 35, 90, 150, 64, 72]) - 3)
    row = bias.bias_tests(yi, vi, metric="z")[0].set_index("test").loc["trim_and_fill"]
    assert row["note"] == "L0, REML; statistic = k0 (its SE is not defined for these data)"
    finite = bias.bias_tests(YI, VI, metric="z")[0].set_index("test").loc["trim_and_fill", "note"]
    assert finite.startswith("L0, REML; statistic = k0 (SE ") and "nan" not in finite


def test_baujat_labels_neither_overlap_nor_leave_the_figure():
    """The three most extreme studies of the demo's outcome family lie close together: their names, written
    beside the points, ran into each other and over the points. They are numbered, and named below the axis."""
    from types import SimpleNamespace

    result = SimpleNamespace(baujat_x=np.array([6.6, 6.0, 5.56, 1.2, 0.4, 0.0]),
                             baujat_y=np.array([0.067, 0.068, 0.0689, 0.012, 0.004, 0.0]))
    labels = ["Simulated study 071 (2013)", "Simulated study 117 (2003)", "Simulated study 010 (2017)",
              "S4", "S5", "Very-Long-Surname, Another Surname, Third Author & Fourth Author (2019)"]
    figure = baujat_plot(result, labels)
    figure.canvas.draw()
    renderer, axis = figure.canvas.get_renderer(), figure.axes[0]
    ticks = [tick.label1 for scale in (axis.xaxis, axis.yaxis) for tick in scale.get_major_ticks()
             if min(scale.get_view_interval()) <= tick.get_loc() <= max(scale.get_view_interval())]
    texts = [*axis.texts, *figure.texts, axis.xaxis.label, axis.yaxis.label, *ticks]
    boxes = [text.get_window_extent(renderer) for text in texts]
    assert all(box.x0 >= 0 and box.y0 >= 0 and box.x1 <= figure.bbox.width and box.y1 <= figure.bbox.height
               for box in boxes)
    overlaps = [(a.get_text(), b.get_text()) for i, (a, box) in enumerate(zip(texts, boxes))
                for b, other in zip(texts[i + 1:], boxes[i + 1:]) if box.overlaps(other)]
    assert not overlaps, overlaps
    key = " ".join(text.get_text() for text in texts).replace("\n", " ")
    for number, name in enumerate(labels[:3], start=1):
        assert f"{number} {name}" in key


def test_sensitivity_figures_name_the_studies_as_the_forest_plot():
    """A study with one effect size kept the sheet's label of that effect size ("WAI, patient, early") in
    analysis.csv: the cumulative, Baujat and Bayesian plots named it so, beside "Author (year)" for the
    others and the forest plot's "Author (year)" for all, and two studies could read alike."""
    import alliance_meta as am
    from alliance_meta.plots.forest_options import study_labels
    from alliance_meta.plots.influence import sensitivity_figures

    data = pd.DataFrame({"study_id": [f"s{i}" for i in range(YI.size)], "yi": YI, "vi": VI,
                         "authors": [f"Author {i}" for i in range(YI.size)], "year": DATASET["year"],
                         "label": ["WAI, patient, early"] * 2 + [f"Author {i} ({y})" for i, y in
                                                                 enumerate(DATASET["year"])][2:]})
    figures = sensitivity_figures(am.sensitivity(am.fit(data, metric="z")))
    ticks = [tick.get_text() for tick in figures["cumulative"].axes[0].get_yticklabels()]
    assert sorted(ticks) == sorted(f"+ {label}" for label in study_labels(data, "authors_year"))
    assert not any("WAI" in tick for tick in ticks)
    label_mode = sensitivity_figures(am.sensitivity(am.fit(data, metric="z")), "label")["cumulative"]
    assert any("WAI" in tick.get_text() for tick in label_mode.axes[0].get_yticklabels())


def test_the_cumulative_plot_of_a_three_level_fit_names_the_studies_as_the_forest_plot():
    """dat.assink2016 as a sheet (dependence: multilevel): the cumulative plot's rows read "+ Assink15",
    "+ Assink05", ... (study ids) beside "Assink study 15 (1987)" of the forest and influence plots."""
    import alliance_meta as am
    from alliance_meta.plots.influence import sensitivity_figures

    study = np.repeat(np.arange(6), 2)
    data = pd.DataFrame({"study_id": [f"s{i}" for i in study], "es_id": [f"e{i}" for i in range(study.size)],
                         "yi": YI[:12], "vi": VI[:12], "authors": [f"Author {i}" for i in study],
                         "year": 2000 + study})
    fit = am.fit(data, dependence="multilevel", rho=0.5)
    figure = sensitivity_figures(am.sensitivity(fit))["cumulative"]
    ticks = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert ticks == [f"+ Author {i} ({2000 + i})" for i in range(6)]


def test_long_study_labels_wrap_beside_the_cumulative_and_bayesian_rows():
    """Labels of 90 characters (plots.labels: both) were drawn on one line: the cumulative plot's panel shrank to
    about an inch of a 17-inch-wide image, and the Bayesian forest plot's likewise. They wrap, rows grow."""
    import matplotlib.pyplot as plt

    from alliance_meta.bayes.plots import forest_figure

    k = 8
    labels = [f"Very-Long-Surname, Another Surname, Third Author and Colleagues {i:03d} ({1990 + i}), Working "
              f"Alliance Inventory short form" for i in range(k)]
    cumulative = cumulative_forest(influence.cumulative(YI[:k], VI[:k], DATASET["year"][:k]), labels, "z")
    studies = pd.DataFrame({"study_id": [f"s{i}" for i in range(k)], "label": labels, "yi": YI[:k],
                            "ci_lower": YI[:k] - 0.2, "ci_upper": YI[:k] + 0.2, "mean": YI[:k], "hdi_lower": YI[:k] - 0.1,
                            "hdi_upper": YI[:k] + 0.1})
    table = pd.DataFrame({"parameter": ["mu", "theta_new"], "mean": [0.3, 0.3], "hdi_lower": [0.2, 0.0],
                          "hdi_upper": [0.4, 0.6]})
    for figure in (cumulative, forest_figure(studies, table, "z")):
        figure.canvas.draw()
        renderer, axis = figure.canvas.get_renderer(), figure.axes[0]
        whole = figure.get_tightbbox(renderer)
        assert whole.width <= 7.5, whole.width  # inches
        assert axis.get_window_extent(renderer).width / figure.dpi >= 2.0
        boxes = [label.get_window_extent(renderer) for label in axis.get_yticklabels()]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        plt.close(figure)


def test_back_transformed_columns_keep_each_scale_together_as_pooled_csv():
    """SMDs and log odds ratios are shown on two scales: r, r_ci_lower, r_ci_upper, then or, ... for SMDs (the
    order of pooled.csv and of report.tables.back_transformed_columns), not the two scales interleaved."""
    from alliance_meta.analyses.results import with_back_transform
    from alliance_meta.engines.transforms import back_transform
    from alliance_meta.report.tables import back_transformed_columns

    frame = with_back_transform(pd.DataFrame({"estimate": [0.4, -0.2], "ci_lower": [0.1, -0.5], "ci_upper": [0.7, 0.1]}),
                                "smd")
    added = list(frame.columns[3:])
    assert added == ["r", "r_ci_lower", "r_ci_upper", "or", "or_ci_lower", "or_ci_upper"]
    assert added == back_transformed_columns("smd")
    assert list(with_back_transform(frame[["estimate", "ci_lower", "ci_upper"]].copy(), "log_or").columns[3:]) == \
        back_transformed_columns("log_or")
    for name in ("estimate", "ci_lower", "ci_upper"):
        for prefix, values in back_transform(frame[name].to_numpy(), "smd").items():
            np.testing.assert_array_equal(frame[prefix if name == "estimate" else f"{prefix}_{name}"], values)
    assert list(with_back_transform(pd.DataFrame(columns=["estimate", "ci_lower", "ci_upper"]), "z").columns[3:]) == [
        "r", "r_ci_lower", "r_ci_upper"]


def test_the_manuscript_bias_table_says_what_each_statistic_is():
    """The Word and report table had no note: nothing said that Statistic is z for Egger's test, Kendall's tau for
    the rank test, k0 for trim and fill, or what PET and PEESE stand for (a dropout-review walkthrough)."""
    from alliance_meta.report.tables import STATISTIC_MEANINGS, bias_table

    table, _ = bias.bias_tests(YI, VI, metric="z")
    note = bias_table(table, "z").note
    exact = table.loc[table["test"] == "tes", "statistic"].isna().all()  # the exact test's p, no statistic
    for test in TESTS:  # Henmi-Copas has no statistic
        key = "tes_exact" if test == "tes" and exact else test
        assert test == "henmi_copas" or STATISTIC_MEANINGS[key] in note, test
    assert "precision-effect test (PET)" in note and "Adjusted r:" in note
    fewer = bias_table(table[table["test"].isin(["egger", "rank"])], "z").note
    assert "Kendall's \u03c4" in fewer and "PEESE" not in fewer and "trim and fill" not in fewer


def test_the_manuscript_bias_table_does_not_call_unadjusted_estimates_adjusted():
    """Orwin's and Rosenberg's fail-safe N and the Henmi-Copas row fill the "Adjusted r" column with the unweighted
    mean and the common-effect estimate, which adjust nothing; the note said every value there was corrected
    (a first-review walkthrough read Orwin's .26 as an adjusted estimate above the pooled .22)."""
    from alliance_meta.report.effects import display
    from alliance_meta.report.tables import bias_table

    table, _ = bias.bias_tests(YI, VI, metric="z")
    rows = table.set_index("test")
    note = bias_table(table, "z").note
    hc = rows.loc["henmi_copas"]
    assert ("The r of these rows adjusts nothing: Orwin's fail-safe N, the unweighted mean effect that it halves; "
            "Rosenberg's fail-safe N, the common-effect estimate; Henmi\u2013Copas interval, the common-effect "
            "estimate, with the 95% CI [") in note
    show = display("z")
    assert f"[{show.number(hc.ci_lower)}, {show.number(hc.ci_upper)}] that allows for publication bias." in note
    assert "adjusts nothing" not in bias_table(table[table["test"].isin(["egger", "pet"])], "z").note


def test_the_pooled_table_names_its_estimators_and_columns():
    from alliance_meta.report.tables import pooled_table

    frame = pd.DataFrame({"method": ["common", "REML", "PMM"], "test": ["z", "knha", "z"], "k": [5, 5, 5],
                          "estimate": [0.3] * 3, "ci_lower": [0.2] * 3, "ci_upper": [0.4] * 3, "pi_lower": [0.1] * 3,
                          "pi_upper": [0.5] * 3, "tau2": [0.0, 0.01, 0.012], "i2": [0.0, 30.0, 33.0],
                          "q": [6.0] * 3, "q_df": [4] * 3, "q_p": [0.2] * 3})
    note = pooled_table(frame, "z").note
    assert ("Method: common = common-effect model; REML = restricted maximum likelihood; PMM = median-unbiased "
            "Paule\u2013Mandel (estimator of \u03c4\u00b2).") in note
    assert "DerSimonian" not in note and "Q = Cochran's heterogeneity statistic" in note


def test_baujat_numbers_the_extreme_studies_when_one_has_no_leave_one_out_value():
    """dropout_counts: one study's baujat_y was NaN, so every score was NaN and studies 1-3 of the sheet were
    numbered as the most extreme, the outlying points (influence .57, residual 1.39) left unnumbered."""
    from types import SimpleNamespace

    result = SimpleNamespace(baujat_x=np.array([0.95, 0.25, 0.71, 1.39, 0.09, 0.03, 0.68]),
                             baujat_y=np.array([0.036, 0.008, 0.024, 0.054, 0.002, np.nan, 0.57]))
    labels = [f"S{i}" for i in range(1, 8)]
    figure = baujat_plot(result, labels)
    key = " ".join(text.get_text() for text in figure.texts).replace("\n", " ")
    assert key.startswith("Numbered: 1 S7; 2 S4; 3 S1.")
    assert "Not drawn (no leave-one-out value): S6." in key
    import matplotlib.pyplot

    matplotlib.pyplot.close(figure)


def test_the_three_level_egger_row_says_when_its_cr2_df_is_below_4():
    """bias.csv's egger_multilevel row gave t(1.28) with no word of its df (rve.csv's rows and the moderator table
    say df < 4: do not trust the p value); clubSandwich's coef_test of rma.mv: t = 0.913, df = 1.28, p = .5002."""
    from alliance_meta.analyses.bias.multilevel import egger_row

    data = pd.DataFrame({"study_id": list("AAAABCDE"), "yi": [0.1, 0.3, 0.2, 0.4, 0.25, 0.1, 0.35, 0.2],
                         "vi": [0.01, 0.02, 0.04, 0.08, 0.02, 0.03, 0.015, 0.05]})
    row = egger_row(data, rho=0.5)
    assert row["p"] == pytest.approx(0.5002, abs=1e-4) and row["df"] == pytest.approx(1.28, abs=0.005)
    assert row["note"].endswith("CR2 Satterthwaite t; df < 4: do not trust the p value (Tipton 2015)")


def test_the_funnel_of_a_three_level_fit_says_its_points_and_line_are_the_study_composites():
    """dependence: multilevel: the funnel's points are the study composites the univariate tests see and its line
    their random-effects estimate, not the three-level estimate the Results give; the legend read "Studies (k = 6)"
    beside a Results k of 12 effect sizes and said nothing of it. A univariate fit's funnel keeps its legend."""
    import matplotlib.pyplot as plt

    import alliance_meta as am

    study = np.repeat(np.arange(6), 2)
    data = pd.DataFrame({"study_id": [f"s{i}" for i in study], "es_id": [f"e{i}" for i in range(study.size)],
                         "yi": YI[:12], "vi": VI[:12]})
    for dependence, points in (("multilevel", "Study composites ($k$ = 6)"), ("aggregate", "Studies ($k$ = 6)")):
        figure = am.publication_bias(am.fit(data, dependence=dependence, rho=0.5, metric="z")).funnel(note="")
        legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
        notes = " ".join(text.get_text() for text in figure.texts)
        assert points in legend and "Random-effects estimate" in legend
        assert ("three-level estimate of the Results is not drawn" in notes) == (dependence == "multilevel")
        plt.close(figure)


def test_the_funnel_legend_sets_k_and_p_in_italics():
    """APA 2020, 6.46: the legend read "Studies (k = 12)" and ".10 > p > .05" with k and p upright, beside the
    italic symbols of its axis ("Fisher's z") and of the other figures."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.funnel import funnel_plot

    figure = funnel_plot(YI[:12], VI[:12], "z", estimate=0.3)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend[-4:] == ["Studies ($k$ = 12)", ".10 > $p$ > .05", ".05 > $p$ > .01", "$p$ < .01"]
    plt.close(figure)


@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_cumulative_position_counts_the_rows_from_1_and_the_plot_names_the_study_added(dependence):
    """cumulative.csv's position (the added study's row of the analysed rows) counted from 0, beside k from 1;
    it counts from 1 now, as metafor's cumul ``order`` and a reader of analysis.csv, and the cumulative plot
    still names, on each row, the study that step adds."""
    import matplotlib.pyplot as plt

    import alliance_meta as am
    from alliance_meta.plots.influence import sensitivity_figures

    rows = pd.DataFrame({"study_id": ["A", "B", "B", "C", "D"], "es_id": ["1", "1", "2", "1", "1"],
                         "yi": [0.2, 0.4, 0.35, 0.1, 0.3], "vi": [0.01, 0.02, 0.03, 0.015, 0.02],
                         "year": [2004, 2001, 2001, 2003, 2002]})
    result = am.sensitivity(am.fit(rows, dependence=dependence))
    table = result.cumulative
    assert table["study_id"].tolist() == ["B", "D", "C", "A"]
    first_rows = [2, 5, 4, 1] if dependence == "multilevel" else [2, 4, 3, 1]  # effect sizes, or study composites
    assert table["position"].tolist() == first_rows
    figure = sensitivity_figures(result, "study_id")["cumulative"]
    ticks = sorted(figure.axes[0].get_yticklabels(), key=lambda label: -label.get_position()[1])
    assert [label.get_text() for label in ticks] == ["+ B", "+ D", "+ C", "+ A"]
    plt.close(figure)
