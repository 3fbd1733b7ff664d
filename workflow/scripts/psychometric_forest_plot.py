"""Rule psychometric_forest_plot: the forest plot of the individually corrected correlations of rule
psychometric (its table and studies), drawn with the plots options (alliance_meta.plots.psychometric)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.analyses.psychometric import PsychometricOptions, correlations
from alliance_meta.io import read_table, setup_logging
from alliance_meta.plots.forest_options import ForestOptions
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.psychometric import save_psychometric_forest

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "psychometric_forest_plot")
params, output = snakemake.params, snakemake.output
options = PsychometricOptions.from_config(dict(params.settings), level=params.level)
studies = read_table(snakemake.input.studies)
save_psychometric_forest(studies, read_table(snakemake.input.table),
                         [output.pdf, output.png], level=params.level, cred_level=100 * options.cred_level,
                         options=ForestOptions.from_config(params.plots),
                         data_note=figure_note(correlations(read_table(snakemake.input.effect_sizes))), logger=logger)
