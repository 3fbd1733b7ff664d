"""Moderator analyses of a fitted model: subgroups, mixed-effects models, meta-regressions.

:mod:`.univariate` holds the analyses of aggregated data (one composite per study x level);
:mod:`.multilevel` the three-level mixed-effects models. :func:`moderators`,
:func:`meta_regression` and :func:`moderator_tables` take a fit and dispatch on its type.
"""

from alliance_meta.analyses.moderators.dispatch import (ModeratorResult, empty_moderator_tables, meta_regression,
                                                        moderator_tables, moderators, table_variables)
from alliance_meta.analyses.moderators.univariate import (ModeratorAnalysis, aggregate_within, analyse_moderator,
                                                          convergence_messages, fit_model, meta_regression_table,
                                                          q_between, subgroup_fits, usable_rows)

__all__ = ["ModeratorAnalysis", "ModeratorResult", "aggregate_within", "analyse_moderator", "convergence_messages",
           "empty_moderator_tables", "fit_model", "meta_regression", "meta_regression_table", "moderator_tables",
           "moderators", "q_between", "subgroup_fits", "table_variables", "usable_rows"]
