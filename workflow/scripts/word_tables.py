"""Every manuscript table of the run: Markdown, LaTeX (booktabs) and Word (APA 7) beside its CSV
(results/{family}/tables/), and all of them in order, numbered Table 1, 2, ..., in results/tables.docx."""

from pathlib import Path

from alliance_meta.io import read_table, setup_logging
from alliance_meta.report import family_title, manuscript_table, to_latex, to_markdown, write_docx

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
tables = []
for path in map(Path, snakemake.input):
    family = path.parent.name
    table = manuscript_table(path.stem, read_table(path), snakemake.params.metrics[family], snakemake.params.level)
    titled = family_title(table, family)
    stem = path.parent / "tables" / path.stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text(to_markdown(table), encoding="utf-8")
    stem.with_suffix(".tex").write_text(to_latex(table), encoding="utf-8")
    write_docx([titled], stem.with_suffix(".docx"))
    log.info("%s/%s: %d rows as Markdown, LaTeX and Word", family, path.stem, len(table.rows))
    tables.append(titled)
write_docx(tables, snakemake.output.docx)
log.info("tables.docx: %d tables", len(tables))
