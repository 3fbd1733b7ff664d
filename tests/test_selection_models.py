"""Selection models: the likelihood's pieces checked independently (quadrature against adaptive
integration, exact step-function normaliser, analytic gradient, metafor's weight functions),
selection_models.csv, the new bias.csv rows, and the figures (PNGs land in pytest's tmp folder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from alliance_meta.analyses import bias
from alliance_meta.analyses.bias import selection_models as sm
from alliance_meta.plots.selection import selection_estimates_plot, weight_functions_plot
from alliance_meta.plots.style import save_figure

DATASET = json.loads((Path(__file__).parent / "reference" / "bias.json").read_text())["datasets"]["molloy2014"]
YI, VI = np.array(DATASET["yi"]), np.array(DATASET["vi"])
CONTINUOUS = ["beta", "halfnorm", "negexp", "logistic", "power", "negexppow"]
DELTAS = {"beta": [0.6, 1.7], "halfnorm": [4.0], "negexp": [2.5], "logistic": [3.0], "power": [0.7],
          "negexppow": [2.0, 0.6]}
STEP_DELTA = np.array([1.0, 0.6, 0.3, 0.15])


def adaptive_normaliser(type_, alternative, mu, tau2, delta, vi, steps=None):
    """A_i by QUADPACK on the z = y / sqrt(v) scale, split at the weight's kinks and steps."""
    sei, sd = np.sqrt(vi), np.sqrt(vi + tau2)
    if type_ == "stepfun":
        cuts = stats.norm.isf(np.asarray(steps[:-1]) / (2 if alternative == "two.sided" else 1))
    else:
        clamp = sm.SPECS[type_].pval_min or 1e-300
        cuts = stats.norm.isf(np.array([clamp, 1 - clamp]) / (2 if alternative == "two.sided" else 1))
    points = np.unique(np.concatenate([cuts, -cuts, [0.0]]))

    def integrand(z):
        p = sm.p_values(np.array([sei * z]), np.array([vi]), alternative)
        w = sm.weight_function(type_, delta, p, steps, alternative)[0]
        return w * stats.norm.pdf(sei * z, mu, sd) * sei

    centre, spread = mu / sei, sd / sei
    edges = np.unique(np.concatenate([[centre - 14 * spread, centre + 14 * spread], points]))
    edges = edges[(edges >= centre - 14 * spread) & (edges <= centre + 14 * spread)]
    return sum(integrate.quad(integrand, a, b, epsabs=0, epsrel=1e-12, limit=400)[0]
               for a, b in zip(edges[:-1], edges[1:]))


@pytest.mark.parametrize("alternative", sm.ALTERNATIVES)
@pytest.mark.parametrize("type_", CONTINUOUS)
def test_quadrature_matches_adaptive_integration(type_, alternative):
    problem = sm._Problem(YI[:3], VI[:3], type_, alternative)
    for mu, tau2 in ((0.15, 0.01), (-0.2, 0.0), (0.4, 0.3)):
        log_a = problem._continuous_a(mu, np.sqrt(VI[:3] + tau2), np.array(DELTAS[type_]))[0]
        expected = [adaptive_normaliser(type_, alternative, mu, tau2, DELTAS[type_], v) for v in VI[:3]]
        np.testing.assert_allclose(np.exp(log_a), expected, rtol=1e-10)


@pytest.mark.parametrize("alternative", sm.ALTERNATIVES)
def test_step_function_normaliser_matches_integration(alternative):
    steps = np.array(sm.DEFAULT_STEPS)
    problem = sm._Problem(YI[:3], VI[:3], "stepfun", alternative, steps)
    for mu, tau2 in ((0.15, 0.01), (-0.2, 0.0)):
        log_a = problem._step_a(mu, np.sqrt(VI[:3] + tau2), STEP_DELTA)[0]
        expected = [adaptive_normaliser("stepfun", alternative, mu, tau2, STEP_DELTA, v, steps) for v in VI[:3]]
        np.testing.assert_allclose(np.exp(log_a), expected, rtol=1e-9)


@pytest.mark.parametrize("alternative", sm.ALTERNATIVES)
@pytest.mark.parametrize("type_", CONTINUOUS + ["stepfun"])
def test_gradient_matches_finite_differences(type_, alternative):
    steps = np.array(sm.DEFAULT_STEPS) if type_ == "stepfun" else None
    problem = sm._Problem(YI, VI, type_, alternative, steps)
    theta = np.concatenate([[0.12, 0.006], STEP_DELTA[1:] if type_ == "stepfun" else DELTAS[type_]])
    _, gradient = problem(theta)
    numeric = np.empty_like(theta)
    for j in range(theta.size):
        step = 1e-6 * max(abs(theta[j]), 1e-2)
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        numeric[j] = (problem(up)[0] - problem(down)[0]) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("alternative", ["greater", "two.sided"])
@pytest.mark.parametrize("type_", CONTINUOUS + ["stepfun"])
def test_repeated_evaluations_equal_fresh_ones_bit_for_bit(type_, alternative):
    """_Problem's memo of recent thetas gives exactly what a fresh _Problem computes, also for thetas
    one Hessian step apart, and a caller mutating a returned gradient does not corrupt it."""
    steps = np.array(sm.DEFAULT_STEPS) if type_ == "stepfun" else None
    problem = sm._Problem(YI, VI, type_, alternative, steps)
    theta = np.concatenate([[0.12, 0.006], STEP_DELTA[1:] if type_ == "stepfun" else DELTAS[type_]])
    thetas = [theta, theta.copy()]
    for j in range(theta.size):  # the Hessian's columns
        for sign in (1, -1):
            moved = theta.copy()
            moved[j] += sign * 1e-5 * max(abs(theta[j]), 1e-3)
            thetas.append(moved)
    thetas += thetas[::-1]  # every one again, from the memo
    for x in thetas:
        value, gradient = problem(x)
        fresh_value, fresh_gradient = sm._Problem(YI, VI, type_, alternative, steps)(x.copy())
        assert np.float64(value).tobytes() == np.float64(fresh_value).tobytes()
        assert gradient.tobytes() == fresh_gradient.tobytes()
        gradient[:] = np.nan  # the caller's own copy
    assert problem(theta)[1].tobytes() == sm._Problem(YI, VI, type_, alternative, steps)(theta)[1].tobytes()


@pytest.mark.parametrize("alternative", sm.ALTERNATIVES)
@pytest.mark.parametrize("type_", CONTINUOUS)
def test_weights_at_the_nodes_skip_clamped_p_values_with_the_same_bits(type_, alternative, monkeypatch):
    """The nodes' log weights and derivatives are bit for bit those of every node's clamped p-value, also
    within a few ulps of the thresholds beyond which the clamp holds, at infinities and at NaN; where the clamp
    is not a no-op (beta, power) ndtr is evaluated at fewer p-values than there are nodes."""
    problem = sm._Problem(YI[:4], VI[:4], type_, alternative)
    delta = np.array(DELTAS[type_])
    sei = np.sqrt(VI[:4])[:, None]
    s_edges = [] if problem.clamp_s is None else [x for x in problem.clamp_s if np.isfinite(x)]
    s = np.concatenate([np.linspace(-45, 45, 3001), [-np.inf, np.inf, np.nan, 0.0],
                        *[x + np.arange(-4, 5) * np.spacing(x) for x in s_edges]])
    z = s if alternative == "less" else -s  # p = Phi(s) (two-sided: the same |z|, mirrored)
    y = sei * z[None, :]
    lower, upper = problem.spec.pval_min, 1 - problem.spec.pval_min
    with np.errstate(all="ignore"):
        expected = sm._log_weight(type_, np.clip(sm.p_values(y, VI[:4, None], alternative), lower, upper), delta)
        evaluated = []
        ndtr = sm.special.ndtr
        monkeypatch.setattr(sm.special, "ndtr", lambda x: evaluated.append(np.size(x)) or ndtr(x))
        log_w, d_log_w = problem._node_log_weights(y, delta)
    assert log_w.tobytes() == expected[0].tobytes()
    assert d_log_w.tobytes() == expected[1].tobytes()
    if type_ in ("beta", "power"):
        assert sum(evaluated) < 0.7 * y.size


def test_weight_functions_are_metafors():
    p = np.array([0.0, 1e-6, 0.01, 0.3, 0.99, 1.0])
    clamped = np.clip(p, 1e-5, 1 - 1e-5)  # beta and power: metafor's pval.min = 1e-5
    expected = {
        "beta": clamped ** (0.6 - 1) * (1 - clamped) ** (1.7 - 1),
        "halfnorm": np.exp(-4.0 * p**2),
        "negexp": np.exp(-2.5 * p),
        "logistic": 2 * np.exp(-3.0 * p) / (1 + np.exp(-3.0 * p)),
        "power": (1 - clamped) ** 0.7,
        "negexppow": np.exp(-2.0 * p ** (1 / 0.6)),
    }
    for type_, values in expected.items():
        np.testing.assert_allclose(sm.weight_function(type_, DELTAS[type_], p), values, rtol=1e-14)
    steps = sm.DEFAULT_STEPS
    np.testing.assert_array_equal(sm.weight_function("stepfun", STEP_DELTA, [0.01, 0.025, 0.05, 0.2, 0.7], steps),
                                  [1.0, 1.0, 0.6, 0.3, 0.15])


def test_p_values_follow_the_alternative():
    z = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(sm.p_values(z, 1.0, "greater"), stats.norm.sf(z))
    np.testing.assert_allclose(sm.p_values(z, 1.0, "less"), stats.norm.cdf(z))
    np.testing.assert_allclose(sm.p_values(z, 1.0, "two.sided"), 2 * stats.norm.sf(np.abs(z)))


def test_two_sided_step_function_treats_both_signs_alike():
    # with two-sided p-values the likelihood is unchanged when every effect changes sign and mu too
    steps = np.array(sm.DEFAULT_STEPS)
    theta = np.array([0.12, 0.006, 0.6, 0.3, 0.15])
    plus = sm._Problem(YI, VI, "stepfun", "two.sided", steps)(theta)[0]
    minus = sm._Problem(-YI, VI, "stepfun", "two.sided", steps)(theta * [-1, 1, 1, 1, 1])[0]
    assert plus == pytest.approx(minus, rel=1e-13)


def test_table_has_the_contract_columns_and_every_type(tmp_path):
    table = sm.selection_models_table(YI, VI, metric="z")
    assert list(table.columns) == list(sm.TABLE_COLUMNS) + ["r", "r_ci_lower", "r_ci_upper"]
    assert table["type"].tolist() == list(sm.TYPES)
    row = table.set_index("type").loc["stepfun"]
    assert row.steps == "0.025;0.1;0.5;1.0"
    assert [float(value) for value in row.delta.split(";")][0] == 1.0
    assert table["converged"].all()
    np.testing.assert_allclose(table["r"], np.tanh(table["estimate"]))
    unadjusted = bias.fit_selection_model(YI, VI, "halfnorm").log_likelihood_unadjusted
    np.testing.assert_allclose(table["lrt"], np.maximum(0, 2 * (table["loglik"] - unadjusted)), atol=1e-12)
    fit = bias.fit_selection_model(YI, VI, "power")
    assert fit.to_frame("z").iloc[0].estimate == table.set_index("type").loc["power", "estimate"]
    figures = {"estimates": selection_estimates_plot(table, {"estimate": 0.15, "ci_lower": 0.09, "ci_upper": 0.21}, "z"),
               "weights": weight_functions_plot(table, YI, VI)}
    for name, figure in figures.items():
        save_figure(figure, [tmp_path / f"{name}.png"])
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_models_that_cannot_be_fitted_give_rows_with_reasons(tmp_path):
    table = sm.selection_models_table(YI[:2], VI[:2], metric="smd")
    assert table["type"].tolist() == list(sm.TYPES)
    assert table["estimate"].isna().all() and not table["converged"].any()
    assert table["note"].str.startswith("not computed: k = 2 is too small").all()
    assert {"r", "or", "or_ci_upper"} <= set(table.columns)
    save_figure(selection_estimates_plot(table, {"estimate": 0.2, "ci_lower": 0.0, "ci_upper": 0.4}, "log_or"),
                [tmp_path / "estimates_log_or.png"])
    save_figure(weight_functions_plot(table), [tmp_path / "weights_none.png"])


def test_step_function_refuses_an_empty_interval():
    z = np.array([3.0, 2.5, 2.2, 1.5, 1.4, 0.5, 0.3, 0.2])  # one-sided p: three below .025, two to .10, three to .50
    with pytest.raises(ValueError, match=r"interval \(0.5, 1\] has no studies \(studies per interval: 3, 2, 3, 0\)"):
        sm.fit_selection_model(z * np.sqrt(VI[:8]), VI[:8], "stepfun")
    with pytest.raises(ValueError, match=r"intervals \(0.1, 0.5\], \(0.5, 1\] have no studies"):
        sm.fit_selection_model(z[:5] * np.sqrt(VI[:5]), VI[:5], "stepfun")


@pytest.mark.parametrize("k, studies", [(0, "0 studies"), (1, "1 study"), (2, "2 studies")])
def test_new_bias_rows_need_three_studies(k, studies):
    table, _ = bias.bias_tests(YI[:k], VI[:k], metric="z")
    rows = table.set_index("test")
    for name in ("tes", "henmi_copas", "svalue"):
        assert rows.loc[name, "note"] == f"not estimable: k = {studies}, the test needs at least 3"


def test_new_bias_rows():
    table, _ = bias.bias_tests(YI, VI, metric="z")
    rows = table.set_index("test")
    tes = bias.excess_significance(YI, VI)
    assert (rows.loc["tes", "observed"], rows.loc["tes", "expected"]) == (tes.observed, tes.expected)
    assert rows.loc["tes", "p"] == (tes.p_exact if tes.test == "exact" else tes.p)
    if tes.test == "exact":  # no statistic of its own: X^2 belongs to the chi-square p, in the note
        assert np.isnan(rows.loc["tes", "statistic"]) and f"X2 = {tes.statistic:.4g}" in rows.loc["tes", "note"]
    else:
        assert rows.loc["tes", "statistic"] == tes.statistic
    assert rows.loc["henmi_copas", "estimate"] == bias.henmi_copas(YI, VI).estimate
    s_values = bias.s_values(YI, VI)
    assert rows.loc["svalue", "statistic"] == s_values.svalue_estimate
    assert rows.loc["svalue", "svalue_ci"] == s_values.svalue_ci
    assert rows.loc["svalue", "estimate"] == s_values.worst.estimate


def test_report_sentence_and_titles():
    from alliance_meta.report.html import plot_title
    from alliance_meta.report.text import selection_sentence

    table = sm.selection_models_table(YI, VI, types=("halfnorm", "stepfun"), steps=(0.025, 0.5, 1))
    table.loc[1, ["estimate", "lrt_p"]] = np.nan  # as if the step function had not been fitted
    sentence = selection_sentence(table, "z")
    halfnorm = table.iloc[0]
    assert sentence.startswith("Adjusted for publication bias by one selection model (maximum likelihood)")
    assert f"r = {np.tanh(halfnorm.estimate):.2f}".replace("0.", ".") in sentence
    assert sentence.endswith("Not fitted: the step function with steps at one-sided p = .025 and .50 (selection-model table).")
    assert plot_title("results/outcome/weight_functions.png") == "Selection models: fitted weight functions"


def test_report_sentence_gives_no_range_when_the_estimates_round_alike():
    """'ranged from r = .31 (logistic) to .31 (beta)' is no range."""
    from alliance_meta.report.text import selection_sentence

    table = pd.DataFrame({"type": ["beta", "logistic", "power"], "estimate": [0.3101, 0.3104, 0.2],
                          "lrt_p": [0.5, 0.6, 0.7]})
    assert "ranged from r = .20 (power) to .30 (logistic)" in selection_sentence(table, "z")
    same = selection_sentence(table.iloc[:2], "z")
    assert "the estimate was r = .30 under each;" in same and "ranged" not in same


def test_a_model_with_one_degree_of_freedom_left_says_it_is_weakly_identified():
    """Beta (4 parameters) on 5 studies: the likelihood is nearly flat (metafor gives no warning, and its
    integrate() and our quadrature then reach estimates apart); the note says so. Not at 10 studies."""
    few = sm.fit_selection_model(YI[:5], VI[:5], "beta")
    assert few.note.startswith("k = 5 studies for 4 parameters: weakly identified")
    assert "weakly identified" not in sm.fit_selection_model(YI[:10], VI[:10], "beta").note


def test_a_model_not_fitted_says_so_beside_the_axes_and_why_in_the_note():
    """A model without an estimate: "not fitted" in the estimate column and its reason in the note beneath,
    not written across the axes (its data, the null and the dashed line)."""
    import matplotlib.pyplot as plt

    table = sm.selection_models_table(YI[:2], VI[:2], metric="z")
    figure = selection_estimates_plot(table, {"estimate": 0.2, "ci_lower": 0.0, "ci_upper": 0.4}, "z")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    [axis] = figure.axes
    panel = axis.get_tightbbox(renderer)
    texts = [t for t in figure.texts if t.get_text().strip()]
    rows = [t for t in texts if t.get_text() == "not fitted"]
    assert len(rows) == len(table)
    for text in texts:
        box = text.get_window_extent(renderer)
        assert not box.overlaps(axis.get_window_extent(renderer)), text.get_text()
    [note] = [t for t in texts if "Not fitted: Beta: k = 2 is too small" in t.get_text()]
    assert note.get_window_extent(renderer).y1 < panel.y0  # below the axis and its label
    assert "Step function (.025, .10, .50): k = 2 is too small to fit the stepfun" in " ".join(
        note.get_text().split("\n"))
    plt.close(figure)


def test_the_unadjusted_row_of_one_study_says_study():
    """The estimates figure of a family of one study labelled its unadjusted row "(k = 1 studies)"; its k was
    upright."""
    import matplotlib.pyplot as plt
    import alliance_meta as am

    analysis = am.selection_models(am.fit(np.array([0.3]), np.array([0.01]), metric="z"))
    figure = analysis.estimates_plot()
    labels = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text")) if "Unadjusted" in t.get_text()]
    assert labels == ["Unadjusted, REML\n($\\mathbfit{k}$ = 1 study)"]  # k bold italic, as the bold row (APA 2020, 6.46)
    plt.close(figure)


def test_the_selection_figure_names_the_estimation_in_words(tmp_path):
    """The note said "the unadjusted model fitted by ML", ML defined nowhere in the figure (APA 2020, sec. 7.26)."""
    import matplotlib.pyplot as plt

    table = sm.selection_models_table(YI, VI, metric="z")
    figure = selection_estimates_plot(table, {"estimate": 0.2, "ci_lower": 0.0, "ci_upper": 0.4}, "z")
    texts = " ".join(text.get_text() for text in figure.texts)
    assert "unadjusted model fitted by maximum likelihood." in texts and "by ML" not in texts
    figure.savefig(tmp_path / "selection.png", dpi=100, bbox_inches="tight")
    plt.close(figure)


def test_a_poorly_identified_model_is_grey_in_both_figures_with_its_reason():
    """Identical effects flag every fit poorly identified (the report and GRADE leave them out), but the figures
    drew them as adjusted estimates: beta at r = .76 [.50, .89] in the colour of the others, untitled in its panel."""
    import matplotlib.collections
    import matplotlib.colors
    import matplotlib.pyplot

    table = sm.selection_models_table(YI, VI, metric="z")
    note = f"{sm.POORLY_IDENTIFIED}: every study has the same effect size"
    table.loc[0, "note"], table.loc[5, ["converged", "note"]] = note, [False, "not at a maximum"]
    figure = selection_estimates_plot(table, {"estimate": 0.15, "ci_lower": 0.09, "ci_upper": 0.21}, "z")
    footnote = " ".join(text.get_text() for text in figure.texts).replace("\n", " ")
    assert (f"Grey: not an adjusted estimate: Beta: {note}; Negative exponential power: not at a maximum."
            in footnote)
    squares = [c for c in figure.axes[0].collections if isinstance(c, matplotlib.collections.PathCollection)]
    grey = {round(float(c.get_offsets()[0][1]), 6) for c in squares
            if matplotlib.colors.to_hex(c.get_facecolor()[0]) == "#9e9e9e"}
    assert grey == {len(table) - 1.0, len(table) - 6.0}  # beta (the first model) and the negexppow rows
    weights = weight_functions_plot(table, YI, VI)
    assert weights.axes[0].get_title(loc="left") == "Beta (poorly identified)"
    assert weights.axes[5].get_title(loc="left") == "Negative exponential power\n(not converged)"  # within its panel
    assert matplotlib.colors.to_hex(weights.axes[0].lines[0].get_color()) == "#9e9e9e"
    for figure in (figure, weights):
        matplotlib.pyplot.close(figure)


def test_a_model_that_did_not_converge_is_grey_in_both_figures():
    import matplotlib.colors
    import matplotlib.pyplot

    # a beta model 'not at a maximum' was drawn in the colour of the adjusted estimates, its r = -1.00 read as one
    table = sm.selection_models_table(YI, VI, metric="z")
    table.loc[0, ["converged", "note"]] = [False, "not at a maximum"]
    figure = selection_estimates_plot(table, {"estimate": 0.15, "ci_lower": 0.09, "ci_upper": 0.21}, "z")
    footnote = " ".join(text.get_text() for text in figure.texts).replace("\n", " ")
    assert "Grey: did not converge, not an adjusted estimate: Beta: not at a maximum." in footnote
    colours = {matplotlib.colors.to_hex(c.get_facecolor()[0]) for c in figure.axes[0].collections if len(c.get_facecolor())}
    assert "#9e9e9e" in colours and "#1f4e79" in colours
    weights = weight_functions_plot(table, YI, VI)
    assert weights.axes[0].get_title(loc="left") == "Beta (not converged)"
    assert weights.axes[1].get_title(loc="left") == "Half-normal"
    for figure in (figure, weights):
        matplotlib.pyplot.close(figure)


def test_weight_functions_of_no_fitted_model_are_one_message_not_a_grid_of_empty_panels():
    """k = 1 or 2: seven empty panels each held a sentence in 7-pt italics, under a footnote on p-value ticks that
    no panel drew; now one figure says that no model was fitted and why, model by model."""
    import matplotlib.pyplot

    table = sm.selection_models_table(YI[:2], VI[:2], metric="z")
    figure = weight_functions_plot(table, YI[:2], VI[:2])
    texts = [text.get_text() for axis in figure.axes for text in axis.texts] + [t.get_text() for t in figure.texts]
    assert len(figure.axes) == 1 and len(texts) == 1
    assert texts[0].startswith("No selection model was fitted.")
    assert "Half-normal: k = 2 is too small" in texts[0] and "Ticks below each axis" not in texts[0]
    matplotlib.pyplot.close(figure)


def test_a_wide_interval_does_not_run_into_the_lrt_column():
    """'-6.62 [-81.83, 68.59]' (a power model not at a maximum, multilevel test folder) ran over 'p = .022'."""
    import matplotlib.pyplot

    table = sm.selection_models_table(YI, VI, metric="smd")
    table.loc[4, ["estimate", "ci_lower", "ci_upper", "lrt_p"]] = [-6.616, -81.827, 68.594, 0.0222]
    figure = selection_estimates_plot(table, {"estimate": 0.45, "ci_lower": 0.21, "ci_upper": 0.69}, "smd")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in figure.texts if text.get_text().strip()]
    for i, one in enumerate(boxes):
        for other in boxes[i + 1:]:
            assert not one.overlaps(other)
    matplotlib.pyplot.close(figure)


def test_a_model_that_did_not_converge_does_not_set_the_axis():
    """Its interval (-81.83 to 68.59 on a g axis) squeezed the converged models into a few pixels at 0."""
    import matplotlib.pyplot

    table = sm.selection_models_table(YI, VI, metric="smd")
    table.loc[4, ["estimate", "ci_lower", "ci_upper", "converged"]] = [-6.616, -81.827, 68.594, False]
    figure = selection_estimates_plot(table, {"estimate": 0.45, "ci_lower": 0.21, "ci_upper": 0.69}, "smd")
    left, right = figure.axes[0].get_xlim()
    converged = table.drop(index=4)
    assert left > -81 and right < 68
    assert left <= converged["ci_lower"].min() and right >= converged["ci_upper"].max()
    arrows = [line.get_marker() for line in figure.axes[0].lines if line.get_marker() in ("<", ">")]
    assert sorted(arrows) == ["<", ">"]
    matplotlib.pyplot.close(figure)


def test_a_weight_at_its_bound_gives_no_overflow_warning():
    """The beta selection model of eight simulated correlations, its delta at the bound, printed numpy's
    "RuntimeWarning: overflow encountered in exp" to a notebook (the tail's bound dwarfed the quadrature sum)."""
    import warnings

    import alliance_meta as am

    r = np.array([0.31, 0.22, 0.45, 0.12, 0.28, 0.19, 0.38, 0.25])  # simulated, not real studies
    n = np.array([64, 120, 38, 210, 85, 150, 47, 99])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = am.selection_models(am.fit(np.arctanh(r), 1 / (n - 3), metric="z"), types=["beta"]).to_frame()
    assert table["converged"].iloc[0] and "delta at its bound" in table["note"].iloc[0]


def test_every_selection_model_of_identical_effects_is_flagged_poorly_identified():
    """Eight studies of r = .25, n = 80 (a spread of 0): beta moves Fisher z from 0.26 to 0.99, power to -0.21 (as
    metafor); no fit may stand in the report as a bias-corrected effect."""
    from alliance_meta import fit
    from alliance_meta.report.text import selection_sentence

    yi, vi = np.full(8, np.arctanh(0.25)), np.full(8, 1 / 77)
    table = sm.selection_models(fit(yi, vi, metric="z")).to_frame().set_index("type")
    fitted = table[table["estimate"].notna()]
    assert list(fitted.index) == CONTINUOUS  # the step function: its empty p-value intervals say why not
    assert fitted["note"].str.contains("poorly identified: every study has the same effect size").all()
    assert selection_sentence(table.reset_index(), "z").startswith("No selection model gave a usable estimate")


def test_selection_models_of_a_review_with_every_effect_negative_say_the_p_values_favour_positive_ones():
    """Seven simulated correlations, all negative (a sheet coding a scale scored the other way round without
    reverse = yes): one-sided p-values (metafor's alternative = "greater") put every study in the step function's
    last interval and the continuous models adjust for selection of positive effects; each row and the Results
    say so, once. Two-sided p-values, or one positive effect among them, need no such note."""
    import matplotlib.text
    import matplotlib.pyplot as plt

    from alliance_meta import fit
    from alliance_meta.analyses.bias.results import NO_POSITIVE_EFFECT
    from alliance_meta.report.text import selection_sentence

    r = np.array([-0.31, -0.12, -0.25, -0.42, -0.18, -0.29, -0.05])  # simulated, not real studies
    n = np.array([80, 95, 60, 120, 70, 150, 88])
    yi, vi = np.arctanh(r), 1 / (n - 3)
    table = sm.selection_models(fit(yi, vi, metric="z")).to_frame()
    assert table["note"].str.endswith(NO_POSITIVE_EFFECT).all()
    step = table.set_index("type").loc["stepfun", "note"]
    assert step.startswith("not computed: the p-value intervals (0, 0.025], (0.025, 0.1], (0.1, 0.5] have no studies")
    sentence = selection_sentence(table, "z")
    assert sentence.count("No effect was positive") == 1 and "config/README.md" not in sentence
    assert "have no studies [studies per interval: 0, 0, 0, 7])" in sentence  # the reason without the note
    analysis = sm.selection_models(fit(yi, vi, metric="z"))
    for figure in (analysis.estimates_plot(), analysis.weight_functions_plot()):  # not in every panel: it overran
        # wrapped over lines: compared with one space between words
        texts = " ".join(" ".join(text.get_text().split()) for text in figure.findobj(matplotlib.text.Text))
        assert "have no studies" in texts and "no effect fitted is positive" not in texts
        assert "bias.selection.sided: two" not in texts
        plt.close(figure)
    for other in (sm.selection_models(fit(yi, vi, metric="z"), sided="two").to_frame(),
                  sm.selection_models(fit(np.append(yi, 0.1), np.append(vi, 0.01), metric="z")).to_frame(),
                  sm.selection_models(fit(np.zeros(4), vi[:4], metric="z")).to_frame()):
        assert not other["note"].fillna("").str.contains(NO_POSITIVE_EFFECT, regex=False).any()
        assert "was positive" not in selection_sentence(other, "z")


def test_an_effect_of_zero_among_negative_ones_keeps_the_note_and_multilevel_names_study_composites():
    """The note required every effect < 0, though its reason is that none is positive: one imputed r = 0 dropped it
    while the step function's first intervals stayed empty. Under dependence: multilevel the check is on the study
    composites (a study with a positive effect size may have a negative composite): the Results say so."""
    from alliance_meta import fit
    from alliance_meta.analyses.bias.results import NO_POSITIVE_EFFECT
    from alliance_meta.report.text import selection_sentence

    r = np.array([-0.31, -0.12, -0.25, -0.42, 0.0, -0.29, -0.05])  # simulated, not real studies
    n = np.array([80, 95, 60, 120, 70, 150, 88])
    table = sm.selection_models(fit(np.arctanh(r), 1 / (n - 3), metric="z")).to_frame()
    assert table["note"].str.endswith(NO_POSITIVE_EFFECT).all()
    frame = pd.DataFrame({"study_id": ["A", "A", "B", "C", "D", "E", "F"],
                          "yi": np.arctanh(r) + [0.4, 0, 0, 0, 0, 0, 0], "vi": 1 / (n - 3)})
    assert frame["yi"].gt(0).any()  # an effect size of study A is positive, its composite not
    multilevel = sm.selection_models(fit(frame, dependence="multilevel", metric="z")).to_frame()
    assert multilevel["note"].str.endswith(NO_POSITIVE_EFFECT).all()
    sentence = selection_sentence(multilevel, "z", composites=True)
    assert "No study composite was positive, but the selection models acted on one-sided p-values" in sentence


def test_the_report_gives_the_sign_advice_once_as_the_selection_table_note_not_in_every_row():
    """The report's selection-model table repeated the ~330-character advice in every row, beside the rows' own
    reasons ("not computed: ..."): the rows now show their reasons only and the table's note gives it once; the CSV
    keeps it in every row's note (docs/outputs.md)."""
    from alliance_meta import fit
    from alliance_meta.analyses.bias.results import NO_POSITIVE_EFFECT
    from alliance_meta.report.html import family_section

    r = np.array([-0.31, -0.12, -0.25, -0.42, -0.18, -0.29, -0.05])  # simulated, not real studies
    n = np.array([80, 95, 60, 120, 70, 150, 88])
    table = sm.selection_models(fit(np.arctanh(r), 1 / (n - 3), metric="z")).to_frame()
    assert table["note"].str.endswith(NO_POSITIVE_EFFECT).all()  # the CSV's rows
    section = family_section("outcome", "z", {"selection_models": table}, None, [], {}, {})
    [shown] = [t for t in section.tables if t.name == "selection_models"]
    cells = " ".join(" ".join(map(str, row)) for row in shown.rows)
    assert "reverse = yes" not in cells and "have no studies" in cells
    assert shown.note.count("reverse = yes") == 1 and shown.note.startswith("No effect fitted is positive")
    plain = family_section("outcome", "z", {"selection_models": sm.selection_models(
        fit(np.arctanh(-r), 1 / (n - 3), metric="z")).to_frame()}, None, [], {}, {})
    assert not any("reverse = yes" in t.note for t in plain.tables)
