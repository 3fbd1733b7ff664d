"""Rule validate_sheet: check the raw sheet against the codebook; write the typed sheet.

On problems the report goes to the log and stderr and the rule fails (exit 1, no
traceback); the raw sheet is only read.
"""
import sys

from alliance_meta.io import setup_logging, write_table
from alliance_meta.sheet import SheetError, format_problems, read_sheet, summarise, validate_sheet

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "validate_sheet")
sheet_path = str(snakemake.input[0])
try:
    clean, problems = validate_sheet(read_sheet(sheet_path))
except SheetError as error:
    logger.error("%s", error)
    sys.exit(1)
if problems:
    logger.error("the data sheet needs fixing before the analysis can run\n%s",
                 format_problems(problems, sheet_path))
    sys.exit(1)
logger.info("%s", summarise(clean, sheet_path))
write_table(clean, snakemake.output[0])
