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
    # ``am.bayes(fit, ...)`` calls alliance_meta.bayes.api.bayes; ``am.bayes.<module>`` stays the package.
    # ``inspect.signature(am.bayes)`` is the function's, and ``help(am.bayes)`` starts with its usage and
    # docstring, then the package's: both read from .api when asked (importing it takes ~1 s), so that
    # importing the package stays fast. (A class docstring would be shadowed by the __doc__ property.)

    def __call__(self, fit, *args, **kwargs):
        from alliance_meta.bayes.api import bayes

        return bayes(fit, *args, **kwargs)

    @property
    def __signature__(self):
        import inspect

        from alliance_meta.bayes.api import bayes

        return inspect.signature(bayes)

    @property
    def __doc__(self):
        package = self.__dict__.get("__doc__") or ""
        try:
            import inspect

            from alliance_meta.bayes.api import bayes
        except ImportError:  # a broken install: the package's description still reads
            return package
        signature = inspect.signature(bayes)
        usage = signature.replace(parameters=[parameter.replace(annotation=parameter.empty)
                                              for parameter in signature.parameters.values()],
                                  return_annotation=signature.empty)
        returns = signature.return_annotation  # a string: api.py has postponed annotations
        returns = returns if isinstance(returns, str) else getattr(returns, "__name__", "")
        return (f"am.bayes{usage}{f' -> {returns}' if returns else ''}\n\n{inspect.getdoc(bayes)}\n\n"
                f"The package alliance_meta.bayes: {inspect.cleandoc(package)}")

    @__doc__.setter
    def __doc__(self, value):
        self.__dict__["__doc__"] = value


_sys.modules[__name__].__class__ = _CallableModule
