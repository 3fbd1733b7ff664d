"""Small-study effects and publication bias, one module per method family.

:mod:`.regression` (Egger, PET-PEESE), :mod:`.rank` (Begg-Mazumdar),
:mod:`.trim_and_fill`, :mod:`.fail_safe`, :mod:`.selection` (step-function
selection model); :mod:`.results` holds the row type of ``bias.csv`` and
:mod:`.battery` runs them all on one set of studies.
"""

from alliance_meta.analyses.bias.battery import publication_bias
from alliance_meta.analyses.bias.fail_safe import fail_safe_n
from alliance_meta.analyses.bias.rank import kendall_permutation_cdf, kendall_test, rank_test
from alliance_meta.analyses.bias.regression import egger_lm_test, egger_test, pet_peese, sei_regression
from alliance_meta.analyses.bias.results import BiasTest, bias_frame
from alliance_meta.analyses.bias.selection import SelectionModel, selection_model
from alliance_meta.analyses.bias.trim_and_fill import TrimFillResult, trim_and_fill, trimfill_side

__all__ = ["BiasTest", "SelectionModel", "TrimFillResult", "bias_frame", "egger_lm_test", "egger_test",
           "fail_safe_n", "kendall_permutation_cdf", "kendall_test", "pet_peese", "publication_bias",
           "rank_test", "selection_model", "sei_regression", "trim_and_fill", "trimfill_side"]
