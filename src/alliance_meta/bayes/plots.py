"""Figures of the Bayesian stage: posterior densities with the prior, the forest plot of
observed against shrunken study effects, and the prior-sensitivity densities.

Exact densities come from the quadrature: p(tau|y) = p(tau) p(y|tau) / p(y), and the
pooled effect's density is the normal mixture transformed to r (change of variables).
"""

from __future__ import annotations

import numpy as np

from alliance_meta.engines.transforms import METRIC_NAMES, ByMetric, back_transform
from alliance_meta.wording import family_name
from .exact import ExactPosterior, conditional_posterior

def scale_label(metric: str) -> str:
    """The plotted scale in the words and italics of the other figures, lower case after "Pooled effect, "
    (:attr:`plots.style.Scale.inline_label`); the log odds ratio as analysed (the other figures show odds ratios)."""
    from alliance_meta.plots.style import SCALES

    return METRIC_NAMES["log_or"] if metric == "log_or" else SCALES[metric].inline_label
#: the unit of tau on its axis: the metric's name, short for an smd family all from odds ratios (the axis is narrow)
TAU_UNITS = ByMetric(dict(METRIC_NAMES), "Cohen's d")


def tau_label(metric: str) -> str:
    """x label of tau: the between-study SD in the analysis metric, tau as every figure sets it (plots.style.symbol)
    (:func:`alliance_meta.plots.style.symbol`)."""
    from alliance_meta.plots.style import metric_name, symbol

    return f"Between-study SD {symbol('tau')} ({metric_name(metric, TAU_UNITS) if metric in TAU_UNITS else metric})"


#: most ticks on a tau axis: matplotlib's default (up to 9) wrote 0.000 0.025 ... 0.150 on the posterior figure's
#: 3-in panel, its labels nearly touching; four intervals give 0.00 0.05 0.10 0.15
TAU_BINS = 4


def tau_axis(axis) -> None:
    """The ticks of a tau axis (x): at most :data:`TAU_BINS` intervals between round values (1, 2, 2.5 or 5 times a
    power of ten: matplotlib's MaxNLocator)."""
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(nbins=TAU_BINS, steps=[1, 2, 2.5, 5, 10]))


#: rcParams of the Bayesian figures, set while each is drawn and saved (not for the process: a funnel plot drawn
#: after a Bayesian figure in the same session had its ticks laid out at this font size)
STYLE = {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "pdf.fonttype": 42}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _styled(function):
    """``function`` run with :data:`STYLE` in force (figures are drawn lazily: :func:`save` sets it again)."""
    import functools

    @functools.wraps(function)
    def styled(*args, **kwargs):
        with _pyplot().rc_context(STYLE):
            return function(*args, **kwargs)
    return styled


def display_scale(metric: str):
    """(transform to the plotted scale, axis label): r for Fisher z, the metric otherwise."""
    if metric == "z":
        return (lambda x: back_transform(x, "z")["r"]), scale_label("z")
    return (lambda x: np.asarray(x, dtype=float)), scale_label(metric)


def effect_axis(axis, metric: str) -> None:
    """The ticks of a pooled or study effect's axis: r (of a Fisher-z family) without the leading zero, as every
    figure writes a correlation (:func:`alliance_meta.plots.style.bounded_axis`); the log odds ratio of the posterior
    figures (drawn as analysed; the shrinkage forest plot draws odds ratios on a log axis) and g as matplotlib writes
    them."""
    if metric == "z":
        from alliance_meta.plots.style import bounded_axis

        bounded_axis(axis)


def tau_density(post: ExactPosterior, tau) -> np.ndarray:
    """Exact marginal posterior density of tau."""
    tau = np.asarray(tau, dtype=float)
    log_lik = conditional_posterior(post.y, post.v, post.X, post.prior_sd, tau)[2]
    return np.exp(post.tau_prior.logpdf(tau) + log_lik - post.log_evidence)


def effect_density(post: ExactPosterior, metric: str, n: int = 600):
    """(x, density) of the pooled effect on the display scale (exact)."""
    mixture = post.coefficient(0)
    grid = np.linspace(mixture.mean() - 6 * mixture.sd(), mixture.mean() + 6 * mixture.sd(), n)
    to_display, _ = display_scale(metric)
    x = to_display(grid)
    return x, mixture.pdf(grid) / np.gradient(x, grid)


@_styled
def posterior_figure(draws: dict, post: ExactPosterior, metric: str, title: str = ""):
    """Two panels: pooled effect and tau; MCMC histogram, exact density, prior (dashed)."""
    plt = _pyplot()
    to_display, label = display_scale(metric)
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.8, 2.9), constrained_layout=True)  # 7 in as saved
    x, density = effect_density(post, metric)
    heights = left.hist(to_display(np.ravel(draws["mu"])), bins=60, density=True, color="0.82", edgecolor="none",
                        label="Markov chain Monte Carlo draws")[0]  # in words: a figure defines its abbreviations
    left.plot(x, density, color="black", lw=1.4, label="exact posterior")
    grid = np.linspace(x.min(), x.max(), 400)
    inverse = {"z": np.arctanh}.get(metric, lambda v: v)
    jac = np.gradient(to_display(inverse(grid)), inverse(grid))
    prior = np.exp(-0.5 * (inverse(grid) / post.prior_sd[0]) ** 2) / (np.sqrt(2 * np.pi) * post.prior_sd[0]) / jac
    left.plot(grid, prior, color="black", lw=1.0, ls="--", label="prior")
    left.set_xlabel(f"Pooled effect, {label}")
    left.set_ylabel("Density")
    effect_axis(left, metric)
    left.legend(frameon=False, fontsize=8, loc="upper left")
    tau_draws = np.ravel(draws["tau"])
    upper = max(np.quantile(tau_draws, 0.999), post.tau_summary()["hdi_upper"] * 1.3)
    taus = np.linspace(0, upper, 500)
    right.hist(tau_draws, bins=60, range=(0, upper), density=True, color="0.82", edgecolor="none")
    right.plot(taus, tau_density(post, taus), color="black", lw=1.4)
    right.plot(taus, post.tau_prior.pdf(taus), color="black", lw=1.0, ls="--")
    right.set_xlabel(tau_label(metric))
    right.set_xlim(0, upper)
    tau_axis(right)
    right.set_ylim(bottom=0)
    left.set_ylim(0, 1.45 * max(heights.max(), density.max()))  # room for the legend above the peak
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


#: bayes.csv's rows of the pooled and the predictive effect on a Fisher-z family's r scale, and bayes_studies.csv's
#: prefix of its study effects' columns: the mean and HDI of the draws (and exact posterior) of r itself, as the
#: Results and the tables give them; tanh of mu's mean and HDI limits is neither (a new study: .293 against .290)
R_ROWS = {"mu": "r", "theta_new": "r_new"}
R_PREFIX = "r_"
SUMMARIES = ("hdi_lower", "mean", "hdi_upper")
#: a log-odds-ratio family's forest plot: the odds ratio (log axis, as the family's other forest plot) by its posterior
#: median and equal-tailed interval (bayes.csv's rows ``or``, ``or_new``; exp of the study effects' own), the summary
#: the Results and the Bayes table give it (:data:`alliance_meta.bayes.summaries.CENTRAL_ROWS`)
OR_ROWS = {"mu": "or", "theta_new": "or_new"}
CENTRAL = ("eti_lower", "median", "eti_upper")


def forest_scale(metric: str):
    """(transform to the forest plot's scale, axis label, reference line, the summary: its centre, the interval's
    abbreviation and kind): a log-OR family's odds ratio on a log axis by its posterior median and equal-tailed
    credible interval, else :func:`display_scale` by the posterior mean and HDI."""
    from alliance_meta.plots.style import SCALES

    if metric == "log_or":
        return np.exp, SCALES["log_or"].label, 1.0, ("median", "CrI", "equal-tailed")
    return display_scale(metric)[0], SCALES[metric].label, 0.0, ("mean", "HDI", "")


def on_display_scale(table, name: str | None, metric: str) -> list:
    """(lower limit, centre, upper limit) of row ``name`` of ``table`` (bayes.csv, indexed by parameter; or
    bayes_studies.csv's columns, ``name`` None) on the forest plot's scale (:func:`forest_scale`): for Fisher z
    the posterior mean and HDI of r itself (:data:`R_ROWS`, :data:`R_PREFIX`), for a log OR the median and
    equal-tailed interval of the odds ratio (:data:`OR_ROWS`), where the table has them; else (a table of an
    earlier run) the transform of the analysis metric's mean and HDI."""
    to_display = forest_scale(metric)[0]
    if metric == "log_or" and name is None and all(column in table for column in CENTRAL):
        return [to_display(np.asarray(table[column], dtype=float)) for column in CENTRAL]
    if metric == "log_or" and name is not None and OR_ROWS.get(name) in table.index and "median" in table:
        return [float(table.loc[OR_ROWS[name], column]) for column in CENTRAL]
    if metric == "z" and name is None and all(R_PREFIX + column in table for column in SUMMARIES):
        return [np.asarray(table[R_PREFIX + column], dtype=float) for column in SUMMARIES]
    if metric == "z" and name is not None and R_ROWS.get(name) in table.index:
        return [float(table.loc[R_ROWS[name], column]) for column in SUMMARIES]
    return [to_display(table[column] if name is None else table.loc[name, column]) for column in SUMMARIES]


def observed_interval(studies, level: float = 95):
    """((lower, upper), level drawn) of the studies' observed Wald CIs, yi -+ z_(1 - alpha/2) sqrt(vi) at ``level``
    percent (Borenstein et al. 2009, eq. 8.3); a table without ``vi`` keeps its ``ci_lower``/``ci_upper``, which
    bayes_studies.csv writes at 95%."""
    from scipy import special

    from alliance_meta.engines.heterogeneity import level_alpha

    if "vi" not in studies:
        return (studies["ci_lower"], studies["ci_upper"]), 95.0
    half = special.ndtri(1 - level_alpha(level) / 2) * np.sqrt(np.asarray(studies["vi"], dtype=float))
    yi = np.asarray(studies["yi"], dtype=float)
    return (yi - half, yi + half), float(level)


@_styled
def forest_figure(studies, table, metric: str, title: str = "", hdi_prob: float = 0.95, level: float = 95):
    """Observed estimates with ``level``% Wald CIs (open squares; ``pooling.level``) against posterior means with
    HDIs of the study effects (filled circles), and the pooled and predictive rows (diamonds; the dashed line at the pooled centre and the dotted
    one at no effect, both in the legend); on a Fisher-z family the posterior means and HDIs of r itself, on a log-OR
    family the posterior medians and equal-tailed intervals of the odds ratios (:func:`on_display_scale`);
    ``hdi_prob``: the intervals' mass (``bayes.hdi_prob``). The observed CIs are yi -+ z sqrt(vi) at ``level``
    (:func:`observed_interval`)."""
    from alliance_meta.plots.style import SCALES, SMALLEST_FONT, plain_text
    from alliance_meta.wording import INTERVAL_NAMES, probability_percent

    plt = _pyplot()
    to_display, label, null, (centre, interval, kind) = forest_scale(metric)
    if "median" not in table:  # a bayes.csv of an earlier run: exp of the mean and HDI (on_display_scale)
        centre, interval, kind = "mean", "HDI", ""
    import textwrap

    percent = f"{probability_percent(hdi_prob)}%"
    hdi = f"{percent} {interval}" + (f", {kind}" if kind else "")
    # the legend, above the panel, spells the interval out: the figure's first use of its abbreviation
    spelled = f"{percent} {kind + ' ' if kind else ''}{INTERVAL_NAMES[interval]} ({interval})"
    data = studies.sort_values("yi").reset_index(drop=True)
    k = len(data)
    # long labels wrap, the rows as tall as the longest needs (unwrapped, they left the panel an inch)
    labels = ["\n".join(textwrap.wrap(plain_text(label), 45, break_long_words=False)) or plain_text(label)
              for label in (data["label"] if "label" in data else data["study_id"]).astype(str)]
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    height = max(3.0, 0.14 * lines * (k + 4) + 0.9)
    fig, ax = plt.subplots(figsize=(6.3, height), constrained_layout=True)
    rows = np.arange(k)[::-1] + 3
    offset = 0.18
    (ci_lower, ci_upper), shown = observed_interval(data, level)
    ax.hlines(rows + offset, to_display(ci_lower), to_display(ci_upper), color="0.55", lw=0.8)
    ax.plot(to_display(data["yi"]), rows + offset, "s", ms=3, mfc="white", mec="0.4", mew=0.7,
            label=f"observed ({shown:g}% CI)")
    lower, mean, upper = on_display_scale(data, None, metric)
    ax.hlines(rows - offset, lower, upper, color="black", lw=0.9)
    ax.plot(mean, rows - offset, "o", ms=2.6, color="black", label=f"shrunken: posterior {centre}, {spelled}")
    summary = table.set_index("parameter")
    for row, name in ((1.5, "mu"), (0.5, "theta_new")):
        lo, mid, hi = on_display_scale(summary, name, metric)
        ax.fill([lo, mid, hi, mid], [row, row + 0.35, row, row - 0.35], color="black" if name == "mu" else "0.6")
    ax.set_yticks(list(rows) + [1.5, 0.5], labels + [f"Pooled effect: posterior {centre} ({hdi})",
                                                   f"New study: posterior {centre} ({hdi})"],
                  fontsize=SMALLEST_FONT if k > 40 else 8)  # rows of 0.14 in hold 7-pt labels (6 pt was illegible)
    # both lines in the legend: a reader had to guess the dotted one (no effect) and the dashed one (pooled centre)
    ax.axvline(null, color="0.3", lw=0.6, ls=":", label=f"no effect ({SCALES[metric].italic_symbol} = {null:g})")
    ax.axvline(on_display_scale(summary, "mu", metric)[1], color="0.3", lw=0.6, ls="--",
               label=f"pooled effect: posterior {centre}")
    ax.set_ylim(-0.2, k + 3.6)
    ax.set_xlabel(label)
    if metric == "log_or":
        from alliance_meta.plots.style import log_metric_axis

        log_metric_axis(ax)
    effect_axis(ax, metric)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.legend(frameon=False, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, borderaxespad=0.2)
    if title:  # on the panel's lines (a log-OR family's longer labels narrow it; one line ran past the figure)
        from alliance_meta.plots.forest_layout import wrap_drawn

        fig.draw_without_rendering()  # the panel as wide as the labels leave it
        lines = wrap_drawn(title, ax.get_window_extent().width / fig.dpi, 10, plt.rcParams["font.family"])
        key = ax.get_legend().get_window_extent().height * 72 / fig.dpi  # points: the title above the legend's rows
        ax.set_title("\n".join(lines), fontsize=10, loc="left", pad=key + 4)
    return fig


def family_figures(data, studies, table, draws: dict, metric: str, priors, family: str, labels=None,
                   hdi_prob: float = 0.95, level: float = 95):
    """The two figures of rule ``bayes_plots`` for a family: the posterior densities (MCMC, exact, prior) and
    the forest plot of observed against shrunken effects, with the studies named as in the family's forest
    plot (``labels``: config ``plots.labels``); ``hdi_prob``: the mass of the HDIs (config ``bayes.hdi_prob``);
    ``level``: the observed CIs' confidence level in percent (config ``pooling.level``).

    ``data`` are the family's studies, one row each (``yi``, ``vi``, the label columns); ``studies`` and
    ``table`` are ``bayes_studies.csv`` and ``bayes.csv``; ``priors`` those of the fit
    (:class:`~alliance_meta.bayes.priors.Priors`). Without studies, each is a figure that says so.
    """
    from alliance_meta.plots.forest_options import study_labels
    from alliance_meta.plots.style import message_figure, symbol

    from .exact import exact_posterior

    name = family_name(family, capital=True)
    if len(data) == 0:
        empty = message_figure(f"{name}: no studies", size=(4, 1))
        return empty, empty
    names = dict(zip(data["study_id"], study_labels(data, labels, escape=False)))
    studies = studies.assign(label=studies["study_id"].map(names).fillna(studies["study_id"]))
    post = exact_posterior(data["yi"], data["vi"], priors.tau, priors.mu_sd)
    return (posterior_figure(draws, post, metric, f"{name}: posterior of the pooled effect and of {symbol('tau')}"),
            forest_figure(studies, table, metric, f"{name}: observed and shrunken study effects", hdi_prob,
                          level))


def sensitivity_title(family: str) -> str:
    """The title of a family's prior-sensitivity figure, the family named as in the other Bayesian figures."""
    return f"{family_name(family, capital=True)}: prior sensitivity (exact posterior)"


@_styled
def sensitivity_figure(posteriors: dict, metric: str, title: str = ""):
    """Exact posterior densities of the pooled effect and of tau under each tau prior, each named by its legend
    (:meth:`~alliance_meta.bayes.priors.TauPrior.legend`), its tau and tau^2 set as every figure sets them
    (:func:`alliance_meta.plots.style.math_statistics`)."""
    from alliance_meta.plots.style import math_statistics

    plt = _pyplot()
    _, label = display_scale(metric)
    rows = -(-len(posteriors) // 2)  # the legend's rows, two priors to a row
    # the legend in an axes row of its own and tight_layout: with constrained layout and a figure legend at the
    # bottom, saving in a tight box that includes the provenance note (add_note) drew the legend on the note
    fig, axes = plt.subplot_mosaic([["left", "right"], ["legend", "legend"]], figsize=(7.0, 2.8 + 0.16 * rows),
                                   height_ratios=[2.6, 0.16 * rows + 0.05])
    left, right, key = axes["left"], axes["right"], axes["legend"]
    styles = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1))]
    upper = max(post.tau_summary()["hdi_upper"] for _, post in posteriors.values()) * 1.4
    taus = np.linspace(0, upper, 500)
    for i, (prior, post) in enumerate(posteriors.values()):
        style = dict(color=f"{0.0 + 0.12 * (i % 5):.2f}", ls=styles[i % len(styles)], lw=1.2)
        # in words (half-normal, the source of an empirical prior), not the CSV's key (half_normal, turner2015_...)
        left.plot(*effect_density(post, metric), label=math_statistics(prior.legend()), **style)
        right.plot(taus, tau_density(post, taus), **style)
    left.set_xlabel(f"Pooled effect, {label}")
    left.set_ylabel("Exact posterior density")
    effect_axis(left, metric)
    right.set_xlabel(tau_label(metric))
    right.set_xlim(0, upper)
    tau_axis(right)
    for ax in (left, right):
        ax.set_ylim(bottom=0)
    key.axis("off")
    key.legend(*left.get_legend_handles_labels(), loc="center", ncols=2, frameon=False, fontsize=7, borderaxespad=0)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


@_styled
def save(fig, *paths, note: str | None = None, dpi: int | None = None) -> None:
    """Save one figure to several files (format from the suffix; PNG at ``dpi``, plots.dpi, default
    :data:`~alliance_meta.plots.style.DPI`), ``note`` beneath it, and close it."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.provenance import add_note
    from alliance_meta.plots.style import DPI, save_file

    add_note(fig, note)
    for path in paths:
        save_file(fig, path, dpi=dpi or DPI, bbox_inches="tight" if note else None)
    plt.close(fig)
