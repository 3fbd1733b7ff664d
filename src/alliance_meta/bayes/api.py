"""``am.bayes(fit)``: the Bayesian normal-normal model of a fit's studies, MCMC checked against the exact posterior."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping

from alliance_meta.bayes.analysis import ModeratorOptions, StageResult, run_stage
from alliance_meta.inputs.options import check_options, keywords_checked, settings_alias
from alliance_meta.models.fits import Fit, MultilevelFit, require_fit

log = logging.getLogger("alliance_meta")

#: What ``am.bayes`` samples with, and the extra that installs it (the core install has neither).
BAYES_EXTRA = "pip install 'alliance-meta[bayes]' (PyMC, nutpie, ArviZ)"

#: The keys of the config's ``bayes`` block (nested mappings with theirs), as BayesConfig.from_config
#: reads them: the check of ``settings`` when the config schema is not installed (``prior.tau`` is
#: checked by alliance_meta.bayes.priors.TauPrior).
BAYES_KEYS = {
    "prior": {"mu_sd": None, "tau": None},
    "seed": None, "sampler": None, "draws": None, "tune": None, "chains": None, "target_accept": None,
    "hdi_prob": None, "thresholds": None,
    "diagnostics": {"r_hat_max": None, "ess_min": None},
    "retry": {"target_accept": None, "draws_factor": None},
    "sensitivity_priors": None,
}

#: The config's ``bayes.sampler`` values.
SAMPLERS = ("auto", "nutpie", "pymc")


@settings_alias
@keywords_checked
def bayes(fit: Fit, settings: dict | None = None, *, moderators=(), continuous=(), reference_levels=None,
          centre: bool = True, cores: int = 1, labels: str = "authors_year") -> StageResult:
    """Bayesian random-effects pooling of ``fit``'s studies and meta-regressions of its moderators.

    Parameters
    ----------
    fit : a univariate fit; a three-level fit is analysed through its study composites (the
        Bayesian model is the univariate normal-normal model; the log says so).
    settings : the ``bayes`` section of the config (priors, draws, seed...); None for the defaults
        (``config=``, its old name, is taken too).
        Checked as that section: an unknown key (``draw``) or value raises one ValueError listing
        every problem (``bayes.draw: unknown key; did you mean bayes.draws?``).
    moderators, continuous, reference_levels, centre : the moderator models, coded as the
        frequentist ones (effect sizes aggregated within study x level).
    cores : chains sampled in parallel.
    labels : how ``studies`` names each study, as the forest plot (config ``plots.labels``): ``authors_year``
        (the default), ``label`` or ``both``.

    Returns
    -------
    StageResult with ``table`` (bayes.csv), ``studies``, ``moderators`` and ``draws``; ``to_frame()``
    gives the table. Needs PyMC (``pip install 'alliance-meta[bayes]'``): without it an ImportError
    says so before any work.
    """
    from alliance_meta.plots.forest_options import LABEL_MODES

    require_sampler()
    require_fit(fit, "am.bayes")
    if settings is not None and not isinstance(settings, Mapping):
        raise TypeError(f"am.bayes: settings is a dict of the config's bayes keys (e.g. {{'draws': 1000}}) or None, "
                        f"not {type(settings).__name__}")
    check_options("bayes", settings, BAYES_KEYS, "am.bayes", enums={"sampler": SAMPLERS})
    if labels not in LABEL_MODES:
        raise ValueError(f"am.bayes: labels must be one of {', '.join(LABEL_MODES)} (as plots.labels), not {labels!r}")
    moderators = (moderators,) if isinstance(moderators, str) else tuple(moderators)
    continuous = (continuous,) if isinstance(continuous, str) else tuple(continuous)
    if "study_id" in moderators or "study_id" in continuous:  # as am.moderators; else a pandas error after sampling
        raise ValueError("am.bayes: study_id cannot be a moderator: it is the clustering variable of the model "
                         "(studies are its units)")
    for names, what in ((moderators, "moderator"), (continuous, "continuous moderator")):
        # as am.moderators, before sampling: else the pooled model was sampled and the moderator left out with a log line
        fit.moderator_columns(names, f"am.bayes: {what}")
    if fit.metric is None:
        raise ValueError("am.bayes needs the analysis metric for its priors: fit(..., metric='z') (or 'smd', "
                         "'log_or', as its yi are)")
    studies = fit.composites() if isinstance(fit, MultilevelFit) else fit.data
    if isinstance(fit, MultilevelFit):
        log.info("three-level fit: the Bayesian normal-normal model uses %d study composites", len(studies))
    options = ModeratorOptions(continuous=tuple(continuous), aggregate_method=fit.aggregate_method, rho=fit.rho,
                               reference_levels=dict(reference_levels or {}), centre=centre)
    return run_stage(studies, fit.metric, settings, moderators, cores, effect_sizes=fit.effect_sizes, options=options,
                     labels=labels)


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a finder that refuses the name
        return False
    except ValueError:  # imported already, without a spec
        return True


def require_sampler() -> None:
    """ImportError naming the ``[bayes]`` extra when PyMC or ArviZ is not installed: else ``am.bayes``
    got as far as sampling and stopped with a bare ``No module named 'pymc'``."""
    missing = [name for name in ("pymc", "arviz") if not _installed(name)]
    if missing:
        raise ImportError(f"am.bayes needs PyMC: {BAYES_EXTRA}; not installed: {', '.join(missing)}",
                          name=missing[0])
