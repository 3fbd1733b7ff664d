"""alliance-meta: meta-analysis of therapeutic alliance-outcome and alliance-dropout associations.

The statistics library behind the Snakemake pipeline, usable on its own::

    import alliance_meta as am
    fit = am.fit(yi, vi, method="REML", test="knha", metric="z")  # univariate (rma.uni)
    fit = am.fit(frame, dependence="multilevel", rho=0.5)      # three-level CHE model (rma.mv)
    fit.estimate, fit.conf_int(), fit.predict(transform="r"), print(fit.summary())
    am.publication_bias(fit).to_frame(); am.leave_one_out(fit).to_frame()

Layers (arrows point down): ``inputs`` (sheet, codebook, effect sizes, dependence) ->
``engines`` (tau^2 estimators, block algebra, CR2, formulas) -> ``models`` (univariate,
multilevel, meta-regression; the fit objects) -> ``analyses`` (bias, sensitivity, moderators,
multiverse) -> ``bayes``, ``plots``, ``report``. See docs/python-api.md and docs/architecture.md.

Names are loaded on first use, so ``import alliance_meta`` stays fast and the core install
(numpy, scipy, pandas, matplotlib, openpyxl, pandera, formulaic) suffices for everything but the
Bayesian sampler.
"""

from alliance_meta import _lazy

__version__ = "0.1.0"

#: public name -> (module, attribute)
_API = {
    "fit": ("alliance_meta.models.fits", "fit"),
    "pooled_table": ("alliance_meta.models.fits", "pooled_table"),
    "UnivariateFit": ("alliance_meta.models.fits", "UnivariateFit"),
    "MultilevelFit": ("alliance_meta.models.fits", "MultilevelFit"),
    "NotApplicable": ("alliance_meta.models.fits", "NotApplicable"),
    "ConvergenceWarning": ("alliance_meta.models.fits", "ConvergenceWarning"),
    "read_sheet": ("alliance_meta.inputs.reading", "read_sheet"),
    "effect_sizes": ("alliance_meta.inputs.reading", "effect_sizes"),
    "SheetProblems": ("alliance_meta.inputs.reading", "SheetProblems"),
    "publication_bias": ("alliance_meta.analyses.bias", "publication_bias"),
    "selection_models": ("alliance_meta.analyses.bias.selection_models", "selection_models"),
    "sensitivity": ("alliance_meta.analyses.sensitivity", "sensitivity"),
    "leave_one_out": ("alliance_meta.analyses.sensitivity", "leave_one_out"),
    "influence": ("alliance_meta.analyses.sensitivity", "influence"),
    "cumulative": ("alliance_meta.analyses.sensitivity", "cumulative"),
    "moderators": ("alliance_meta.analyses.moderators", "moderators"),
    "meta_regression": ("alliance_meta.analyses.moderators", "meta_regression"),
    "moderator_tables": ("alliance_meta.analyses.moderators", "moderator_tables"),
    "gosh": ("alliance_meta.analyses.gosh", "gosh_analysis"),
    "rve": ("alliance_meta.analyses.rve", "rve_analysis"),
    "location_scale": ("alliance_meta.analyses.location_scale", "location_scale_analysis"),
    "model_comparison": ("alliance_meta.analyses.model_comparison", "model_comparison_analysis"),
    "multiverse": ("alliance_meta.analyses.multiverse", "multiverse_analysis"),
    "psychometric": ("alliance_meta.analyses.psychometric", "psychometric_of_fit"),
    "risk_of_bias_sensitivity": ("alliance_meta.analyses.risk_of_bias", "risk_of_bias_sensitivity"),
    "study_characteristics": ("alliance_meta.report.summary", "study_characteristics_of_fit"),
    "summary_of_findings": ("alliance_meta.report.grade", "summary_of_findings_of_fit"),
    "bayes": ("alliance_meta.bayes", None),  # the package, callable as am.bayes(fit, ...)
    "bma": ("alliance_meta.bayes.bma", "bma"),
}

__all__ = sorted(_API)


__getattr__, __dir__ = _lazy.lazy_names(globals(), _API)
