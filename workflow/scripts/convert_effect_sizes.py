"""Rule convert_effect_sizes: every row of the validated sheet in its family's analysis metric."""
from alliance_meta.inputs.effect_sizes import convert
from alliance_meta.io import read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "convert_effect_sizes")
sheet = read_table(snakemake.input[0])
converted = convert(sheet, dict(snakemake.params.metric))
counts = converted.groupby(["family", "metric", "input_kind"], dropna=False).size()
logger.info("%d effect sizes converted, by family, metric and input kind:\n%s",
            len(converted), counts.to_string())
unusable = converted.loc[converted["yi"].isna() | converted["vi"].isna()]
if len(unusable):
    logger.warning("no usable effect size on sheet rows %s (left out of the analyses)",
                   ", ".join(str(row) for row in unusable["sheet_row"]))
write_table(converted, snakemake.output[0])
