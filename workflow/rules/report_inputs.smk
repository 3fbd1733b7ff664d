# Input functions of the report stage (report.smk): what the configured stages produce.

MANUSCRIPT_TABLES = ["pooled", "moderators", "subgroups", "bias", "bayes"]
REPORT_HTML = "results/report.html"


def stage_outputs():
    """CSVs and PNGs that the stages add to FINAL_TARGETS (and the PNG beside each PDF)."""
    paths = set()
    for path in FINAL_TARGETS:
        if not path.startswith("results/") or path == REPORT_HTML:
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


def report_images(wildcards):
    """Every PNG plot of the configured stages."""
    return [path for path in stage_outputs() if path.endswith(".png")]


def manuscript_tables(wildcards):
    """Markdown and LaTeX versions of the tables in MANUSCRIPT_TABLES that the stages produce."""
    tables = []
    for path in report_tables(wildcards):
        folder, _, name = path[: -len(".csv")].rpartition("/")
        if name in MANUSCRIPT_TABLES:
            tables += [f"{folder}/tables/{name}.md", f"{folder}/tables/{name}.tex"]
    return tables
