"""Render results/report.html from the stage outputs (tables, PNG plots) and the run's provenance."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)


import json
from pathlib import Path

from alliance_meta.engines.transforms import family_metric
from alliance_meta.inputs.prisma import prisma_counts
from alliance_meta.io import read_table, restore_formulas, setup_logging
import pandas as pd

from alliance_meta.report import methods_paragraph, render_report
from alliance_meta.report.changes import read_snapshot
from alliance_meta.report.html import changes_section, coding_section, inline_image, prisma_section
from alliance_meta.report.methods import run_facts, stages_run
from alliance_meta.report.provenance import config_yaml, package_versions, run_date, sha256
from alliance_meta.wording import counted

log = setup_logging(snakemake.log[0])  # noqa: F821
inputs, config = snakemake.input, json.loads(json.dumps(dict(snakemake.config)))  # noqa: F821
effect_sizes = read_table(inputs.effect_sizes)
families = {}
for family, analysis, figures in zip(snakemake.params.families, inputs.analysis, inputs.figures):  # noqa: F821
    tables = {Path(path).stem: read_table(path) for path in inputs.tables if Path(path).parent.name == family}
    inlined = json.loads(Path(figures).read_text(encoding="utf-8"))  # rule report_figures
    records = {Path(path).stem: json.loads(Path(path).read_text(encoding="utf-8"))
               for path in inputs.records if Path(path).parent.name == family}  # bayes_sampler.json
    families[family] = {"metric": family_metric(config["metric"][family], effect_sizes, family),  # g or d
                        "tables": tables, "records": records, "analysis": read_table(analysis),
                        "images": [f"results/{family}/{name}" for name in inlined], "inlined": inlined}
versions = package_versions()
provenance = {"sheet": inputs.sheet, "sheet_sha256": sha256(inputs.sheet), "run_date": run_date(),
              "versions": versions, "config_yaml": config_yaml(config)}
coding_tables = {Path(path).stem: restore_formulas(pd.read_csv(path, dtype={"study_id": str, "es_id": str, "coder1": str,
                                                                            "coder2": str},
                                                                keep_default_na=False, na_values=[""]))
                 for path in inputs.tables if Path(path).parent.name == "results"
                 and Path(path).stem in ("agreement", "disagreements")}
coding = (coding_section(coding_tables["agreement"], coding_tables["disagreements"], config["second_coder"],
                         notes=Path(inputs.coding_notes[0]).read_text(encoding="utf-8").splitlines())
          if len(coding_tables) == 2 else None)
results_tables = {Path(path).stem: path for path in inputs.tables if Path(path).parent.name == "results"}
extra_sections = []
prisma = [path for path in inputs.images if Path(path).parent.name == "results" and Path(path).stem == "prisma"]
if prisma:
    extra_sections.append(prisma_section(prisma_counts(config["prisma"]), inline_image(prisma[0])))
if "changes" in results_tables:
    # es_id as written (as the double-coding tables read it), not a number read back from a column with blanks
    extra_sections.append(changes_section(read_table(results_tables["changes"], text=["es_id"]),
                                          {**config["metric"], **{f: part["metric"] for f, part in families.items()}},
                                          read_snapshot(inputs.snapshot), config["pooling"].get("level", 95),
                                          snakemake.params.config_defaults))  # noqa: F821
html = render_report(sheet=read_table(inputs.validated_sheet), effect_sizes=effect_sizes,
                     families=families, config=config, provenance=provenance,
                     methods=methods_paragraph(config, stages_run(families), versions, list(families),
                                               **run_facts(families, effect_sizes)),
                     coding=coding,
                     absent_families=snakemake.params.absent_families,  # noqa: F821
                     families_left_out=snakemake.params.families_left_out,  # noqa: F821
                     earlier_outputs=snakemake.params.earlier_outputs,  # noqa: F821
                     sheet_notes=Path(inputs.sheet_notes).read_text(encoding="utf-8").splitlines(),
                     extra_sections=extra_sections)
Path(snakemake.output[0]).write_text(html, encoding="utf-8")  # noqa: F821
images = len(inputs.images) + sum(len(part["inlined"]) for part in families.values())
log.info("report: %s, %s, %s, %d bytes", counted(len(families), "family", "families"),
         counted(len(inputs.tables), "table"), counted(images, "image"), len(html))
