"""Rule convert_effect_sizes: every row of the validated sheet in its family's analysis metric, then,
for each family, its effect sizes, the same with the effect columns only (effects.csv, read by the
analyses of the effects alone: a corrected moderator reruns none of them), and the rows it pools
(composites or all rows).

The family files leave out ``sheet_row`` (data/processed/effect_sizes.csv keeps it): a row added or
removed in one family moves the sheet rows of the other, whose files, and so its analyses, stay as
they were. They have every input column of the codebook (with_every_input_column), so a column that
only the new rows of one family fill leaves the other's files as they were too."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.inputs.dependence import effects_only, prepare_family, with_every_input_column
from alliance_meta.inputs.effect_sizes import convert
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.wording import counted

snakemake = globals()["snakemake"]
params = snakemake.params
logger = setup_logging(snakemake.log[0], "convert_effect_sizes")
sheet = read_table(snakemake.input[0])
converted = convert(sheet, dict(params.metric))
counts = converted.groupby(["family", "metric", "input_kind"], dropna=False).size()
logger.info("%s converted, by family, metric and input kind:\n%s",
            counted(len(converted), "effect size"), counts.to_string())
unusable = converted.loc[converted["yi"].isna() | converted["vi"].isna()]
if len(unusable):
    logger.warning("no usable effect size on sheet rows %s (left out of the analyses)",
                   ", ".join(str(row) for row in unusable["sheet_row"]))
write_table(converted, snakemake.output.converted)
converted = with_every_input_column(read_table(snakemake.output.converted))  # each family from the file as written
for family, rows_path, effects_path, analysis_path in zip(params.families, snakemake.output.effect_sizes,
                                                         snakemake.output.effects, snakemake.output.analysis):
    rows, analysis, notes = prepare_family(converted, family, dependence=params.dependence,
                                           method=params.method, rho=float(params.rho))
    for note in notes:
        logger.info("%s: %s", family, note)
    write_table(rows.drop(columns="sheet_row", errors="ignore"), rows_path)
    write_table(effects_only(rows), effects_path)
    write_table(analysis.drop(columns="sheet_row", errors="ignore"), analysis_path)
