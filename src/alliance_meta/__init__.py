"""alliance-meta: meta-analysis of therapeutic alliance-outcome and alliance-dropout associations.

The statistics library behind the Snakemake pipeline. Pure functions and small
result objects on NumPy arrays and pandas DataFrames; no Snakemake, no file
paths, no global state.
"""

__version__ = "0.1.0"
