"""The normal, t, chi-squared and F distributions without importing scipy.stats.

``import scipy.stats`` costs about 1.2 s beyond ``scipy.special``, paid by every pipeline
job, although the library needs only a few functions of four distributions. ``norm``, ``t``,
``chi2`` and ``f`` here offer the methods the library calls (pdf, logpdf, cdf, sf, ppf, isf)
on scipy.special alone and return exactly what scipy.stats 1.17.1 returns, bit for bit
(tests/test_distributions.py compares them): the standard-form functions are those of
``norm_gen``, ``t_gen``, ``chi2_gen`` and ``f_gen`` (scipy/stats/_continuous_distns.py), and
the public methods transcribe ``rv_continuous`` (scipy/stats/_distn_infrastructure.py): loc
and scale (positional or keyword), nan for invalid parameters or nan input, the support
bounds outside the support and at q = 0 or 1, and a numpy float64 for scalar input.
"""

from __future__ import annotations

import numpy as np
from scipy import special as sc

__all__ = ["norm", "t", "chi2", "f"]


def _argsreduce(cond, *args):
    """scipy.stats' argsreduce: each argument as a 1-d array, where ``cond`` holds."""
    args = [np.atleast_1d(arg) for arg in args]
    if np.all(cond):
        *args, cond = np.broadcast_arrays(*args, cond)
        return [arg.ravel() for arg in args]
    return [arg if np.size(arg) == 1 else np.extract(cond, np.broadcast_to(arg, cond.shape)) for arg in args]


def _scalar(output):
    return output[()] if output.ndim == 0 else output


class _Continuous:
    """The public methods of scipy's rv_continuous over a subclass's standard form."""

    a, b = -np.inf, np.inf  # support of the standard form

    def _argcheck(self, *args):
        cond = 1
        for arg in args:
            cond = np.logical_and(cond, np.asarray(arg) > 0)
        return cond

    def _require(self, core: str) -> None:
        """Only the methods the library uses are transcribed; any other says so (not a silent nan)."""
        if not hasattr(self, core):
            name = type(self).__name__.lstrip("_").lower()
            raise NotImplementedError(f"distributions.{name}.{core.lstrip('_')} is not implemented; "
                                      f"use scipy.stats.{name}")

    def _standardise(self, x, args, kwds):
        args, loc, scale = self._parse_args(*args, **kwds)
        x, loc, scale = map(np.asarray, (x, loc, scale))
        args = tuple(map(np.asarray, args))
        dtyp = np.promote_types(x.dtype, np.float64)
        x = np.asarray((x - loc) / scale, dtype=dtyp)
        return x, args, scale, dtyp, self._argcheck(*args) & (scale > 0)

    def _density(self, x, args, kwds, core: str, outside: float, rescale):
        """pdf and logpdf: ``rescale(core(x), scale)`` on the support, ``outside`` off it."""
        self._require(core)
        x, args, scale, dtyp, cond0 = self._standardise(x, args, kwds)
        with np.errstate(invalid="ignore"):
            cond = cond0 & ((self.a <= x) & (x <= self.b)) & (scale > 0)
        output = np.full(np.shape(cond), outside, dtyp)
        np.putmask(output, (1 - cond0) + np.isnan(x), np.nan)
        if np.any(cond):
            *goodargs, scale = _argsreduce(cond, x, *args, scale)
            np.place(output, cond, rescale(getattr(self, core)(*goodargs), scale))
        return _scalar(output)

    def pdf(self, x, *args, **kwds):
        return self._density(x, args, kwds, "_pdf", 0.0, lambda value, scale: value / scale)

    def logpdf(self, x, *args, **kwds):
        return self._density(x, args, kwds, "_logpdf", -np.inf, lambda value, scale: value - np.log(scale))

    def _tail(self, x, args, kwds, core: str, one_beyond_support):
        """cdf and sf: ``core`` inside the support, 1 where ``one_beyond_support(x)``, else 0."""
        self._require(core)
        x, args, scale, dtyp, cond0 = self._standardise(x, args, kwds)
        with np.errstate(invalid="ignore"):
            cond = cond0 & ((self.a < x) & (x < self.b)) & (scale > 0)
        output = np.zeros(np.shape(cond), dtyp)
        np.place(output, (1 - cond0) + np.isnan(x), np.nan)
        np.place(output, one_beyond_support(x) & cond0, 1.0)
        if np.any(cond):
            np.place(output, cond, getattr(self, core)(*_argsreduce(cond, x, *args)))
        return _scalar(output)

    def cdf(self, x, *args, **kwds):
        return self._tail(x, args, kwds, "_cdf", lambda x: x >= np.asarray(self.b))

    def sf(self, x, *args, **kwds):
        return self._tail(x, args, kwds, "_sf", lambda x: x <= self.a)

    def _quantile(self, q, args, kwds, core, at_zero, at_one):
        """ppf and isf: ``core`` inside (0, 1), the support bounds at q = 0 and q = 1."""
        args, loc, scale = self._parse_args(*args, **kwds)
        q, loc, scale = map(np.asarray, (q, loc, scale))
        args = tuple(map(np.asarray, args))
        cond0 = self._argcheck(*args) & (scale > 0) & (loc == loc)
        cond = cond0 & ((0 < q) & (q < 1))
        output = np.full(np.shape(cond), fill_value=np.nan)
        for where, bound in ((cond0 & (q == 0), at_zero), (cond0 & (q == 1), at_one)):
            np.place(output, where, _argsreduce(where, bound * scale + loc)[0])
        if np.any(cond):
            *goodargs, scale, loc = _argsreduce(cond, q, *args, scale, loc)
            np.place(output, cond, core(*goodargs) * scale + loc)
        return _scalar(output)

    def ppf(self, q, *args, **kwds):
        self._require("_ppf")
        return self._quantile(q, args, kwds, self._ppf, self.a, self.b)

    def isf(self, q, *args, **kwds):
        self._require("_isf")
        return self._quantile(q, args, kwds, self._isf, self.b, self.a)


_NORM_PDF_C = np.sqrt(2 * np.pi)
_NORM_PDF_LOGC = np.log(_NORM_PDF_C)


def _norm_pdf(x):
    return np.exp(-x**2 / 2.0) / _NORM_PDF_C


def _norm_logpdf(x):
    return -x**2 / 2.0 - _NORM_PDF_LOGC


class _Norm(_Continuous):
    def _parse_args(self, loc=0, scale=1):
        return (), loc, scale

    _pdf = staticmethod(_norm_pdf)
    _logpdf = staticmethod(_norm_logpdf)
    _cdf = staticmethod(sc.ndtr)

    def _sf(self, x):
        return sc.ndtr(-x)

    _ppf = staticmethod(sc.ndtri)

    def _isf(self, q):
        return -sc.ndtri(q)


class _T(_Continuous):
    def _parse_args(self, df, loc=0, scale=1):
        return (df,), loc, scale

    def _logpdf(self, x, df):
        """t_gen._logpdf: the normal's where df is infinite (xpx.apply_where)."""
        normal, x, df = np.broadcast_arrays(df == np.inf, x, df)
        other = ~normal
        xo, dfo = x[other], df[other]
        finite = (np.log(sc.poch(0.5 * dfo, 0.5)) - 0.5 * (np.log(dfo) + np.log(np.pi))
                  - (dfo + 1) / 2 * np.log1p(xo * xo / dfo))
        infinite = _norm_logpdf(x[normal])
        output = np.empty_like(normal, dtype=np.result_type(infinite, finite))
        output[other] = finite
        output[normal] = infinite
        return output

    def _cdf(self, x, df):
        return sc.stdtr(df, x)

    def _sf(self, x, df):
        return sc.stdtr(df, -x)

    def _ppf(self, q, df):
        return sc.stdtrit(df, q)

    def _isf(self, q, df):
        return -sc.stdtrit(df, q)


class _Chi2(_Continuous):
    a = 0.0

    def _parse_args(self, df, loc=0, scale=1):
        return (df,), loc, scale

    def _cdf(self, x, df):
        return sc.chdtr(df, x)

    def _sf(self, x, df):
        return sc.chdtrc(df, x)

    def _ppf(self, p, df):
        return 2 * sc.gammaincinv(df / 2, p)

    def _isf(self, p, df):
        return sc.chdtri(df, p)


class _F(_Continuous):
    a = 0.0

    def _parse_args(self, dfn, dfd, loc=0, scale=1):
        return (dfn, dfd), loc, scale

    def _sf(self, x, dfn, dfd):
        return sc.fdtrc(dfn, dfd, x)


norm, t, chi2, f = _Norm(), _T(), _Chi2(), _F()
