"""Bayesian normal-normal hierarchical meta-analysis and meta-regression.

``exact``: the posterior by quadrature over tau (as the R package bayesmeta);
``mcmc``: the same model sampled with PyMC (nutpie when installed), checked against
the exact posterior; ``summaries``: the tables; ``plots``: figures. The modules that
import PyMC are imported lazily, so the exact computations stay fast to load.
"""

import sys as _sys
import types as _types

from .exact import ExactPosterior, NormalMixture, exact_posterior, typical_within_variance
from .priors import EMPIRICAL_PRIORS, Priors, TauPrior

__all__ = ["EMPIRICAL_PRIORS", "ExactPosterior", "NormalMixture", "Priors", "TauPrior", "exact_posterior", "typical_within_variance"]


class _CallableModule(_types.ModuleType):
    """``am.bayes(fit, ...)`` calls :func:`alliance_meta.bayes.api.bayes`; ``am.bayes.<module>`` stays the package."""

    def __call__(self, fit, *args, **kwargs):
        from alliance_meta.bayes.api import bayes

        return bayes(fit, *args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
