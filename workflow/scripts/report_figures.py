"""Rule report_figures: a family's PNG plots right-sized for the report, as WebP data URIs in one JSON file (the
previews stored by the jobs that wrote the PNGs: alliance_meta.plots.previews)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals(), linear_algebra=False)  # Pillow only, no BLAS (docs/performance.md)

import json
from pathlib import Path

from alliance_meta.io import setup_logging
from alliance_meta.report.html import inline_figures
from alliance_meta.wording import counted

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "report_figures")
figures = inline_figures(snakemake.input, workers=snakemake.threads)
Path(snakemake.output[0]).write_text(json.dumps(figures, indent=0, sort_keys=True) + "\n", encoding="utf-8")
logger.info("%s inlined for the report (%d bytes)", counted(len(figures), "plot"), sum(map(len, figures.values())))
