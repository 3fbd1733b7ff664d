# Input functions of the report stage (report.smk): what the configured stages produce.

MANUSCRIPT_TABLES = ["study_characteristics", "pooled", "summary_of_findings", "moderators", "subgroups", "bias", "bayes", "psychometric"]
REPORT_HTML = "results/report.html"
WORD_TABLES = "results/tables.docx"


def stage_outputs():
    """CSVs and PNGs that the stages add to FINAL_TARGETS (and the PNG beside each PDF)."""
    paths = set()
    for path in FINAL_TARGETS:
        if not path.startswith("results/") or path in (REPORT_HTML, WORD_TABLES):
            continue
        if path.endswith(".pdf"):
            png = path[: -len(".pdf")] + ".png"
            if any(candidate.is_producer(png) for candidate in workflow.rules):
                paths.add(png)
        elif path.endswith((".csv", ".png")):
            paths.add(path)
    return sorted(paths)


def report_tables(wildcards):
    """Every result table of the configured stages."""
    return [path for path in stage_outputs() if path.endswith(".csv")]


def report_records(wildcards):
    """The JSON records of a family's stages (results/{family}/*.json: bayes_sampler.json, the sampler used), which
    the report reads beside the tables."""
    return sorted(path for path in FINAL_TARGETS
                  if path.endswith(".json") and Path(path).parent in [Path("results", f) for f in FAMILIES])


def report_images(wildcards):
    """Every PNG plot of the configured stages."""
    return [path for path in stage_outputs() if path.endswith(".png")]


def family_report_images(wildcards):
    """The PNG plots of one family (results/{family}/), made ready for the report by rule report_figures;
    asked for only once the checkpoint convert_effect_sizes is evaluated, so that a family whose rows did
    not change keeps its previews (as multiverse_table_file)."""
    checkpoints.convert_effect_sizes.get()
    folder = Path("results", wildcards.family)
    return [path for path in report_images(wildcards) if Path(path).parent == folder]


def run_report_images(wildcards):
    """The PNG plots of the whole run (results/*.png: the PRISMA diagram), inlined by the report itself."""
    return [path for path in report_images(wildcards) if Path(path).parent == Path("results")]


def manuscript_table_files(wildcards=None):
    """Markdown, LaTeX and Word versions of the tables in MANUSCRIPT_TABLES that the stages produce."""
    tables = []
    for path in word_table_sources(wildcards):
        folder, _, name = path[: -len(".csv")].rpartition("/")
        tables += [f"{folder}/tables/{name}.{ext}" for ext in ("md", "tex", "docx")]
    return tables


def word_table_sources(wildcards):
    """The CSVs behind the manuscript tables, in the order of results/tables.docx: family by family
    (as configured), each in MANUSCRIPT_TABLES order."""
    produced = set(report_tables(wildcards))
    return [f"results/{family}/{name}.csv"
            for family in FAMILIES for name in MANUSCRIPT_TABLES
            if f"results/{family}/{name}.csv" in produced]
