"""Draw results/prisma.{pdf,png,svg} from the config's prisma: block, after checking its counts."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)


import sys

import matplotlib.pyplot as plt

from alliance_meta.inputs.prisma import (arithmetic_problems, format_problems, included_sentence, prisma_counts,
                                         sheet_problems)
from alliance_meta.io import read_table, setup_logging
from alliance_meta.plots.prisma import prisma_figure, width_note
from alliance_meta.plots.provenance import add_note, figure_note
from alliance_meta.plots.style import log_wider, save_file

log = setup_logging(snakemake.log[0])  # noqa: F821
counts = prisma_counts(snakemake.params.prisma)  # noqa: F821
sheet = read_table(snakemake.input.sheet)  # noqa: F821
problems = arithmetic_problems(counts) + sheet_problems(counts, sheet)
if problems:
    log.error(format_problems(problems))
    sys.exit(1)  # the problems are in the log and on stderr; no traceback
size = snakemake.params.figure  # noqa: F821
figure = prisma_figure(counts, size["width"])  # boxes narrowed to plots.width where the template is wider
if not counts.simulated:
    add_note(figure, figure_note(sheet))
for path in snakemake.output:  # noqa: F821
    save_file(figure, path, dpi=size["dpi"], bbox_inches="tight")
plt.close(figure)
log.info("PRISMA flow diagram: %s records identified, %s", f"{counts.identified:,}", included_sentence(counts))
log_wider(log, "PRISMA flow diagram", width_note(figure, size["width"]), size["width"])
