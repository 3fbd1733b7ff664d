"""Write results/tables.docx: every manuscript table of the run in order, numbered Table 1, 2, ..."""

from pathlib import Path

from alliance_meta.io import read_table, setup_logging
from alliance_meta.report import family_title, manuscript_table, write_docx

log = setup_logging(snakemake.log[0])  # noqa: F821
tables = []
for path in map(Path, snakemake.input):  # noqa: F821
    family = path.parent.name
    table = manuscript_table(path.stem, read_table(path), snakemake.params.metrics[family],  # noqa: F821
                             snakemake.params.level)  # noqa: F821
    tables.append(family_title(table, family))
write_docx(tables, snakemake.output[0])  # noqa: F821
log.info("tables.docx: %d tables", len(tables))
