"""Small-study effects and publication bias, one module per method family.

:mod:`.regression` (Egger, PET-PEESE), :mod:`.rank` (Begg-Mazumdar),
:mod:`.trim_and_fill`, :mod:`.fail_safe`, :mod:`.selection` (the step-function
selection model of the battery), :mod:`.selection_models` (every selection model of
metafor's ``selmodel``), :mod:`.excess_significance` (``tes``), :mod:`.henmi_copas` (``hc``),
:mod:`.svalue` (S-values); :mod:`.results` holds the row type of ``bias.csv`` and
:mod:`.battery` runs them all on one set of studies.
"""

from alliance_meta.analyses.bias.battery import publication_bias
from alliance_meta.analyses.bias.excess_significance import ExcessSignificance, excess_significance
from alliance_meta.analyses.bias.fail_safe import fail_safe_n
from alliance_meta.analyses.bias.henmi_copas import HenmiCopas, henmi_copas
from alliance_meta.analyses.bias.rank import kendall_permutation_cdf, kendall_test, rank_test
from alliance_meta.analyses.bias.regression import egger_lm_test, egger_test, pet_peese, sei_regression
from alliance_meta.analyses.bias.results import BiasTest, bias_frame
from alliance_meta.analyses.bias.selection import selection_model
from alliance_meta.analyses.bias.selection_models import (SelectionModel, fit_selection_model, fit_selection_models,
                                                          selection_models_table)
from alliance_meta.analyses.bias.svalue import SValue, s_values
from alliance_meta.analyses.bias.trim_and_fill import TrimFillResult, trim_and_fill, trimfill_side

__all__ = ["BiasTest", "ExcessSignificance", "HenmiCopas", "SValue", "SelectionModel", "TrimFillResult", "bias_frame",
           "egger_lm_test", "egger_test", "excess_significance", "fail_safe_n", "fit_selection_model",
           "fit_selection_models", "henmi_copas", "kendall_permutation_cdf", "kendall_test", "pet_peese",
           "publication_bias", "rank_test", "s_values", "selection_model", "selection_models_table",
           "sei_regression", "trim_and_fill", "trimfill_side"]
