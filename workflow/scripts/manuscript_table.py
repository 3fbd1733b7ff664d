"""Write the Markdown, LaTeX (booktabs) and Word (APA 7) manuscript versions of one result table."""

from pathlib import Path

from alliance_meta.io import read_table, setup_logging
from alliance_meta.report import family_title, manuscript_table, to_latex, to_markdown, write_docx

log = setup_logging(snakemake.log[0])  # noqa: F821
name = snakemake.wildcards.table  # noqa: F821
table = manuscript_table(name, read_table(snakemake.input[0]), snakemake.params.metric,  # noqa: F821
                         snakemake.params.level)  # noqa: F821
Path(snakemake.output.markdown).write_text(to_markdown(table), encoding="utf-8")  # noqa: F821
Path(snakemake.output.latex).write_text(to_latex(table), encoding="utf-8")  # noqa: F821
write_docx([family_title(table, snakemake.wildcards.family)], snakemake.output.word)  # noqa: F821
log.info("%s: %d rows as Markdown, LaTeX and Word", name, len(table.rows))
