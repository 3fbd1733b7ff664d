"""Prior distributions of the normal-normal hierarchical model.

The overall effect gets ``mu ~ Normal(0, mu_sd)`` (in the analysis metric); the
between-study SD ``tau`` gets one of:

- ``half_normal`` (``scale``) and ``half_cauchy`` (``scale``): weakly informative
  priors (Gelman 2006, Bayesian Analysis 1(3); Röver et al. 2021, Res Synth Methods
  12(4), "On weakly informative prior distributions for the heterogeneity
  parameter in Bayesian random-effects meta-analysis").
- ``log_normal`` (``mu``, ``sigma``): log(tau^2) ~ Normal(mu, sigma^2), the
  empirical priors of Turner et al. (2015, Stat Med 34(6), Table IV) for log odds
  ratios.
- ``log_t`` (``mu``, ``sigma``, ``df`` = 5): log(tau^2) ~ t_df(mu, sigma), the
  empirical priors of Rhodes et al. (2015, J Clin Epidemiol 68(1), Table 3) for
  standardized mean differences.

The empirical priors are published on the scale of the log OR (Turner) or the
SMD (Rhodes). ``source_metric`` rescales them to the analysis metric with the
slope of the metric near zero: d = log OR * sqrt(3)/pi (Hasselblad & Hedges
1995), and Fisher z ~ r ~ d/2 for small effects (Borenstein et al. 2009, eq. 7.5),
so tau_z ~ tau_d / 2 and log(tau^2) shifts by 2 log(factor). The rescaling is a
small-effect approximation, and both sets of priors were derived from Cochrane
meta-analyses of interventions, not of correlational (alliance) studies: use
them as sensitivity analyses, not as the main prior. Numbers and their sources
are listed in ``EMPIRICAL_PRIORS`` and docs/bayes.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from alliance_meta.engines import distributions as dist
from alliance_meta.wording import PRIOR_FAMILY_NAMES, apa_number

TAU_FAMILIES = ("half_normal", "half_cauchy", "log_normal", "log_t")

# Slope of each metric at zero effect, relative to the SMD (d): used to rescale priors.
METRIC_SLOPE = {"smd": 1.0, "log_or": math.pi / math.sqrt(3.0), "z": 0.5}

# Empirical heterogeneity priors on tau^2, as tabulated in bayesmeta's TurnerEtAlPrior()
# and RhodesEtAlPrior() (Röver 2020, J Stat Softw 93(6)).
EMPIRICAL_PRIORS = {
    # Turner et al. 2015, Table IV, log OR: mental health indicators,
    # non-pharmacological vs placebo/control: log(tau^2) ~ N(-2.34, 1.72^2).
    "turner2015_mental_health": {"family": "log_normal", "mu": -2.34, "sigma": 1.72, "source_metric": "log_or"},
    # Turner et al. 2015, Table IV, log OR: withdrawals/drop-outs,
    # non-pharmacological vs placebo/control: log(tau^2) ~ N(-3.21, 1.91^2).
    "turner2015_dropout": {"family": "log_normal", "mu": -3.21, "sigma": 1.91, "source_metric": "log_or"},
    # Rhodes et al. 2015, Table 3, SMD: mental health outcome, non-pharmacological:
    # log(tau^2) ~ t_5(-3.85, 1.93).
    "rhodes2015_mental_health": {"family": "log_t", "mu": -3.85, "sigma": 1.93, "df": 5, "source_metric": "smd"},
    # Rhodes et al. 2015, general (any outcome, any comparison): log(tau^2) ~ t_5(-3.44, 2.59).
    "rhodes2015_general": {"family": "log_t", "mu": -3.44, "sigma": 2.59, "df": 5, "source_metric": "smd"},
}
#: where each empirical prior comes from and for what outcomes, as the Methods and the prior-sensitivity figure cite it
EMPIRICAL_SOURCES = {"turner2015_mental_health": ("Turner et al. (2015)", "mental-health outcomes"),
                     "turner2015_dropout": ("Turner et al. (2015)", "withdrawals and dropouts"),
                     "rhodes2015_mental_health": ("Rhodes et al. (2015)", "mental-health outcomes"),
                     "rhodes2015_general": ("Rhodes et al. (2015)", "any outcome")}


def rescale_factor(source_metric: str, metric: str) -> float:
    """Factor c with tau_metric ~ c * tau_source near zero effect (see module docstring)."""
    return METRIC_SLOPE[metric] / METRIC_SLOPE[source_metric]


@dataclass(frozen=True)
class TauPrior:
    """Prior on tau. ``scale`` for half-normal/half-Cauchy; ``mu``, ``sigma`` (and ``df``)
    of log(tau^2) for log-normal/log-t."""

    family: str = "half_normal"
    scale: float | None = 0.5
    mu: float | None = None
    sigma: float | None = None
    df: float = 5.0
    label: str | None = None

    def __post_init__(self):
        if self.family not in TAU_FAMILIES:
            raise ValueError(f"unknown tau prior family {self.family!r}; expected one of {TAU_FAMILIES}")
        if self.family in ("half_normal", "half_cauchy") and not (self.scale and self.scale > 0):
            raise ValueError(f"{self.family} prior on tau needs a positive scale")
        if self.family in ("log_normal", "log_t") and (self.mu is None or not (self.sigma and self.sigma > 0)):
            raise ValueError(f"{self.family} prior on tau^2 needs mu and a positive sigma")

    @classmethod
    def from_config(cls, spec: dict | str, metric: str | None = None) -> "TauPrior":
        """Build from a config entry (dict, or the name of one of ``EMPIRICAL_PRIORS``).

        ``source_metric`` (if given) rescales the prior from that metric to ``metric``.
        """
        if isinstance(spec, str):
            spec = {**EMPIRICAL_PRIORS[spec], "label": spec}
        spec = dict(spec)
        if spec.get("family") in EMPIRICAL_PRIORS:
            spec = {**EMPIRICAL_PRIORS[spec["family"]], "label": spec["family"], **{k: v for k, v in spec.items() if k != "family"}}
        source = spec.pop("source_metric", None)
        fields = {k: spec[k] for k in ("family", "scale", "mu", "sigma", "df", "label") if spec.get(k) is not None}
        if fields.get("family", "half_normal") in ("log_normal", "log_t"):
            fields.setdefault("scale", None)
        prior = cls(**fields)
        if source is not None and metric is not None and source != metric:
            prior = prior.rescaled(rescale_factor(source, metric))
        return prior

    def exp_tau2_moment_finite(self, c: float) -> bool:
        """Whether E[exp(c tau^2)] is finite under this prior times a likelihood that falls only
        polynomially in tau (the normal-normal model's, ~ tau^-k). Only a half-normal prior's Gaussian
        tail outweighs exp(c tau^2), when c < 1 / (2 scale^2); half-Cauchy, log-normal and log-t tails
        (on tau or tau^2) never do. It decides whether an odds ratio of a new study has a mean and an SD."""
        if c <= 0:
            return True
        return self.family == "half_normal" and c < 1.0 / (2.0 * self.scale**2)

    def tau_moment_finite(self, m: float, k: int) -> bool:
        """Whether the posterior moment E[tau^m] is finite with ``k`` effect sizes, the likelihood of the
        normal-normal model falling as tau^-k (its covariance diag(v + tau^2) + X S X' under proper normal
        priors on the coefficients). A half-Cauchy tail ~ tau^-2 leaves tau^-(k+2): finite iff m < k + 1; a
        log-t prior on log(tau^2) has the tail tau^-1 (log tau)^-(df+1): finite iff m <= k; half-normal and
        log-normal tails outweigh every power. So with one study (k = 1) under a half-Cauchy prior (tail tau^-3)
        or a log-t prior (tau^-2 (log tau)^-(df+1)) tau has a mean (m = 1) but no SD (m = 2), tau^2 no mean, and
        theta_new = mu + tau eta a mean but no SD; under a half-normal or log-normal prior every moment exists
        (tests/test_bayes_exact.py checks the rule against integrals of the posterior truncated ever further out)."""
        if self.family == "half_cauchy":
            return m < k + 1
        if self.family == "log_t":
            return m <= k
        return True

    def rescaled(self, factor: float) -> "TauPrior":
        """The prior of c * tau."""
        if self.family in ("half_normal", "half_cauchy"):
            return replace(self, scale=self.scale * factor)
        return replace(self, mu=self.mu + 2.0 * math.log(factor))

    def describe(self) -> str:
        """Short text such as ``half_normal(0.5)`` or ``log_normal(tau^2; -3.73, 1.72)``."""
        if self.family in ("half_normal", "half_cauchy"):
            text = f"{self.family}({self.scale:.3g})"
        elif self.family == "log_normal":
            text = f"log_normal(tau^2; {self.mu:.3g}, {self.sigma:.3g})"
        else:
            text = f"log_t(tau^2; {self.mu:.3g}, {self.sigma:.3g}, df={self.df:g})"
        return f"{self.label}: {text}" if self.label else text

    def distribution(self) -> str:
        """``half-normal(0.5)`` of tau, ``N(−4.92, 1.72²)`` or ``t5(−3.85, 1.93)`` of log tau² (APA numbers,
        a typographic minus)."""
        if self.family in ("half_normal", "half_cauchy"):
            return f"{PRIOR_FAMILY_NAMES[self.family]}({self.scale:g})"
        if self.family == "log_normal":
            return f"N({apa_number(self.mu, 2)}, {apa_number(self.sigma, 2)}²)"
        return f"t{self.df:g}({apa_number(self.mu, 2)}, {apa_number(self.sigma, 2)})"

    def formula(self) -> str:
        """The prior as a formula: ``half-normal(0.5) on τ``, ``log τ² ~ N(−4.92, 1.72²)``."""
        if self.family in ("half_normal", "half_cauchy"):
            return f"{self.distribution()} on τ"
        return f"log τ² ~ {self.distribution()}"

    def words(self, kind: bool = False) -> str:
        """The prior as the Methods name it: an empirical prior by its source, ``the prior on τ² of Turner et al.
        (2015) for mental-health outcomes`` (``kind``: ``the log-normal prior on τ² of ...``), another by its
        :meth:`formula`."""
        if self.label not in EMPIRICAL_SOURCES:
            return self.formula()
        return f"the {PRIOR_FAMILY_NAMES[self.family] + ' ' if kind else ''}prior on τ² of " + " for ".join(
            EMPIRICAL_SOURCES[self.label])

    def legend(self) -> str:
        """The prior as a figure names it (``describe`` is the CSV's code-like key): ``main: half-normal(0.5) on
        τ``, ``Turner et al. (2015): log τ² ~ N(−4.92, 1.72²)``; the source of an empirical prior,
        else its label, before its :meth:`formula`."""
        source = EMPIRICAL_SOURCES[self.label][0] if self.label in EMPIRICAL_SOURCES else self.label
        return f"{source}: {self.formula()}" if source else self.formula()

    def logpdf(self, tau) -> np.ndarray:
        """Log density of tau (tau^2 priors transformed: log tau = log(tau^2)/2)."""
        tau = np.asarray(tau, dtype=float)
        out = np.full(tau.shape, -np.inf)
        positive = tau > 0 if self.family in ("log_normal", "log_t") else tau >= 0
        t = tau[positive]
        if self.family == "half_normal":
            out[positive] = math.log(2.0) + dist.norm.logpdf(t, 0.0, self.scale)
        elif self.family == "half_cauchy":
            out[positive] = math.log(2.0 / (math.pi * self.scale)) - np.log1p((t / self.scale) ** 2)
        elif self.family == "log_normal":
            out[positive] = dist.norm.logpdf(np.log(t), self.mu / 2.0, self.sigma / 2.0) - np.log(t)
        else:
            out[positive] = dist.t.logpdf(np.log(t), self.df, self.mu / 2.0, self.sigma / 2.0) - np.log(t)
        return out

    def pdf(self, tau) -> np.ndarray:
        return np.exp(self.logpdf(tau))

    def cdf(self, tau) -> np.ndarray:
        """P(tau' <= tau) under the prior."""
        tau = np.asarray(tau, dtype=float)
        t = np.maximum(tau, 0.0)
        if self.family == "half_normal":
            return 2.0 * dist.norm.cdf(t, 0.0, self.scale) - 1.0
        if self.family == "half_cauchy":
            return 2.0 / math.pi * np.arctan(t / self.scale)
        with np.errstate(divide="ignore"):
            log_t = np.log(t)
        if self.family == "log_normal":
            return dist.norm.cdf(log_t, self.mu / 2.0, self.sigma / 2.0)
        return dist.t.cdf(log_t, self.df, self.mu / 2.0, self.sigma / 2.0)

    def pymc_variable(self, name: str = "tau"):
        """The tau random variable inside an open ``pm.Model`` context."""
        import pymc as pm

        if self.family == "half_normal":
            return pm.HalfNormal(name, sigma=self.scale)
        if self.family == "half_cauchy":
            return pm.HalfCauchy(name, beta=self.scale)
        if self.family == "log_normal":
            return pm.LogNormal(name, mu=self.mu / 2.0, sigma=self.sigma / 2.0)
        log_tau = pm.StudentT(f"log_{name}", nu=self.df, mu=self.mu / 2.0, sigma=self.sigma / 2.0)
        return pm.Deterministic(name, pm.math.exp(log_tau))


@dataclass(frozen=True)
class Priors:
    """mu ~ Normal(0, mu_sd) (and every meta-regression coefficient alike); tau ~ ``tau``."""

    mu_sd: float = 1.0
    tau: TauPrior = TauPrior()

    @classmethod
    def from_config(cls, prior_config: dict | None, metric: str | None = None) -> "Priors":
        prior_config = prior_config or {}
        return cls(
            mu_sd=float(prior_config.get("mu_sd", 1.0)),
            tau=TauPrior.from_config(prior_config.get("tau", {"family": "half_normal", "scale": 0.5}), metric),
        )
