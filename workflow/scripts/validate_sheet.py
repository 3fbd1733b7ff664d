"""Rule validate_sheet: read the raw sheet (params: sheet_name, decimal) and check it against
the codebook and the config's moderator columns (params: moderators, continuous_moderators,
meta_regression, subsets, psychometric_moderators) and the risk-of-bias tool (params: risk_of_bias); write the typed sheet
and the notes of reading and validation (one per line; the report's Data section lists them).

On problems the report goes to the log and stderr and the rule fails (exit 1, no
traceback); the raw sheet is only read.
"""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import sys
from pathlib import Path

from alliance_meta.inputs.sheet import (
    SheetError,
    format_problems,
    read_sheet,
    summarise,
    validate_sheet,
)
from alliance_meta.io import setup_logging, write_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "validate_sheet")
sheet_path = str(snakemake.input[0])
params = snakemake.params
try:
    raw = read_sheet(sheet_path, sheet_name=params.sheet_name, decimal=params.decimal)
except SheetError as error:
    logger.error("%s", error)
    sys.exit(1)
for note in raw.attrs.get("notes", []):
    logger.info("%s: %s", sheet_path, note)
clean, problems = validate_sheet(raw, moderators=params.moderators, continuous_moderators=params.continuous_moderators,
                                 meta_regression=params.meta_regression, subsets=params.subsets,
                                 risk_of_bias=getattr(params, "risk_of_bias", None),
                                 figure_columns=getattr(params, "figure_columns", ()),
                                 reference_levels=getattr(params, "reference_levels", None),
                                 location_scale=getattr(params, "location_scale", ()),
                                 psychometric_moderators=getattr(params, "psychometric_moderators", ()))
if problems:
    logger.error("the data sheet needs fixing before the analysis can run\n%s",
                 format_problems(problems, sheet_path))
    sys.exit(1)
logger.info("%s", summarise(clean, sheet_path))
for note in clean.attrs.get("notes", []):
    logger.info("%s: %s", sheet_path, note)
write_table(clean, snakemake.output.sheet)
notes = [*raw.attrs.get("notes", []), *clean.attrs.get("notes", [])]
Path(snakemake.output.notes).write_text("".join(f"{' '.join(note.split())}\n" for note in notes), encoding="utf-8")
