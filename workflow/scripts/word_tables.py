"""Every manuscript table of the run: Markdown, LaTeX (booktabs) and Word (APA 7) beside its CSV
(results/{family}/tables/), and all of them in order, numbered Table 1, 2, ..., in results/tables.docx."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)


from dataclasses import replace
from pathlib import Path

from alliance_meta.engines.transforms import family_metric
from alliance_meta.inputs.risk_of_bias import overall_derived
from alliance_meta.io import read_table, setup_logging
from alliance_meta.plots.provenance import is_simulated
from alliance_meta.report import family_title, manuscript_table, to_latex, to_markdown
from alliance_meta.report.settings import TableSettings
from alliance_meta.report.summary import family_facts
from alliance_meta.report.tables import marked_simulated
from alliance_meta.report.word import write_docx_each
from alliance_meta.wording import counted

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
# output.tables lists .md, .tex, .docx for each input, in input order (report_inputs.smk).
outputs = [snakemake.output.tables[i:i + 3] for i in range(0, len(snakemake.output.tables), 3)]
tables = []
effect_sizes = read_table(snakemake.input.effect_sizes)
simulated = is_simulated(effect_sizes)
# the run's values the notes say (the composites' rho ...), and whether some overall risk of bias was derived
settings = replace(TableSettings(**snakemake.params.settings),
                   rob_overall_derived=overall_derived(Path(snakemake.input.sheet_notes).read_text(encoding="utf-8")
                                                       .splitlines()))
# whether each family's notes speak of composites of a study's effect sizes, and of 1/2 added to zero cells
facts_of = {family: family_facts(effect_sizes, family)
            for family in dict.fromkeys(Path(path).parent.name for path in snakemake.input.tables)}
for path, (markdown, latex, word) in zip(map(Path, snakemake.input.tables), outputs, strict=True):
    family = path.parent.name
    metric = family_metric(snakemake.params.metrics[family], effect_sizes, family)  # Hedges' g or Cohen's d
    table = manuscript_table(path.stem, read_table(path), metric, snakemake.params.level,
                             replace(settings, **facts_of[family]))
    titled = family_title(table, family)
    if simulated:  # said in the title and the note of every table
        table, titled = marked_simulated(table), marked_simulated(titled)
    Path(markdown).write_text(to_markdown(table), encoding="utf-8")
    Path(latex).write_text(to_latex(table), encoding="utf-8")
    tables.append(titled)
    log.info("%s/%s: %s as Markdown and LaTeX", family, path.stem, counted(len(table.rows), "row"))
write_docx_each(tables, [word for _, _, word in outputs], snakemake.output.docx)
log.info("tables.docx: %s, each also in a Word document of its own", counted(len(tables), "table"))
