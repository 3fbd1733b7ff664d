"""Rule coder_agreement: agreement of the second coder's sheet with the first (alliance_meta.analyses.agreement).

Both sheets are read and checked with the config's sheet_name, decimal and risk_of_bias, as the
sheet is by validate_sheet (a second coder's workbook without that worksheet: as without sheet_name). Writes
results/agreement.csv, results/disagreements.csv, results/one_coder_studies.csv (the studies in one sheet only,
which the notes name the first few of) and the notes of reading and matching the two sheets
(data/processed/agreement_notes.txt, one per line, for the report). The second coder's cells that fail the codebook's checks are
compared as written and listed in the log; a first coder's sheet that fails them, or a second coder's sheet whose
header or identifiers do not allow matching its rows, stops the rule with the reason in the log.
"""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import sys
from pathlib import Path

from alliance_meta.analyses.agreement import ONE_CODER_LIST, compare_coders, read_coder_sheets
from alliance_meta.inputs.sheet import SheetError, worded
from alliance_meta.io import setup_logging, write_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "coder_agreement")
try:
    params = snakemake.params
    first, second, reading_notes = read_coder_sheets(snakemake.input.first, snakemake.input.second,
                                                     sheet_name=params.sheet_name, decimal=params.decimal)
    for note in reading_notes:
        logger.info("note: %s", note)
    result = compare_coders(first, second, dict(params.metric), risk_of_bias=params.risk_of_bias)
except (SheetError, ValueError) as error:
    logger.error("%s", error)
    sys.exit(1)
logger.info("%s", result.summary())
own_notes = [worded(note, {ONE_CODER_LIST: snakemake.output.one_coder}) for note in result.notes]  # its CSV
for note in own_notes:
    logger.warning("%s", note)
write_table(result.agreement, snakemake.output.agreement)
write_table(result.disagreements, snakemake.output.disagreements)
write_table(result.one_coder_studies, snakemake.output.one_coder)
notes = [*reading_notes, *own_notes]  # the report's double-coding section lists them
Path(snakemake.output.notes).write_text("".join(f"{' '.join(note.split())}\n" for note in notes), encoding="utf-8")
