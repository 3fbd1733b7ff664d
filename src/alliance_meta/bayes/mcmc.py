"""The normal-normal hierarchical model in PyMC (non-centred), sampled with nutpie.

    y_i ~ N(theta_i, v_i),  theta_i = x_i' beta + tau eta_i,  eta_i ~ N(0, 1),
    beta_j ~ N(0, mu_sd^2),  tau ~ p(tau)

(the non-centred form avoids the funnel between tau and theta; Betancourt & Girolami
2015, "Hamiltonian Monte Carlo for hierarchical models"). ``eta_new ~ N(0, 1)`` gives
the effect of a new study, theta_new = x_new' beta + tau eta_new.

One compiled model serves several fits (the meta-regressions of a family): the data (y, SE, X and a
0/1 mask) are ``pm.Data`` and are padded to a fixed number of studies and coefficients, so
nutpie's ``with_data`` swaps data sets without recompiling (numba compilation of the
callbacks of :mod:`.compiled` takes ~4 s, sampling ~0.5 s). Masked studies contribute
nothing to the likelihood; padded coefficients and etas are sampled from their N(0, .) priors and
dropped. With nutpie missing (or ``backend="pymc"``) PyMC's NUTS is used instead.

The coefficients are sampled as beta = A gamma (gamma flat, the N(0, mu_sd^2) prior of
beta added as a potential: the same posterior, since the map is linear). ``A`` is data
(identity unless a ``scale`` is passed to :meth:`HierarchicalSampler.sample`); with A
the Cholesky factor of beta's posterior covariance, gamma is near-isotropic, which keeps
NUTS efficient on designs with strongly correlated columns (an uncentred continuous
moderator such as year, where intercept and slope correlate at ~ -0.9999).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

import numpy as np

from .priors import Priors

log = logging.getLogger("alliance_meta")


def available_backend(requested: str = "auto") -> str:
    """``nutpie`` when requested or ``auto`` and installed, otherwise ``pymc``."""
    has_nutpie = importlib.util.find_spec("nutpie") is not None
    if requested == "nutpie" and not has_nutpie:
        raise ImportError("bayes.sampler is 'nutpie' but nutpie is not installed")
    return "nutpie" if requested in ("auto", "nutpie") and has_nutpie else "pymc"


@dataclass(frozen=True)
class SamplerSettings:
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    seed: int = 20181201
    cores: int = 2
    backend: str = "auto"


@dataclass
class Draws:
    """Posterior draws (chain, draw, ...) of one fit, padding removed."""

    beta: np.ndarray  # (chains, draws, p)
    tau: np.ndarray  # (chains, draws)
    theta: np.ndarray  # (chains, draws, k)
    eta_new: np.ndarray  # (chains, draws)
    divergences: int
    settings: SamplerSettings


class HierarchicalSampler:
    """A compiled normal-normal model for up to ``max_studies`` studies and
    ``max_coefficients`` coefficients (meta-regression), reused across fits."""

    def __init__(self, priors: Priors, max_studies: int, max_coefficients: int = 1, backend: str = "auto"):
        import pymc as pm
        import pytensor.tensor as pt

        self.priors = priors
        self.k, self.p = int(max_studies), int(max_coefficients)
        self.backend = available_backend(backend)
        with pm.Model() as model:
            y = pm.Data("y", np.zeros(self.k))
            se = pm.Data("se", np.ones(self.k))
            X = pm.Data("X", np.zeros((self.k, self.p)))
            mask = pm.Data("mask", np.ones(self.k))
            A = pm.Data("A", np.eye(self.p))
            gamma = pm.Flat("gamma", shape=self.p)
            beta = pm.Deterministic("beta", pt.dot(A, gamma))
            pm.Potential("beta_prior", pt.sum(pm.logp(pm.Normal.dist(0.0, priors.mu_sd), beta)))
            tau = priors.tau.pymc_variable("tau")
            eta = pm.Normal("eta", 0.0, 1.0, shape=self.k)
            pm.Normal("eta_new", 0.0, 1.0)
            theta = pm.Deterministic("theta", pt.dot(X, beta) + tau * eta)
            pm.Potential("likelihood", pt.sum(mask * pm.logp(pm.Normal.dist(theta, se), y)))
        self.model = model
        self._compiled = None
        if self.backend == "nutpie":
            from .compiled import compile_fixed_data_model

            self._compiled = compile_fixed_data_model(model, var_names=["beta", "tau", "eta_new", "theta"])

    def _padded(self, y, v, X, scale):
        k, p = X.shape
        if k > self.k or p > self.p:
            raise ValueError(f"data ({k} studies, {p} coefficients) exceed the compiled model ({self.k}, {self.p})")
        data = {"y": np.zeros(self.k), "se": np.ones(self.k), "X": np.zeros((self.k, self.p)), "mask": np.zeros(self.k),
                "A": np.eye(self.p)}
        data["y"][:k], data["se"][:k], data["X"][:k, :p], data["mask"][:k] = y, np.sqrt(v), X, 1.0
        if scale is not None:
            data["A"][:p, :p] = scale
        return data

    def sample(self, y, v, X=None, settings: SamplerSettings = SamplerSettings(), scale=None) -> Draws:
        """Sample the posterior for one data set; the same data, settings and seed give
        identical draws. ``scale``: an invertible (p, p) matrix A with beta = A gamma
        (a reparameterisation for sampling efficiency only; the posterior is unchanged)."""
        y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
        X = np.ones((len(y), 1)) if X is None else np.asarray(X, dtype=float)
        data = self._padded(y, v, X, None if scale is None else np.asarray(scale, dtype=float))
        if self.backend == "nutpie":
            import nutpie

            trace = nutpie.sample(
                self._compiled.with_data(**data),
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=settings.cores,
                seed=settings.seed,
                target_accept=settings.target_accept,
                progress_bar=False,
                return_raw_trace=True,
            )
            posterior, divergences = posterior_arrays(trace, ("beta", "tau", "theta", "eta_new"))
        else:
            import pymc as pm

            with self.model:
                pm.set_data(data)
                idata = pm.sample(
                    draws=settings.draws,
                    tune=settings.tune,
                    chains=settings.chains,
                    cores=settings.cores,
                    random_seed=settings.seed,
                    target_accept=settings.target_accept,
                    progressbar=False,
                    compute_convergence_checks=False,
                    var_names=["beta", "tau", "eta_new", "theta"],
                )
            posterior = {name: np.asarray(idata.posterior[name]) for name in ("beta", "tau", "theta", "eta_new")}
            divergences = int(np.asarray(idata.sample_stats["diverging"]).sum())
        k, p = X.shape
        return Draws(
            beta=posterior["beta"][..., :p],
            tau=posterior["tau"],
            theta=posterior["theta"][..., :k],
            eta_new=posterior["eta_new"],
            divergences=divergences,
            settings=settings,
        )


def posterior_arrays(trace, names) -> tuple[dict, int]:
    """The draws after tuning of ``names`` as (chain, draw, ...) arrays and the number of divergent transitions
    after tuning, from nutpie's raw trace (``return_raw_trace=True``: one Arrow record batch of draws and one of
    sampler statistics per chain). The arrays and count of ``nutpie.sample``'s InferenceData (its
    ``_arrow_to_arviz``: the rows after the chain's tuning rows, each row's list of values reshaped to the variable's
    shape), without building the InferenceData (~0.25 s per fit for the 125 study effects of the demo's outcome
    family: xarray's datasets of every variable and statistic, warm-up included)."""
    import pyarrow

    draw_batches, stat_batches = trace.get_arrow_trace()
    columns, divergences = {name: [] for name in names}, 0
    for draws, stats in zip(draw_batches, stat_batches, strict=True):
        tuning = int(pyarrow.array(stats.column("tuning")).to_numpy(zero_copy_only=False).sum())
        divergences += int(pyarrow.array(stats.column("diverging")).to_numpy(zero_copy_only=False)[tuning:].sum())
        for name in names:
            column = pyarrow.array(draws.column(name))
            if column.null_count:
                raise ValueError(f"nutpie's trace has missing draws of {name}")
            values = (column.flatten() if hasattr(column, "flatten") else column).to_numpy(zero_copy_only=False)
            columns[name].append(values.reshape(len(column), -1)[tuning:] if hasattr(column, "flatten")
                                 else values[tuning:])
    lengths = {len(chain) for chains in columns.values() for chain in chains}
    if len(lengths) != 1:
        raise ValueError(f"nutpie's chains have different numbers of draws ({sorted(lengths)})")
    return {name: np.stack(chains) for name, chains in columns.items()}, divergences
