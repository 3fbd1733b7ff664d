"""Fitted models with one interface: :class:`UnivariateFit` and :class:`MultilevelFit`.

:func:`fit` (``am.fit``) is the entry point. A univariate fit is metafor's ``rma.uni``
(one composite per study when a study reports several effect sizes,
:func:`alliance_meta.inputs.dependence.aggregate`); a three-level fit is ``rma.mv(yi, V,
random = ~ 1 | study_id / es_id)`` with compound-symmetric sampling errors (the CHE model of
Pustejovsky & Tipton 2022). Both answer the same questions the same way (``estimate``,
``se``, ``pvalue``, ``tau2``, ``i2``, ``k``, ``conf_int()``, ``predict()``, ``summary()``,
``to_frame()``, ``plot_forest()``), and the analyses of :mod:`alliance_meta.analyses` take
either and dispatch on its type, as metafor's methods dispatch on ``rma.uni`` / ``rma.mv``.
"""

from __future__ import annotations

import difflib
import inspect
import math
import warnings
from pathlib import Path
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import special

from alliance_meta.engines import distributions as dist
from alliance_meta.engines import robust
from alliance_meta.engines.heterogeneity import Control, level_alpha
from alliance_meta.engines.transforms import back_transform, family_metric, transform_scale
from alliance_meta.inputs.dependence import DEPENDENCE, aggregate
from alliance_meta.inputs.effect_sizes import METRICS, notebook_frame, notebook_numbers
from alliance_meta.inputs.options import caller_stacklevel, keywords_checked, settings_alias, unknown_keywords
from alliance_meta.models import multilevel, univariate
from alliance_meta.wording import counted, did_you_mean, plural

DEFAULT_RHO = 0.5  # the config's aggregate_rho default: assumed correlation within a study
MULTILEVEL_METHODS = ("REML", "ML")
MULTILEVEL_TESTS = ("z", "t", "cr2")
BACK_TRANSFORMED = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")
BACK_SUFFIXES = ("", "_ci_lower", "_ci_upper", "_pi_lower", "_pi_upper")
MULTILEVEL_COLUMNS = (
    "sigma2_between", "sigma2_within", "sigma2_between_ci_lower", "sigma2_between_ci_upper",
    "sigma2_within_ci_lower", "sigma2_within_ci_upper", "i2_between", "i2_within", "n_studies", "df",
    "rho", "loglik", "lrt_between", "lrt_between_p",
)
NOT_CONVERGED = "the likelihood maximisation of sigma2 did not converge"
CR2_NOTE = "CR2 (clubSandwich) standard error, Satterthwaite t df"
CR2_ONE_STUDY_NOTE = robust.CR2_TOO_FEW + ": se, df, CI and p are NaN"
ONE_LEVEL_NOTE = ("every study has one effect size: sigma2_between and sigma2_within are not separately identified "
                  "(only their sum, tau2, is; so are not their I2 shares, intervals and tests); dependence: aggregate "
                  "fits the same model with one variance")
NO_STUDY_ID_NOTE = ("the rows have no study_id column, so each row is taken as its own study: sigma2_between and "
                    "sigma2_within are not separately identified (only their sum, tau2, is); pass the rows with "
                    "study_id (rows sharing it are one study's effect sizes), or fit dependence='aggregate'")
ADHOC_THREE_LEVEL_NOTE = ("test 'adhoc' read as rma.mv's t test (k - p df): the three-level model has no "
                          "Knapp-Hartung scale factor, so the ad hoc floor (not below 1) is not applied")


class NotApplicable(TypeError):
    """An analysis that is not defined for this model type (as metafor's ``.chkclass``)."""


def require_fit(fit, caller: str) -> None:
    """TypeError unless ``fit`` is a fit of :func:`fit` (``UnivariateFit`` or ``MultilevelFit``), the one
    thing the analyses take (as metafor's ``.chkclass``): a DataFrame or arrays would fail deep inside."""
    if isinstance(fit, Fit):
        return
    data_like = isinstance(fit, (pd.DataFrame, pd.Series, np.ndarray, list, tuple))
    hint = " (fit the rows first: am.fit(rows) or am.fit(yi, vi))" if data_like else ""
    raise TypeError(f"{caller} takes a fitted model from am.fit (UnivariateFit or MultilevelFit), "
                    f"not {type(fit).__name__}{hint}")


def knha_adhoc(fit, given: bool | None = None, caller: str = "the analysis") -> bool:
    """Whether an analysis of ``fit`` runs its Knapp-Hartung tests as metafor's ad hoc variant (``test = "adhoc"``:
    the scale factor not below 1): ``given`` (True or False, e.g. ``pooling.knha_adhoc``), or None: as the fit,
    whose test is ``adhoc`` (as pooled.csv's knha rows under ``pooling.knha_adhoc``)."""
    if given is None:
        return fit.test == "adhoc"
    if not isinstance(given, (bool, np.bool_)):
        raise TypeError(f"{caller}: knha_adhoc is True, False or None (as the fit: its test is 'adhoc'), not {given!r}")
    return bool(given)


@dataclass(frozen=True)
class Prediction:
    """The pooled effect with its confidence and prediction intervals (metafor's ``predict.rma``)."""

    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    level: float
    transform: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{name: getattr(self, name) for name in
                              ("estimate", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "level")}])

    def __repr__(self) -> str:
        scale = f" ({self.transform})" if self.transform else ""
        return (f"Prediction{scale}: {self.estimate:.4f}, {self.level:g}% CI [{self.ci_lower:.4f}, "
                f"{self.ci_upper:.4f}], PI [{self.pi_lower:.4f}, {self.pi_upper:.4f}]")


@dataclass(frozen=True, repr=False, kw_only=True, eq=False)  # identity: their frames do not compare
class Fit:
    """What every fitted model has: its rows, how they were made, and the shared interface.

    ``data`` are the rows the model was fitted to (one composite per study for an aggregated
    univariate fit), ``effect_sizes`` the rows before aggregation (moderator analyses
    aggregate them within study x moderator level), ``metric`` the analysis metric (``z``,
    ``smd``, ``log_or``) that back-transformed columns and plots use.
    """

    kind: ClassVar[str] = "model"
    data: pd.DataFrame = field(repr=False)
    effect_sizes: pd.DataFrame = field(repr=False)
    metric: str | None = None
    aggregate_method: str = "gls"
    rho: float = DEFAULT_RHO
    #: the iteration control of a univariate model given to :func:`fit` (None: metafor's defaults; always None for
    #: a three-level fit, which has its own optimiser); every refit of the model takes it, as metafor's methods
    #: pass ``x$control`` on (:meth:`refit`; refits iterated to the converged root: ``heterogeneity.refit_control``)
    control: Control | None = field(default=None, repr=False)

    # -- what subclasses provide -------------------------------------------------------
    method: str
    test: str
    level: float

    @property
    def df(self) -> float:
        """Degrees of freedom of the test (inf for z)."""
        raise NotImplementedError

    # -- the shared interface --------------------------------------------------------------
    @property
    def yi(self) -> np.ndarray:
        return self.data["yi"].to_numpy(float)

    @property
    def vi(self) -> np.ndarray:
        return self.data["vi"].to_numpy(float)

    @property
    def study_id(self) -> np.ndarray:
        return self.data["study_id"].astype(str).to_numpy()

    @keywords_checked
    def moderator_columns(self, names, what: str = "moderator") -> list[str]:
        """``names`` (one name or a list) checked against the fit's rows: each a column, not study_id
        (the clustering variable); ValueError naming the available columns, with a did-you-mean, otherwise."""
        try:
            listed = [names] if isinstance(names, str) else list(names)
        except TypeError:
            listed = None
        if listed is None or not all(isinstance(name, str) for name in listed):
            raise TypeError(f"{what}: a column name or a list of column names, not {names!r}")
        columns = self.effect_sizes.columns
        for name in listed:
            if name == "study_id":
                raise ValueError("study_id cannot be a moderator: it is the clustering variable of the model "
                                 "(studies are its units)")
            if name not in columns:
                candidates = [str(c) for c in columns if c not in ("yi", "vi", "study_id", "es_id")]
                close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                available = (f"available: {', '.join(candidates)}" if candidates else
                             "the fit has no moderator columns (fit a frame that holds them: am.fit(frame), with "
                             "yi, vi, study_id and the moderators)")
                raise ValueError(f"{what} {name!r} is not a column of the fit's rows; {hint}{available}")
        return listed

    @keywords_checked
    def critical(self, level: float | None = None) -> float:
        """Critical value of the test at ``level`` percent (normal, or t with :attr:`df`)."""
        level = self.level if level is None else _percent(level)
        level_alpha(level)  # a level in percent, or a clear error
        upper = 1 - (1 - level / 100) / 2
        return float(special.ndtri(upper) if math.isinf(self.df) else special.stdtrit(self.df, upper))

    @keywords_checked
    def conf_int(self, level: float | None = None) -> tuple[float, float]:
        """Confidence interval of the pooled effect (analysis metric) at ``level`` percent."""
        if level is None or _percent(level) == float(self.level):
            return self._ci
        half = self.critical(level) * self.se
        return self.estimate - half, self.estimate + half

    @keywords_checked
    def predict(self, level: float | None = None, transform: str | None = None) -> Prediction:
        """Estimate, confidence and prediction interval (metafor's ``predict.rma``).

        ``transform``: ``None`` (analysis metric), or a back-transformed scale of the fit's
        metric (``"r"`` for Fisher z or SMD, ``"or"`` for log odds ratios or SMD), also by metafor's name of the
        function (``"exp"`` for log odds ratios; ``"transf.ztor"``, ``"ztor"``, ``"tanh"`` for Fisher z;
        ``"transf.dtorpb"`` for SMD: :data:`~alliance_meta.engines.transforms.METAFOR_TRANSFORMS`).
        """
        level = self.level if level is None else _percent(level)
        critical = self.critical(level)
        half = critical * self.se
        half_pi = critical * math.sqrt(self.se**2 + self.tau2) if math.isfinite(self.tau2) else math.nan
        values = np.array([self.estimate, self.estimate - half, self.estimate + half,
                           self.estimate - half_pi, self.estimate + half_pi])
        se = self.se
        if transform is not None:
            if self.metric is None:
                raise ValueError(f"transform={transform!r} needs the analysis metric: "
                                 "fit(..., metric='z') (or 'smd', 'log_or', as its yi are)")
            transform = transform_scale(transform, self.metric)  # metafor's "exp", "tanh", ... too; None: the metric
        if transform is not None:
            values, se = back_transform(values, self.metric)[transform], math.nan
        return Prediction(float(values[0]), se, *(float(v) for v in values[1:]), level=level, transform=transform)

    def composites(self) -> pd.DataFrame:
        """One composite effect size per study (the rows univariate analyses use)."""
        return aggregate(self.effect_sizes, method=self.aggregate_method, rho=self.rho)

    @settings_alias
    @keywords_checked
    def plot_forest(self, path=None, settings=None, note: str | None = None):
        """The publication forest plot, written to ``path`` (one path or a list; format from the suffix; None:
        none) and returned: the figure, closed in pyplot as the library's other figures (a notebook shows it as
        the cell's value); the list of the PDF's pages where ``path`` names only PDFs and they have several.

        ``settings`` (or ``options``, its old name): a :class:`alliance_meta.plots.forest.ForestOptions` or the
        config's ``plots`` dict.
        ``note`` ends the footnote; by default rows marked ``simulated = yes`` get the pipeline's line saying
        the data are simulated (``note=""`` leaves it out).
        """
        from alliance_meta.plots.forest import ForestOptions, save_forest_plot
        from alliance_meta.plots.provenance import figure_note

        if self.metric is None:  # its axis, labels and numbers are those of the metric (it said Hedges' g)
            raise ValueError("plot_forest needs the analysis metric for its axis and labels: fit(..., metric='z') "
                             "(or 'smd', 'log_or')")
        if not isinstance(settings, (ForestOptions, Mapping)) and settings is not None:
            raise TypeError(f"plot_forest: settings is a dict of the config's plots keys (e.g. {{'sort': 'year'}}) "
                            f"or a ForestOptions, not {type(settings).__name__}")
        options = settings if isinstance(settings, ForestOptions) else ForestOptions.from_config(settings)
        paths = [] if path is None else [str(p) for p in path] if isinstance(path, (list, tuple)) else [str(path)]
        formats = (".png", ".pdf", ".svg", ".tif", ".tiff", ".jpg", ".jpeg", ".eps", ".ps")
        for name in paths:  # matplotlib would write "forest" as forest.png without a word
            if Path(name).suffix.lower() not in formats:
                raise ValueError(f"plot_forest: {name!r} has no figure suffix; end the name in one of "
                                 f"{', '.join(formats)} (the format is read from it)")
        row = self.to_frame().iloc[0].to_dict()
        if note is None:  # as the pipeline's forest plots: simulated rows say so
            note = figure_note(self.data)
        figures = save_forest_plot(self.data, row, self.metric, paths, level=self.level, options=options,
                                   data_note=note, weights=getattr(self, "weights", None))  # GENQ's own
        return figures[0] if len(figures) == 1 else figures

    def summary(self) -> str:
        """A printable text table of the fit, laid out as metafor's ``print.rma``."""
        lines = [self._title(), ""]
        lines += self._heterogeneity_lines()
        q_df = self.to_frame()["q_df"].iloc[0]
        q, q_p = self.to_frame()["q"].iloc[0], self.to_frame()["q_p"].iloc[0]
        if np.isfinite(q):
            lines += ["", "Test for Heterogeneity:", f"Q(df = {int(q_df)}) = {q:.4f}, p-val {_p_text(q_p)}"]
        wald = math.isinf(self.df)
        lower, upper = self.conf_int()
        header = ["estimate", "se", "zval" if wald else "tval"] + ([] if wald else ["df"]) + ["pval", "ci.lb", "ci.ub"]
        values = [_number(self.estimate), _number(self.se), _number(_ratio(self.estimate, self.se))] + \
            ([] if wald else [_df_text(self.df)]) + [_p_text(self.pvalue, bare=True), _number(lower), _number(upper)]
        widths = [max(len(a), len(b)) + 2 for a, b in zip(header, values)]
        lines += ["", "Model Results:", "", "".join(f"{h:>{w}}" for h, w in zip(header, widths)),
                  "".join(f"{v:>{w}}" for v, w in zip(values, widths))]
        if self.metric is not None:
            prediction = self.predict()
            for scale, values in back_transform([prediction.estimate, prediction.ci_lower, prediction.ci_upper,
                                                 prediction.pi_lower, prediction.pi_upper], self.metric).items():
                lines += ["", f"{scale} = {values[0]:.4f}, {self.level:g}% CI [{values[1]:.4f}, {values[2]:.4f}], "
                              f"PI [{values[3]:.4f}, {values[4]:.4f}]"]
                break
        if self.note:
            lines += ["", f"Note: {self.note}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        lower, upper = self.conf_int()
        return (f"<{type(self).__name__} {self.method}/{self.test}: {self._repr_size()}, estimate = "
                f"{self.estimate:.4f} [{lower:.4f}, {upper:.4f}], {self._repr_variance()}, I2 = {self.i2:.1f}%"
                f"{'' if self.converged else ', NOT CONVERGED'}{self._repr_note()}>")

    def _repr_size(self) -> str:
        return f"k = {self.k}"

    def _repr_variance(self) -> str:
        return f"tau2 = {self.tau2:.4g}"

    def _repr_note(self) -> str:
        """Where the one line points to the fit's :attr:`note` (what it could not estimate, how it tested)."""
        return "; see .note" if self.note else ""

    def refit(self, rows: pd.DataFrame | None = None, **changes) -> Fit:
        """The model fitted again, to ``rows`` (some of its :attr:`effect_sizes`, e.g. a risk-of-bias subset; None:
        all) and with other options (``method``, ``test``, ``level``, ``rho``...), as metafor's ``update``: the one
        place that carries a fit's settings to :func:`fit` again (the analyses that refit with the engines take
        ``fit.control`` and ``fit.weights`` themselves). A univariate fit's ``control`` goes with it, and its GENQ
        ``weights`` (those of the studies of ``rows``) while the refit is a GENQ model."""
        unknown = [key for key in changes if key not in REFIT_OPTIONS]
        if unknown:
            raise TypeError(unknown_keywords("Fit.refit()", unknown, ["rows", *REFIT_OPTIONS]))
        options = dict(method=self.method, test=self.test, level=self.level, metric=self.metric,
                       rho=self.rho, aggregate_method=self.aggregate_method, dependence=self.dependence)
        options.update(changes)
        univariate_refit = isinstance(self, UnivariateFit) and options["dependence"] == "aggregate"
        if univariate_refit and "control" not in changes:  # None for a three-level fit
            options["control"] = self.control
        if univariate_refit and "weights" not in changes and options["method"] == "GENQ":
            options["weights"] = self.weights if rows is None else self.weights_of(rows)
        return _fit(self.effect_sizes if rows is None else rows, **options)


@dataclass(frozen=True, repr=False, kw_only=True, eq=False)
class UnivariateFit(Fit):
    """A random-effects (or common-effect) model of independent effect sizes, as ``rma.uni``."""

    kind: ClassVar[str] = "univariate"
    dependence: ClassVar[str] = "aggregate"
    result: univariate.PoolingResult
    method: str = "REML"
    test: str = "z"
    level: float = 95.0
    #: the GENQ weights given to :func:`fit`, one per row of ``data`` (None: the default 1/sqrt(vi)); every refit of
    #: the model (leave-one-out, influence, cumulative, Egger's test, trim and fill) takes its rows' weights, as
    #: metafor's methods take an ``rma.uni`` fitted with ``weights =``
    weights: np.ndarray | None = field(default=None, repr=False)

    estimate = property(lambda self: self.result.estimate)
    se = property(lambda self: self.result.se)
    pvalue = property(lambda self: self.result.p)
    tau2 = property(lambda self: self.result.tau2)
    i2 = property(lambda self: self.result.i2)
    h2 = property(lambda self: self.result.h2)
    k = property(lambda self: self.result.k)
    q = property(lambda self: self.result.q)
    converged = property(lambda self: self.result.converged)
    note = property(lambda self: self.result.note)
    _ci = property(lambda self: (self.result.ci_lower, self.result.ci_upper))

    @property
    def df(self) -> float:
        return float(self.k - 1) if self.test in ("knha", "adhoc") and self.k > 1 else math.inf

    @property
    def study_weights(self) -> pd.Series | None:
        """The fit's GENQ :attr:`weights` by study_id (as text); None with the default weights."""
        return None if self.weights is None else pd.Series(self.weights, index=self.study_id)

    def weights_of(self, rows: pd.DataFrame) -> np.ndarray | None:
        """The fit's GENQ :attr:`weights` of the studies of ``rows`` (some of its effect sizes), one per study in
        the order of their first rows (as :func:`fit` aggregates them); None with the default weights."""
        if self.weights is None:
            return None
        return self.study_weights.reindex(pd.unique(rows["study_id"].astype(str).to_numpy())).to_numpy(float)

    def tau2_conf_int(self) -> tuple[float, float]:
        """Q-profile (or generalised-Q for GENQ) confidence interval of tau^2."""
        return self.result.tau2_ci_lower, self.result.tau2_ci_upper

    # the three-level members: one line saying why, as MultilevelFit.tau2_conf_int (not an AttributeError)
    @property
    def sigma2(self):
        raise NotApplicable("sigma2: defined for a three-level fit (dependence='multilevel'); a univariate fit has "
                            "one variance, tau2")

    def sigma2_conf_int(self):
        raise NotApplicable("sigma2_conf_int: defined for a three-level fit (dependence='multilevel'); a univariate "
                            "fit has tau2_conf_int()")

    @keywords_checked
    def with_test(self, test: str):
        raise NotApplicable(f"with_test({test!r}): defined for a three-level fit (z, t, cr2 without a refit); a "
                            f"univariate fit is refitted with another test: refit(test=...) with z, knha or adhoc")

    def to_frame(self) -> pd.DataFrame:
        """One row with the ``pooled.csv`` columns (contract, extras, back-transformed)."""
        return self.result.to_frame()

    def _repr_size(self) -> str:  # the rows aggregated into composites said, as in the summary's title
        rows = len(self.effect_sizes)
        return (f"k = {self.k} study {plural(self.k, 'composite')} of {rows} effect sizes" if rows > self.k else
                f"k = {self.k}")

    def _title(self) -> str:  # k counts the study composites: how many effect sizes they combine says the rows
        rows = len(self.effect_sizes)
        k = (f"{self._repr_size()}, {self.aggregate_method} with rho = {self.rho:g}" if rows > self.k else
             f"k = {self.k}")
        if self.method == univariate.COMMON:
            return f"Common-effect model ({k})"
        return f"Random-effects model ({k}; tau^2 estimator: {self.method})"

    def _heterogeneity_lines(self) -> list[str]:
        if self.method == univariate.COMMON:
            return [f"I^2 (total heterogeneity / total variability):  {self.i2:.2f}%",
                    f"H^2 (total variability / sampling variability): {self.h2:.2f}"]
        lower, upper = self.tau2_conf_int()
        interval = f" [{lower:.4f}, {upper:.4f}]" if np.isfinite(lower) else ""
        return [f"tau^2 (estimated amount of total heterogeneity): {self.tau2:.4f}{interval}",
                f"tau (square root of estimated tau^2 value):      {math.sqrt(max(self.tau2, 0)):.4f}",
                f"I^2 (total heterogeneity / total variability):   {self.i2:.2f}%",
                f"H^2 (total variability / sampling variability):  {self.h2:.2f}"]


def multilevel_inference(result: multilevel.MultilevelResult, test: str) -> tuple[float, float]:
    """(se, df) of a three-level model's intercept under ``test``: z (df inf), t (rma.mv's test = "t": df = k - p)
    or cr2 (clubSandwich's CR2 with Satterthwaite df; NaN with one study, where it is undefined)."""
    if test == "cr2":
        if not robust.cr2_defined(result.n_studies):  # one cluster: undefined (clubSandwich stops), not a number
            return math.nan, math.nan
        table = robust.cr2(result).coef_test()
        return float(table.se[0]), float(table.df[0])
    if test == "t":
        return float(result.se[0]), float(result.k - result.data.p)
    return float(result.se[0]), math.inf


@dataclass(frozen=True, repr=False, kw_only=True, eq=False)
class MultilevelFit(Fit):
    """A three-level model (effect sizes within studies), as ``rma.mv``; ``test`` is z, t or cr2."""

    kind: ClassVar[str] = "multilevel"
    dependence: ClassVar[str] = "multilevel"
    result: multilevel.MultilevelResult
    method: str = "REML"
    test: str = "z"
    level: float = 95.0
    #: the test as given to :func:`fit` or :meth:`with_test` (``adhoc`` read as ``t`` says so in :attr:`note`)
    test_given: str | None = field(default=None, repr=False)
    #: whether the rows had a study_id (else each row is its own study, which :attr:`note` says)
    studies_given: bool = field(default=True, repr=False)

    @property
    def _inference(self) -> tuple[float, float]:
        """(se, df) of the intercept under this fit's test."""
        return multilevel_inference(self.result, self.test)

    estimate = property(lambda self: float(self.result.beta[0]))
    se = property(lambda self: self._inference[0])
    df = property(lambda self: self._inference[1])
    k = property(lambda self: self.result.k)
    n_studies = property(lambda self: self.result.n_studies)
    tau2 = property(lambda self: float(np.sum(self.result.sigma2)))
    sigma2 = property(lambda self: (float(self.result.sigma2[0]), float(self.result.sigma2[1])))
    i2 = property(lambda self: float(self.result.i2[0]))
    q = property(lambda self: self.result.qe)
    converged = property(lambda self: self.result.converged)

    @property
    def pvalue(self) -> float:
        if not self.df > 0:  # no df: CR2 with one study, or t with k - p = 0
            return math.nan
        statistic = abs(_ratio(self.estimate, self.se))
        return float(2 * (dist.norm.sf(statistic) if math.isinf(self.df) else dist.t.sf(statistic, self.df)))

    @property
    def _ci(self) -> tuple[float, float]:
        half = self.critical() * self.se
        return self.estimate - half, self.estimate + half

    @property
    def note(self) -> str:
        robust_note = (CR2_NOTE if robust.cr2_defined(self.n_studies) else CR2_ONE_STUDY_NOTE) if self.test == "cr2" else ""
        if robust_note == CR2_NOTE and 0 < self.df < robust.SMALL_DF:  # e.g. two studies: t(1.0)
            robust_note += f"; df < {robust.SMALL_DF}: do not trust the p value (Tipton 2015)"
        one_level = self.one_level_note if self.n_studies == self.k > 1 else ""  # sigma2 split not identified
        adhoc = ADHOC_THREE_LEVEL_NOTE if self.test_given == "adhoc" and self.test == "t" else ""
        notes = [robust_note, adhoc, self.result.note, "" if self.converged else NOT_CONVERGED, one_level]
        return "; ".join(filter(None, notes))

    @property
    def one_level_note(self) -> str:
        """Why sigma2 is not split when every study has one effect size: :data:`ONE_LEVEL_NOTE`, or
        :data:`NO_STUDY_ID_NOTE` when the rows had no study_id (each row its own study)."""
        return ONE_LEVEL_NOTE if self.studies_given else NO_STUDY_ID_NOTE

    def _repr_size(self) -> str:
        return f"k = {self.k} in {self.n_studies} {plural(self.n_studies, 'study', 'studies')}"

    def _repr_variance(self) -> str:
        return f"sigma2 = ({self.sigma2[0]:.4g}, {self.sigma2[1]:.4g})"

    def _repr_note(self) -> str:  # the model reduced (its sigma2 split not identified) said in the one line too
        if self.n_studies == self.k > 1:
            return (f"; {'one effect size per study' if self.studies_given else 'no study_id: each row a study'}: "
                    "sigma2 split not identified, see .note")
        if self.result.single_level:
            return "; a variance component fixed at 0, see .note"
        return super()._repr_note()

    def sigma2_conf_int(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Profile-likelihood CIs of (sigma2_between, sigma2_within), as ``confint.rma.mv``."""
        ci = self.result.sigma2_ci if self.result.sigma2_ci is not None else np.full((2, 2), np.nan)
        return (float(ci[0, 0]), float(ci[0, 1])), (float(ci[1, 0]), float(ci[1, 1]))

    def tau2_conf_int(self):
        raise NotApplicable("tau2_conf_int: not defined for a three-level fit (rma.mv has one variance per "
                            "level); use sigma2_conf_int()")

    @keywords_checked
    def with_test(self, test: str) -> MultilevelFit:
        """The same fitted model under another test (z, t or cr2): no refit."""
        return replace(self, test=_multilevel_test(test), test_given=test)

    def to_frame(self) -> pd.DataFrame:
        """One row with the ``pooled.csv`` columns, ``sigma2_between``/``sigma2_within`` and their CIs."""
        fitted, (se, df) = self.result, self._inference
        estimate = self.estimate
        critical = self.critical()
        statistic = _ratio(estimate, se)
        half_pi = critical * math.sqrt(se**2 + self.tau2)
        ci = fitted.sigma2_ci if fitted.sigma2_ci is not None else np.full((2, 2), np.nan)
        i2 = self.i2
        row = {
            "method": self.method, "test": self.test, "k": self.k, "estimate": estimate, "se": se,
            "ci_lower": estimate - critical * se, "ci_upper": estimate + critical * se,
            "pi_lower": estimate - half_pi, "pi_upper": estimate + half_pi,
            "tau2": self.tau2, "tau2_ci_lower": np.nan, "tau2_ci_upper": np.nan,
            "i2": i2, "h2": 100.0 / (100.0 - i2) if i2 < 100 else math.inf,
            "q": fitted.qe, "q_df": fitted.k - fitted.data.p, "q_p": fitted.qe_p,
            "statistic": statistic, "p": self.pvalue, "tau": math.sqrt(self.tau2),
            "i2_ci_lower": np.nan, "i2_ci_upper": np.nan, "h2_ci_lower": np.nan, "h2_ci_upper": np.nan,
            "converged": fitted.converged, "iterations": fitted.iterations, "note": self.note,
            "sigma2_between": fitted.sigma2[0], "sigma2_within": fitted.sigma2[1],
            "sigma2_between_ci_lower": ci[0, 0], "sigma2_between_ci_upper": ci[0, 1],
            "sigma2_within_ci_lower": ci[1, 0], "sigma2_within_ci_upper": ci[1, 1],
            "i2_between": fitted.i2[1], "i2_within": fitted.i2[2], "n_studies": fitted.n_studies, "df": df,
            "rho": fitted.data.rho, "loglik": fitted.loglik,
            "lrt_between": fitted.lrt["statistic"] if fitted.lrt else np.nan,
            "lrt_between_p": fitted.lrt["p"] if fitted.lrt else np.nan,
        }
        if self.metric is not None:
            transformed = back_transform([row[name] for name in BACK_TRANSFORMED], self.metric)
            for prefix, numbers in transformed.items():
                row.update({prefix + suffix: float(value) for suffix, value in zip(BACK_SUFFIXES, numbers)})
        return pd.DataFrame([row])

    def _title(self) -> str:
        return (f"Multivariate meta-analysis model (k = {self.k}; method: {self.method}; "
                f"{self.n_studies} {'study' if self.n_studies == 1 else 'studies'}; rho = {self.rho:g})")

    def _heterogeneity_lines(self) -> list[str]:
        between, within = self.sigma2
        fixed = self.result.single_level  # as print.rma.mv: a "fixed" column when a component is fixed
        column = (lambda level: f"{'yes' if level in fixed else 'no':>7}") if fixed else (lambda level: "")
        return ["Variance Components:", "",
                f"{'':12}{'estim':>10}{'sqrt':>10}{'nlvls':>8}{'  fixed' if fixed else ''}  factor",
                f"{'sigma^2.1':12}{between:>10.4f}{math.sqrt(between):>10.4f}{self.n_studies:>8}{column('between')}"
                "  study_id",
                f"{'sigma^2.2':12}{within:>10.4f}{math.sqrt(within):>10.4f}{self.k:>8}{column('within')}"
                "  study_id/es_id",
                "", f"I^2 (total / between / within): {self.i2:.2f}% / {self.result.i2[1]:.2f}% / "
                    f"{self.result.i2[2]:.2f}%"]


def _p_text(p: float, bare: bool = False) -> str:
    if not np.isfinite(p):
        return "NA"
    if p < 1e-4:
        return "<.0001"
    return f"{p:.4f}" if bare else f"= {p:.4f}"


def _df_text(df: float) -> str:
    if not np.isfinite(df):
        return "NA"
    return f"{df:.0f}" if float(df).is_integer() else f"{df:.2f}"


def _number(value: float) -> str:
    """A figure of the printed table with four decimals; NA when undefined (as R prints it)."""
    return f"{value:.4f}" if np.isfinite(value) else "NA"


def _multilevel_test(test: str) -> str:
    """rma.mv has no Knapp-Hartung adjustment (its ``test`` is ``"z"`` or ``"t"``): ``knha``/``adhoc`` mean its t
    test (k - p df), without a scale factor and so without adhoc's floor (the fit's note says so,
    :data:`ADHOC_THREE_LEVEL_NOTE`)."""
    test = {"knha": "t", "adhoc": "t"}.get(test, test)
    if test not in MULTILEVEL_TESTS:
        spelt = did_you_mean(test, (*MULTILEVEL_TESTS, "knha", "adhoc"))
        raise ValueError(f"unknown test {test!r} for a three-level model{spelt}; expected one of z, t (knha), cr2")
    return test


def _check_frame(data: pd.DataFrame) -> None:
    """ValueError naming the rows (index labels) whose yi or vi cannot be pooled or whose study_id is
    missing, and for rows of more than one family or metric (pool each on its own)."""
    def listed(mask, values=None) -> str:  # values: each row's cell, shown beside its label
        mask = np.asarray(mask)
        labels = [str(label) for label in data.index[mask]]
        if values is not None:
            labels = [f"{label} ({value!r})" for label, value in zip(labels, values[mask])]
        shown = ", ".join(labels[:10]) + (f", ... ({len(labels)} rows)" if len(labels) > 10 else "")
        return ("row " if len(labels) == 1 else "rows ") + shown

    problems = []
    numbers = {name: pd.to_numeric(data[name], errors="coerce").astype(float) for name in ("yi", "vi")}
    for name, values in numbers.items():
        text = data[name].notna() & values.isna()
        if text.any():
            problems.append(f"{name} is not a number on {listed(text, data[name].to_numpy())}")
        bad = values.notna() & ~(np.isfinite(values) & ((values >= univariate.SMALLEST_VARIANCE) if name == "vi"
                                                         else True))
        if (missing := data[name].isna() | bad).any():
            what = (f"missing, infinite, not positive or below {univariate.SMALLEST_VARIANCE:.3g} (its weight 1/vi "
                    "overflows)" if name == "vi" else "missing or infinite")
            problems.append(f"{name} is {what} on {listed(missing)}")
    if "study_id" in data and (no_id := data["study_id"].isna()).any():
        problems.append(f"study_id is missing on {listed(no_id)} (rows without it would be pooled as one study)")
    for column in ("family", "metric"):
        if column in data and data[column].nunique() > 1:
            values = ", ".join(map(str, data[column].dropna().unique()))
            problems.append(f"the rows hold more than one {column} ({values}): fit each on its own, e.g. "
                            f"rows[rows[{column!r}] == {data[column].dropna().iloc[0]!r}]")
    if "n" in data and (text := notebook_numbers(data["n"])[1]).any():
        problems.append(f"n (the sample size) is not a number on {listed(text, data['n'].to_numpy())}: write it as a "
                        "number, or leave the cell empty")
    if problems:
        raise ValueError("cannot pool these rows: " + "; ".join(problems))


#: the columns :func:`as_frame` reads from a frame, as written
READ = ("yi", "vi", "study_id")


def _other_case(labels, names) -> dict:
    """{label: name} of the ``labels`` (a frame's columns or index names) that write one of ``names`` they lack in
    other case or spacing (``YI``, ``Study ID``), matched as :func:`~alliance_meta.inputs.sheet.read_sheet` matches a
    header cell."""
    from alliance_meta.inputs.sheet import column_key

    labels = [label for label in labels if isinstance(label, str)]
    wanted = {column_key(name): name for name in names if name not in labels}
    return {label: wanted[key] for label in labels if (key := column_key(label)) in wanted}


def _coded_inputs(data: pd.DataFrame) -> bool:
    """Whether ``data`` has an effect-size input column of the sheet's codebook (r, d, odds_ratio, ...)."""
    from alliance_meta.inputs.codebook import INPUT_KINDS

    return any(kind.columns[0] in data.columns for kind in INPUT_KINDS)


def as_frame(data, vi=None) -> pd.DataFrame:
    """Effect sizes as a frame with ``yi``, ``vi``, ``study_id`` (default 1..k; for ``yi`` a pandas Series indexed
    by unique names, not numbers, those names) and ``es_id``. A dict of columns is read as a frame."""
    if isinstance(data, Mapping) and vi is None:
        data = pd.DataFrame(dict(data))
    if isinstance(vi, str) and (isinstance(data, (str, pd.DataFrame))):  # rma(yi, vi, data = dat)'s column names
        raise TypeError(f"am.fit takes the effect sizes, not column names ({vi!r}): am.fit(frame) reads the frame's "
                        "columns yi and vi (rename others: frame.rename(columns={'sd2': 'vi'})), or give the values, "
                        "am.fit(frame['yi'], frame['vi'])")
    if isinstance(data, pd.DataFrame):
        if vi is not None:
            raise TypeError("give either a DataFrame with yi and vi columns, or arrays yi and vi")
        data = notebook_frame(data, "am.fit", READ)
        levels = [name for name in data.index.names if isinstance(name, str) and name not in data.columns]
        if renamed := {level: name for level, name in _other_case([*data.columns, *levels], READ).items()
                       if level in levels}:  # frame.set_index("Study ID"): rename_columns would not rename it
            raise ValueError(f"am.fit reads the columns yi, vi and study_id as written: rename the index "
                             f"{', '.join(map(repr, renamed))}, frame.rename_axis(index={renamed!r})")
        if levels:  # groupby(["study_id", "rater"]).agg(...): the other levels are the rows' variables too
            data = data.reset_index(level=levels)
        missing = [name for name in ("yi", "vi") if name not in data.columns]
        twice = sorted({str(name) for name in data.columns[data.columns.duplicated()]} & {"yi", "vi", "study_id", "n"})
        if twice:
            raise ValueError(f"the DataFrame has more than one column named {', '.join(twice)}: keep one of each")
        renamed = _other_case(data.columns, READ)
        if renamed:  # not read: yi and vi missing, or each row its own study without a word
            raise ValueError(f"am.fit reads the columns yi, vi and study_id as written: rename "
                             f"{', '.join(map(repr, renamed))}, frame.rename(columns={renamed!r})")
        if missing:
            hint = ("; these rows look like a coded sheet: am.effect_sizes(rows) computes yi and vi from its "
                    "columns (r and n, d with n1 and n2, 2x2 counts, ...)" if _coded_inputs(data) else
                    "; the rows have standard errors sei: vi = sei**2, frame.assign(vi=frame['sei']**2)"
                    if missing == ["vi"] and "sei" in data.columns else "")
            raise ValueError(f"the DataFrame needs columns yi and vi; missing: {', '.join(missing)}{hint}")
        _check_frame(data)
        frame = data.reset_index(drop=True).copy()
        frame["yi"], frame["vi"] = (frame[name].astype(float) for name in ("yi", "vi"))
        if "n" in frame and not pd.api.types.is_numeric_dtype(frame["n"]):  # text read as numbers, as yi and vi
            frame["n"] = notebook_numbers(frame["n"])[0]  # n/a: empty (text that is no number checked above)
    else:
        if isinstance(data, Fit):  # "the sampling variances vi are missing" sent one looking for vi
            raise TypeError(f"am.fit takes effect sizes (a DataFrame with yi and vi, or arrays yi and vi), not a "
                            f"{type(data).__name__}, which is fitted already: fit.refit(method=..., test=...) "
                            "fits its rows again with other options")
        if isinstance(data, (str, Path)):
            raise TypeError(f"am.fit takes effect sizes, not a path ({str(data)!r}): read the sheet and convert its "
                            "rows first, rows = am.effect_sizes(am.read_sheet(path)), then "
                            "am.fit(rows[rows['family'] == 'outcome'])")
        if vi is None:
            raise TypeError("fit(yi, vi): the sampling variances vi are missing")
        if max(np.ndim(data), np.ndim(vi)) > 1:
            raise ValueError(f"yi and vi must be one-dimensional (one value per effect size), got arrays of shapes "
                             f"{np.shape(data)} and {np.shape(vi)}")
        vi = _aligned(data, vi)
        yi, vi = univariate.validate_inputs(data, vi)[:2]
        frame = pd.DataFrame({"yi": yi, "vi": vi})
        if isinstance(data, pd.Series) and not pd.api.types.is_numeric_dtype(data.index):
            if not data.index.is_unique:  # were renumbered 1..k: independent studies, without a word
                repeated = sorted({str(name) for name in data.index[data.index.duplicated()]})
                raise ValueError(f"yi is indexed by study names, some repeated ({', '.join(repeated[:5])}): for "
                                 "several effect sizes of one study pass a frame with yi, vi and study_id (am.fit("
                                 "rows) pools them as one study's), else give each its own name")
            frame["study_id"] = data.index.astype(str)  # the studies' names (not row numbers), as a plot shows them
    if "study_id" not in frame:
        frame["study_id"] = [str(i + 1) for i in range(len(frame))]
        # numbered here: each row its own study (:func:`_has_study_id`); the numbers kept, so that a frame given
        # study_id of its own later (``rows["study_id"] = names``; attrs go with copies) is not taken for unnamed
        frame.attrs[ROW_STUDIES] = tuple(frame["study_id"])
    frame["study_id"] = _identifiers(frame["study_id"])
    if "es_id" not in frame:
        frame["es_id"] = frame.groupby("study_id").cumcount() + 1
    # es_id as the user wrote it (text); numbers read back from effects.csv may fold "01" and "1", which the sheet
    # check told apart, and an empty es_id names nothing
    named = frame[frame["es_id"].notna()] if pd.api.types.is_string_dtype(frame["es_id"]) or \
        frame["es_id"].dtype == object else frame.iloc[:0]
    twice = named[named.duplicated(["study_id", "es_id"], keep=False)]
    if len(twice):  # a three-level model took them for distinct effect sizes (rma.mv would share their level)
        pairs = ", ".join(dict.fromkeys(f"{s}/{e}" for s, e in zip(twice["study_id"], twice["es_id"].astype(str))))
        raise ValueError(f"es_id names each effect size of a study once; used more than once (study_id/es_id): "
                         f"{pairs}")
    return frame


def _text_numbers_warning(data, vi=None, weights=None) -> str:
    """What :func:`fit` warns of columns (``yi``, ``vi``, a frame's ``n``, ``weights``) that hold numbers written as
    text (``'0.3'``, e.g. a spreadsheet's text cells), which are read as numbers: converted, not silently; "" when
    none do (``n/a`` in ``n`` is empty, not a number). Said by :func:`fit` alone, once per call (not by
    :func:`as_frame`, which :func:`pooled_table` and refits call again)."""
    labels = None
    if isinstance(data, Mapping) and vi is None:
        data = pd.DataFrame(dict(data))
    if isinstance(data, pd.DataFrame):
        columns, labels = {name: data[name] for name in ("yi", "vi", "n") if name in data}, data.index
    else:
        columns = {"yi": data, "vi": vi}
    said, named = [], []
    for name, values in {**columns, "weights": weights}.items():
        if values is None or np.asarray(values).dtype.kind not in "OUS":  # numbers (or None): nothing read as text
            continue
        cells = np.asarray(values, dtype=object).reshape(-1)
        numbers, bad = notebook_numbers(pd.Series(cells))  # text read as a number, or that is none (n/a: empty)
        text = np.flatnonzero(np.array([isinstance(cell, (str, bytes)) for cell in cells], dtype=bool)
                              & (numbers.notna() | bad).to_numpy())
        if text.size:
            row = text[0] if labels is None or name == "weights" else labels[text[0]]
            said.append(f"{name} on {counted(text.size, 'row')} (e.g. row {row}: {cells[text[0]]!r})")
            named.append(f"frame[{name!r}] = pd.to_numeric(frame[{name!r}])" if labels is not None and
                         name != "weights" else f"{name} = pd.to_numeric({name})")
    if not said:
        return ""
    return (f"am.fit: numbers written as text are read as numbers: {'; '.join(said)}. Convert them first to check "
            f"how they read ({'; '.join(named)}), which also silences this warning")


#: ``attrs`` key of a frame of :func:`as_frame` whose study_id it numbered 1..k (the rows had none): those numbers,
#: by the frame's index (0..k-1)
ROW_STUDIES = "alliance_meta_row_studies"


def _has_study_id(data) -> bool:
    """Whether the effect sizes given to :func:`fit` name their studies: a frame (or dict) with study_id that
    :func:`as_frame` did not number itself, or yi a Series indexed by names; not arrays."""
    if isinstance(data, pd.DataFrame):
        numbered = data.attrs.get(ROW_STUDIES)
        if "study_id" not in data.columns or not isinstance(numbered, tuple):
            # study_id as the index (frame.set_index("study_id")) names them too: as_frame reads it as the column
            return "study_id" in data.columns or "study_id" in data.index.names
        # rows (a subset, re-sorted: index labels kept) whose ids are still those numbered: no names given
        ids = _identifiers(data["study_id"])
        return not all(isinstance(i, (int, np.integer)) and 0 <= i < len(numbered) and numbered[i] == text
                       for i, text in zip(data.index, ids))
    if isinstance(data, Mapping):
        return "study_id" in data
    return isinstance(data, pd.Series) and not pd.api.types.is_numeric_dtype(data.index)


def _identifiers(ids: pd.Series) -> pd.Series:
    """Study ids as text; whole numbers that pandas holds as floats (a numeric column with a blank read by
    ``pd.read_csv``, ``[1.0, 2.0]``) as ``1``, ``2``, as the sheet shows them, not ``1.0``."""
    if pd.api.types.is_float_dtype(ids):
        values = ids.to_numpy(float)
        if np.isfinite(values).all() and (values == np.round(values)).all():
            return pd.Series([str(int(value)) for value in values], index=ids.index)
    return ids.astype(str)


def _aligned(yi, vi):
    """``vi`` paired with ``yi`` by index label when both are pandas Series (as pandas pairs them): the same
    labels in another order are reordered as ``yi``; different labels are a ValueError (by position they
    would pair one row's effect with another row's variance without a word)."""
    if not (isinstance(yi, pd.Series) and isinstance(vi, pd.Series)) or yi.index.equals(vi.index):
        return vi
    if yi.index.is_unique and vi.index.is_unique and len(yi) == len(vi) and set(yi.index) == set(vi.index):
        return vi.reindex(yi.index)
    only_yi = [str(label) for label in yi.index.difference(vi.index)[:5]]
    only_vi = [str(label) for label in vi.index.difference(yi.index)[:5]]
    how = (f"different index labels (only in yi: {', '.join(only_yi) or '-'}; only in vi: {', '.join(only_vi) or '-'})"
           if only_yi or only_vi else "repeated index labels in a different order")
    raise ValueError(f"yi and vi are pandas Series with {how}, so which variance "
                     "belongs to which effect size is unclear: take both from the same rows (rows['yi'], rows['vi']), "
                     "pass the rows themselves (am.fit(rows)), or pass arrays (.to_numpy()) to pair them by position")


def _percent(level) -> float:
    """A confidence level in percent as a float (:func:`level_alpha`'s checks), or a ValueError naming it."""
    try:
        if isinstance(level, bool):  # conf_int(True) is not a 1% interval
            raise TypeError
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level must be a percentage strictly between 0 and 100, got {level!r}") from None
    level_alpha(value)
    return value


def _check_dependence(dependence) -> None:
    if dependence not in DEPENDENCE:
        raise ValueError(f"unknown dependence {dependence!r}{did_you_mean(dependence, DEPENDENCE)}; expected one of "
                         f"{', '.join(DEPENDENCE)}")


def _rho(rho) -> float:
    """``rho`` as a float in [-1, 1] (the config's ``aggregate_rho`` range), or a ValueError naming it."""
    try:
        value = float(rho)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(rho, bool) or not -1 <= value <= 1:
        raise ValueError(f"rho must be a number between -1 and 1 (the assumed correlation between the sampling "
                         f"errors of one study's effect sizes), not {rho!r}")
    return value


@keywords_checked
def fit(data, vi=None, *, method: str = "REML", test: str = "z", level: float = 95.0,
        dependence: str = "aggregate", rho: float = DEFAULT_RHO, aggregate_method: str = "gls",
        metric: str | None = None, tau2_interval: bool = True, profile: bool = True,
        likelihood_ratio: bool = True, weights=None, control=None) -> Fit:
    """Fit a meta-analytic model: ``fit(yi, vi, ...)`` or ``fit(frame, ...)``.

    Parameters
    ----------
    data, vi : arrays of effect sizes and sampling variances, or a DataFrame with ``yi``, ``vi``
        and optionally ``study_id`` (rows sharing it are dependent), ``es_id``, ``label``, ``year``. Numbers
        written as text (``'0.3'``) are read with a UserWarning; text that is no number is a ValueError.
    method : the tau^2 estimator as metafor's ``rma``: ``common`` (metafor's ``EE``/``FE``), ``DL``, ``HE``,
        ``HS``, ``HSk``, ``SJ``, ``ML``, ``REML``, ``EB``, ``PM``, ``PMM`` or ``GENQ`` (weights ``weights``, by
        default 1/sqrt(vi), Jackson 2013; metafor requires them); three-level models take ``REML`` or ``ML``.
    test : ``z`` (Wald), ``knha`` (Knapp-Hartung) or ``adhoc``; three-level models ``z``, ``t``
        (``knha`` and ``adhoc`` are read as ``t``: rma.mv has neither, and ``adhoc``'s floor is not applied, as the
        fit's note says) or ``cr2`` (CR2 cluster-robust, Satterthwaite df). Three-level rows without study_id
        are each their own study (the note says so).
    level : confidence level in percent, at least 50 (``0.95`` and ``1`` are refused as slips).
    dependence : ``aggregate`` (one composite per study, then ``rma.uni``) or ``multilevel``
        (three-level CHE model, ``rma.mv``).
    rho : assumed correlation between the sampling errors of one study's effect sizes.
    aggregate_method : ``gls`` (metafor's ``aggregate.escalc``) or ``mean`` (Borenstein's composite).
    metric : the analysis metric (``z``, ``smd``, ``log_or``) for back-transformed columns and plots.
    tau2_interval, profile, likelihood_ratio : skip the tau^2 CI (univariate) or the profile CIs of
        sigma^2 and the LRT of the study level (three-level) when False.
    weights : GENQ weights of the univariate model.
    control : iteration control of the univariate model: a dict of
        :class:`~alliance_meta.engines.heterogeneity.Control` fields (``threshold``, ``max_iterations``,
        ``step_adjustment``, ``tau2_max``, ``tolerance``, ``ll0_check``; metafor's ``control``) or a ``Control``.

    Returns
    -------
    UnivariateFit or MultilevelFit, with the same interface. A model whose estimation did not converge
    is returned (``converged`` False, its numbers NaN where metafor has none) with a :class:`ConvergenceWarning`
    naming the remedies (metafor's ``rma`` stops there); the library's refits and tables do not warn, their
    ``converged`` column and notes say so.
    """
    fitted = _fit(data, vi, method=method, test=test, level=level, dependence=dependence, rho=rho,
                  aggregate_method=aggregate_method, metric=metric, tau2_interval=tau2_interval, profile=profile,
                  likelihood_ratio=likelihood_ratio, weights=weights, control=control)
    text_numbers = _text_numbers_warning(data, vi, weights)  # read once the rows are valid: text no number raised
    if text_numbers:
        warnings.warn(text_numbers, UserWarning, stacklevel=caller_stacklevel())  # the caller of am.fit
    if not fitted.converged:  # one warning per call: analyses and tables refit with _fit, which does not warn
        warnings.warn(not_converged_message(fitted), ConvergenceWarning, stacklevel=caller_stacklevel())
    return fitted


#: The options :meth:`Fit.refit` takes: :func:`fit`'s keywords.
REFIT_OPTIONS = tuple(inspect.signature(fit).parameters)[2:]


class ConvergenceWarning(UserWarning):
    """:func:`fit` returned a model whose estimation did not converge."""


def not_converged_message(fitted: Fit) -> str:
    """What :func:`fit` warns of a model that did not converge, with the remedies (metafor's ``help(rma)``,
    "Convergence Problems"; in this library's ``control`` names)."""
    if isinstance(fitted, MultilevelFit):
        return (f"am.fit: {NOT_CONVERGED} (rma.mv stops: 'Optimizer (nlminb) did not achieve convergence'); the "
                f"fit's numbers are those where it stopped. Try method={'ML' if fitted.method == 'REML' else 'REML'!r}, "
                "or dependence='aggregate' (the three-level model takes no control)")
    note = fitted.note.split("; ")[0] if fitted.note else "tau^2 did not converge"
    if fitted.method in ("PM", "PMM"):
        stops = "Value of 'tau2.max' too low. Try increasing 'tau2.max' or switch to another 'method'."
        remedy = ("a larger bracket and more iterations, control={'tau2_max': 1000, 'max_iterations': 1000} "
                  "(metafor's tau2.max, maxiter)")
    else:
        stops = "Fisher scoring algorithm did not converge. See help(rma) for possible remedies."
        remedy = ("more iterations or smaller steps, control={'max_iterations': 1000, 'step_adjustment': 0.5} "
                  "(metafor's maxiter, stepadj)")
    return (f"am.fit: {note}, so estimate, se, CI and tau2 are NaN (metafor's rma stops: {stops!r}). Remedies: "
            f"{remedy}, or an estimator that does not iterate (method='DL', 'HE' or 'SJ')")


def _fit(data, vi=None, *, method: str = "REML", test: str = "z", level: float = 95.0,
         dependence: str = "aggregate", rho: float = DEFAULT_RHO, aggregate_method: str = "gls",
         metric: str | None = None, tau2_interval: bool = True, profile: bool = True,
         likelihood_ratio: bool = True, weights=None, control=None) -> Fit:
    """:func:`fit` without its warning of a model that did not converge: what :meth:`Fit.refit` and
    :func:`pooled_table` call (their tables and notes report it)."""
    _check_dependence(dependence)
    level = _percent(level)  # a level in percent, or a clear error
    rho = _rho(rho)
    if weights is not None and (dependence == "multilevel" or method != "GENQ"):
        raise ValueError(f"weights are used by the GENQ estimator only (method='GENQ', dependence='aggregate'); "
                         f"with method={method!r}, dependence={dependence!r} they would be ignored")
    control = _control(control)
    if control is not None and dependence == "multilevel":  # the three-level model has its own optimiser
        raise ValueError("control sets the iterations of the univariate model (dependence='aggregate'); the "
                         "three-level model (dependence='multilevel') does not read it, so it would be ignored")
    rows = as_frame(data, vi)
    if len(rows) == 0:
        raise ValueError("no effect sizes to pool (k = 0)")
    metric = _metric(metric, rows)
    common = dict(effect_sizes=rows, metric=metric, aggregate_method=aggregate_method, rho=float(rho),
                  level=float(level))
    if dependence == "multilevel":
        if method not in MULTILEVEL_METHODS:
            raise ValueError(f"the three-level model is fitted by REML or ML (rma.mv), not {method!r}"
                             f"{did_you_mean(method, MULTILEVEL_METHODS)}")
        prepared = multilevel.prepare(rows["yi"].to_numpy(float), rows["vi"].to_numpy(float),
                                      rows["study_id"].to_numpy(), rho=float(rho))
        result = multilevel.fit_prepared(prepared, method=method, level=float(level), profile=profile,
                                         likelihood_ratio=likelihood_ratio)
        return MultilevelFit(data=rows, result=result, method=method, test=_multilevel_test(test), test_given=test,
                             studies_given=_has_study_id(data), **common)
    if test in ("t", "cr2"):  # the three-level model's tests: "unknown test" sent one looking for a spelling
        raise ValueError(f"test {test!r} is a test of the three-level model (dependence='multilevel'); a univariate "
                         "fit takes z, knha (Knapp-Hartung, a t test) or adhoc"
                         + ("; am.rve(fit) gives the CR2 test of its study composites" if test == "cr2" else ""))
    composites = aggregate(rows, method=aggregate_method, rho=rho)
    weights = _paired_weights(weights, data, composites)
    if weights is not None and np.size(weights) != len(composites):
        raise ValueError(f"weights: one per study composite in the order of the studies' first rows "
                         f"({len(composites)} from {len(rows)} rows), got {np.size(weights)}")
    return _univariate(composites, method, test, weights, control, tau2_interval, **common)


def _paired_weights(weights, data, composites: pd.DataFrame):
    """GENQ ``weights`` given as a pandas Series paired with the study composites by label, as yi and vi are paired
    (:func:`_aligned`): labels that, read as text, are the ids of studies the data name (:func:`_has_study_id`;
    any dtype: ``13`` names study 13), or, one row per study, the rows' own index labels, in any order, are put in
    the composites' order; labels that name
    only some of the studies are a ValueError; a default index (``pd.Series(w)``: 0..k-1), other labels and arrays
    pair by position (metafor's vector). A column of the rows themselves (``rows["w"]``, its index the rows') is
    theirs, whatever its labels would name (integer study ids 0..k-1 beside the rows' labels 0..k-1)."""
    if not isinstance(weights, pd.Series) or len(weights) != len(composites):
        return weights
    index = weights.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:  # pd.Series(w): documented so
        return weights
    rows = data.index if isinstance(data, (pd.DataFrame, pd.Series)) else None
    if rows is not None and index.equals(rows):  # a column of the rows themselves (rows["w"]): theirs, in order
        return weights
    named_studies = _has_study_id(data)  # without ids the studies are numbered by position: no labels to match
    ids = composites["study_id"].astype(str)
    labels = _identifiers(pd.Series(index, index=index))
    if named_studies and index.is_unique and set(labels) == set(ids):
        return weights.set_axis(labels.to_numpy()).reindex(ids.to_numpy())
    if rows is not None and len(rows) == len(weights) and rows.is_unique and index.is_unique and \
            set(index) == set(rows):
        return weights.reindex(rows)
    if named_studies and (named := set(labels) & set(ids)):  # by position some would take another's weight, silently
        only_weights = sorted(set(labels) - set(ids))[:5]
        unweighted = [study for study in ids if study not in set(labels)][:5]
        how = (f"labels that name only some of the studies (not a study: {', '.join(only_weights) or '-'}; studies "
               f"without a weight: {', '.join(unweighted) or '-'})" if only_weights or unweighted else
               "repeated labels")
        raise ValueError(f"weights is a pandas Series with {how}, so which weight belongs to which study is unclear "
                         f"({len(named)} of {len(ids)} studies named): index it by the study ids (one weight each), "
                         "or pass an array (.to_numpy()) in the order of the studies' first rows")
    return weights


def _metric(metric: str | None, rows: pd.DataFrame) -> str | None:
    """The analysis metric: ``metric=`` (one of :data:`METRICS`), else the rows' single ``metric`` value;
    ValueError when the two disagree or the metric is unknown."""
    stated = str(rows["metric"].dropna().iloc[0]) if "metric" in rows and rows["metric"].nunique() == 1 else None
    if metric is not None and stated is not None and metric != stated:
        raise ValueError(f"metric={metric!r} contradicts the rows' metric column ({stated!r}): their yi are in "
                         f"{stated!r}; drop metric= or convert the rows")
    metric = stated if metric is None else metric
    if metric is not None and metric not in METRICS:
        raise ValueError(f"unknown analysis metric {metric!r}{did_you_mean(metric, METRICS)}; expected one of "
                         f"{METRICS}")
    return None if metric is None else family_metric(metric, rows)  # Cohen's d for smd rows all from odds ratios


def _control(control) -> Control | None:
    """A :class:`Control` from a dict of its fields (or a Control, or None), with a clear error otherwise."""
    if control is None or isinstance(control, Control):
        return control
    fields = [name for name in Control.__dataclass_fields__]
    if not isinstance(control, dict):
        raise TypeError(f"control: a dict of {', '.join(fields)} (or a Control), not {type(control).__name__}")
    unknown = [key for key in control if key not in fields]
    if unknown:
        raise ValueError(f"control: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(str, unknown))}; "
                         f"expected {', '.join(fields)}")
    return Control(**control)


def _univariate(composites: pd.DataFrame, method: str, test: str, weights=None, control=None,
                tau2_interval: bool = True, **common) -> UnivariateFit:
    """A univariate fit of rows already aggregated into one composite per study."""
    try:
        result = univariate.fit(composites["yi"].to_numpy(float), composites["vi"].to_numpy(float), method, test,
                                common["level"], weights, control, tau2_interval, common["metric"])
    except univariate.BeyondDoubleRange as error:  # named by its study, not its position among the composites
        raise error.at(f"study_id {composites['study_id'].iloc[error.index]}") from None
    weights = None if weights is None else univariate.checked_weights(weights, len(composites))
    return UnivariateFit(data=composites, result=result, method=method, test=test, weights=weights, control=control,
                         **common)


@keywords_checked
def pooled_table(effect_sizes: pd.DataFrame, methods=("REML",), tests=("z",), *, dependence: str = "aggregate",
                 rho: float = DEFAULT_RHO, aggregate_method: str = "gls", level: float = 95.0,
                 metric: str | None = None, knha_adhoc: bool = False, cluster_robust: bool = True,
                 profile: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """``pooled.csv``: one row per (method, test) of one family's effect sizes, and notes for the log.

    Univariate fits run every method x test (``knha_adhoc`` runs ``knha`` as metafor's ``adhoc``).
    Three-level fits run REML and ML (the estimators ``rma.mv`` defines; others are skipped with a
    note) with tests ``z``, ``t`` (in place of ``knha``) and, with ``cluster_robust``, ``cr2``.
    """
    if not isinstance(effect_sizes, pd.DataFrame):
        raise TypeError(f"pooled_table: effect_sizes is a DataFrame with yi, vi (and study_id) columns, not "
                        f"{type(effect_sizes).__name__}")
    methods = (methods,) if isinstance(methods, str) else tuple(methods)  # "REML" is one method, not R, E, M, L
    tests = (tests,) if isinstance(tests, str) else tuple(tests)
    _check_dependence(dependence)  # else any other value was fitted as aggregate without a word
    rho = _rho(rho)
    # checked before any fit: a three-level table would skip an unknown name ("reml") with a note, or have no rows
    for what, given, known in (("method", methods, (univariate.COMMON, *univariate.METHODS)),
                               ("test", tests, (*univariate.TESTS, *(MULTILEVEL_TESTS if dependence == "multilevel"
                                                                    else ())))):
        unknown = [name for name in given if name not in known]
        if unknown or not given:
            named = ", ".join(repr(name) + did_you_mean(name, known) for name in unknown)
            problem = f"unknown {what}{'s' if len(unknown) > 1 else ''} {named}" if unknown else f"no {what} given"
            counts = any(str(name).upper() in ("MH", "PETO", "GLMM") for name in unknown)
            raise ValueError(f"pooled_table: {problem}; expected one or more of {', '.join(dict.fromkeys(known))}"
                             + (univariate.COUNT_METHODS_HINT if counts else ""))
    if len(effect_sizes):  # metric=None: the rows' metric column, as fit() reads it (log_or adds the count rows)
        metric = _metric(metric, as_frame(effect_sizes))
    options = dict(dependence=dependence, rho=rho, aggregate_method=aggregate_method, level=level, metric=metric)
    notes: list[str] = []
    if dependence == "multilevel":
        skipped = [m for m in methods if m not in MULTILEVEL_METHODS]
        if skipped:
            notes.append(f"dependence = multilevel: {', '.join(skipped)} not defined for three-level models "
                         "(rma.mv fits REML and ML only); no rows written for them")
        if "knha" in tests:
            notes.append("dependence = multilevel: rma.mv has no Knapp-Hartung test; test 't' (k - p df) "
                         "written instead")
    if len(effect_sizes) == 0:
        return empty_pooled_frame(metric, dependence), notes + ["no effect sizes in this family (k = 0): header only"]
    rows = []
    if dependence == "multilevel":
        for method in [m for m in MULTILEVEL_METHODS if m in methods]:
            fitted = _fit(effect_sizes, method=method, profile=profile, **options)
            chosen = [t for t in ("z", "t") if t in tests or (t == "t" and "knha" in tests)]
            if cluster_robust:
                if not robust.cr2_defined(fitted.n_studies):
                    notes.append(f"{method}: {robust.CR2_TOO_FEW}; no cr2 row")
                else:
                    chosen.append("cr2")
            rows += [fitted.with_test(test).to_frame() for test in chosen]
        table = pd.concat(rows, ignore_index=True) if rows else empty_pooled_frame(metric, dependence)
        if rows and fitted.result.note:  # a single-level factor: its sigma2 fixed at 0 (in each row's note too)
            notes.append(f"dependence = multilevel: {fitted.result.note}")
        if rows and fitted.n_studies == len(effect_sizes) > 1:
            one_level = fitted.one_level_note
            notes.append(f"dependence = multilevel: {one_level}")
            table["note"] = [note if isinstance(note, str) and one_level in note  # the fit's note has it
                             else f"{note}; {one_level}" if isinstance(note, str) and note else one_level
                             for note in table["note"]]
        return _with_count_rows(table, effect_sizes, metric, level, notes), notes
    composites = aggregate(as_frame(effect_sizes), method=aggregate_method, rho=rho)
    common = dict(effect_sizes=effect_sizes, metric=metric, aggregate_method=aggregate_method, rho=float(rho),
                  level=float(level))
    for method in methods:
        for test in tests:
            engine_test = "adhoc" if (test == "knha" and knha_adhoc) else test
            row = _univariate(composites, method, engine_test, **common).to_frame()
            row["test"] = test
            rows.append(row)
    return _with_count_rows(pd.concat(rows, ignore_index=True), effect_sizes, metric, level, notes), notes


def _with_count_rows(table: pd.DataFrame, effect_sizes: pd.DataFrame, metric, level, notes: list) -> pd.DataFrame:
    """Under ``metric = "log_or"``, the rows ``MH``, ``Peto`` and ``GLMM`` of the family's 2x2 counts
    (:func:`alliance_meta.models.counts.count_rows`: no continuity correction) below the others."""
    if metric != "log_or":
        return table
    from alliance_meta.models.counts import count_rows

    counts = count_rows(effect_sizes, metric, level=level)
    if counts.empty:
        metafors = [name for name in ("ai", "bi", "ci", "di") if name in effect_sizes]  # escalc's names
        hint = (f" (columns {', '.join(metafors)}: metafor's names of the cells are n11, n12, n21, n22 here)"
                if metafors else "")
        notes.append(f"metric log_or: no rows with 2x2 counts (n11, n12, n21, n22), so no MH, Peto or GLMM "
                     f"rows{hint}")
        return table
    notes.append(f"2x2 counts: {counts['note'].iloc[0]}")
    return pd.concat([table, counts], ignore_index=True)


def empty_pooled_frame(metric: str | None, dependence: str = "aggregate") -> pd.DataFrame:
    """The ``pooled.csv`` header for a family without effect sizes (k = 0)."""
    base = list(univariate.empty_frame(None).columns)
    if dependence != "multilevel":
        return univariate.empty_frame(metric)
    extra = [c for c in univariate.empty_frame(metric).columns if c not in base]
    return pd.DataFrame(columns=base + list(MULTILEVEL_COLUMNS) + extra)


#: the pooled.csv rows of each test of ``pooling.tests``: a three-level model's ``knha`` is rma.mv's ``t``
POOLED_TESTS = {"knha": ("knha", "t")}


def main_row(pooled: pd.DataFrame, main_method: str, test=None) -> dict:
    """The pooled row the report, forest plots and captions quote: the main method with the first
    of ``test`` (a test or a list in order of preference, e.g. ``pooling.tests``; ``knha`` finds a
    three-level model's ``t`` row, :data:`POOLED_TESTS`) that it has, else its first row, else the
    table's first row (e.g. a three-level model when the main method is not REML or ML); ``{}``
    for an empty table."""
    if pooled is None or len(pooled) == 0:
        return {}
    rows = pooled[pooled["method"] == main_method] if "method" in pooled else pooled.iloc[:0]
    preferences = [test] if isinstance(test, str) else list(test or [])
    for choice in preferences:
        chosen = rows[rows["test"].isin(POOLED_TESTS.get(choice, (choice,)))] if "test" in rows else rows.iloc[:0]
        if len(chosen):
            return chosen.iloc[0].to_dict()
    return (rows if len(rows) else pooled).iloc[0].to_dict()


def headline_method(config: dict) -> str:
    """The estimator of the pipeline's main model (the pooled row that the report, the forest plots and the
    summary of findings quote), from the config: ``pooling.main_method`` for aggregated studies,
    ``multilevel.method`` for the three-level model (which rma.mv fits by REML or ML only); keys left
    out take the schema's defaults (aggregate, REML)."""
    if config.get("dependence", "aggregate") == "multilevel":
        return config.get("multilevel", {}).get("method", "REML")
    return config.get("pooling", {}).get("main_method", "REML")


def pooled_methods(methods, headline: str) -> list[str]:
    """The estimators of ``pooled.csv``: ``pooling.methods`` and always the :func:`headline_method`, which under
    ``dependence: multilevel`` the list need not hold (e.g. ``[DL, PM]``, which rma.mv does not fit)."""
    return list(dict.fromkeys([*methods, headline]))


def headline_test(config: dict) -> str:
    """The test of the pipeline's main model: that of the pooled row :func:`main_row` quotes from ``pooled.csv``
    with ``pooling.tests`` (default ``[z, knha]``), so that the refits of the main model (leave-one-out,
    influence, cumulative, risk-of-bias subsets) have the headline's test and intervals, as metafor's
    ``leave1out``, ``influence`` and ``cumul`` refit an ``rma(..., test = "knha")`` model with ``test = x$test``.

    The first of ``pooling.tests``: ``adhoc`` for ``knha`` under ``pooling.knha_adhoc`` with aggregated studies
    (pooled.csv's ``knha`` rows are then metafor's ``adhoc``); a three-level model's ``knha`` is rma.mv's ``t``
    (:func:`fit` makes it so; pooled.csv's ``t`` row, which main_row finds for ``knha``)."""
    pooling = config.get("pooling", {})
    first = list(pooling.get("tests") or ("z", "knha"))[0]
    three_level = config.get("dependence", "aggregate") == "multilevel"
    return "adhoc" if first == "knha" and pooling.get("knha_adhoc", False) and not three_level else first


def fit_options(config: dict, family: str) -> dict:
    """The :func:`fit` keywords of the pipeline's main model of ``family``, from the (validated) config
    (estimator: :func:`headline_method`; test: :func:`headline_test`)."""
    dependence = config["dependence"]
    return dict(method=headline_method(config), test=headline_test(config), level=float(config["pooling"]["level"]),
                dependence=dependence, rho=float(config["aggregate_rho"]), aggregate_method=config["aggregate_method"],
                metric=config["metric"][family])


def composite_options(config: dict, family: str) -> dict:
    """The :func:`fit` keywords that decide the study composites of ``family`` (how dependent effect sizes
    are combined, the metric): all that the Bayesian models and model averaging read of a fit. Without
    the estimator, test and level, so that changing those does not rerun them."""
    options = fit_options(config, family)
    return {key: options[key] for key in ("dependence", "rho", "aggregate_method", "metric")}


def aggregated_options(config: dict, family: str) -> dict:
    """The :func:`fit` keywords of the aggregated model of ``family`` that the robustness analyses (GOSH,
    the CR2 row of robust variance estimation) take under either ``dependence``: the study composites
    fitted with ``pooling.main_method`` (metafor's ``gosh`` takes an ``rma.uni``)."""
    return {**fit_options(config, family), "dependence": "aggregate",
            "method": config.get("pooling", {}).get("main_method", "REML")}


def _ratio(estimate: float, se: float) -> float:
    """estimate / se, NaN when the standard error is 0 (e.g. CR2 with identical effect sizes)."""
    return estimate / se if se > 0 else math.nan
