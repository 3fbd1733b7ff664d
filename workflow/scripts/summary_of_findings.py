"""Write results/{family}/summary_of_findings.csv: a suggested GRADE rating from the family's results."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)


from alliance_meta.engines.transforms import family_metric
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.models.fits import main_row
from alliance_meta.report.grade import summary_of_findings

log = setup_logging(snakemake.log[0])  # noqa: F821
inputs, params = snakemake.input, snakemake.params  # noqa: F821
row = main_row(read_table(inputs.pooled), params.main_method, list(params.tests))
optional = {name: read_table(inputs[name]) if name in inputs.keys() else None for name in ("bias", "selection_models")}
effect_sizes = read_table(inputs.effect_sizes)
table = summary_of_findings(snakemake.wildcards.family, family_metric(params.metric, effect_sizes), row,  # noqa: F821
                            read_table(inputs.analysis), effect_sizes, optional["bias"], optional["selection_models"],
                            params.grade, getattr(params, "risk_of_bias", None))
write_table(table, snakemake.output[0])  # noqa: F821
log.info("summary of findings: suggested certainty %s (%s)", table["certainty"].iloc[0],
         "; ".join(f"{d}: {table[f'{d}_reason'].iloc[0]}" for d in
                   ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")))
