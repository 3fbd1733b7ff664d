# Risk of bias (robvis-style figures, pooled estimate without high-risk studies): only when the
# sheet codes risk of bias (a rob_* column with a judgement: sheet_has_risk_of_bias), read when the
# workflow is parsed (as the families in common.smk). Without (no rob_* columns, or only empty ones, as
# kept from the blank template) the rule is not defined: an earlier run's rob_* files are named as left
# out (left_out.smk).

from alliance_meta.inputs.planning import NO_RISK_OF_BIAS
from alliance_meta.inputs.risk_of_bias import sheet_has_risk_of_bias

HAS_RISK_OF_BIAS = sheet_has_risk_of_bias(config["sheet"], sheet_name=config["sheet_name"], decimal=config["decimal"])
if HAS_RISK_OF_BIAS is False:  # None: the sheet cannot be read, which validate_sheet says
    logger.info(f"The sheet {NO_RISK_OF_BIAS.removeprefix('the sheet ')}: no risk-of-bias figures.")
LEFT_OUT_PLAN["risk_of_bias"] = HAS_RISK_OF_BIAS


if HAS_RISK_OF_BIAS:

    rule risk_of_bias:
        priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
        input:
            family_effect_sizes,
        output:
            traffic_pdf="results/{family}/rob_traffic_light.pdf",
            traffic_png=report("results/{family}/rob_traffic_light.png", caption="../report/rob_traffic_light.rst", category="Risk of bias", subcategory="{family}"),
            traffic_svg="results/{family}/rob_traffic_light.svg",
            summary_pdf="results/{family}/rob_summary.pdf",
            summary_png=report("results/{family}/rob_summary.png", caption="../report/rob_summary.rst", category="Risk of bias", subcategory="{family}"),
            summary_svg="results/{family}/rob_summary.svg",
        params:
            fit=fit_options if RISK_OF_BIAS_FIGURES["weighted"] else {},  # the study weights of weighted summary bars
            risk_of_bias=RISK_OF_BIAS_FIGURES,
            rows_per_page=config["plots"]["rows_per_page"],
        conda:
            CONDA_ENV
        log:
            "logs/risk_of_bias_{family}.log",
        benchmark:
            "logs/benchmarks/risk_of_bias_{family}.tsv"
        script:
            "../scripts/risk_of_bias.py"

    rule risk_of_bias_sensitivity:
        """The main model without high-risk studies and on low-risk studies: its own job, so that the plots
        options redraw the figures without refitting it."""
        priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
        input:
            family_effect_sizes,
        output:
            sensitivity="results/{family}/rob_sensitivity.csv",
        params:
            fit=fit_options,
            risk_of_bias=RISK_OF_BIAS_TOOL,
        conda:
            CONDA_ENV
        log:
            "logs/risk_of_bias_sensitivity_{family}.log",
        benchmark:
            "logs/benchmarks/risk_of_bias_sensitivity_{family}.tsv"
        script:
            "../scripts/risk_of_bias_sensitivity.py"

    FINAL_TARGETS.extend(
        expand(
            "results/{family}/{name}",
            family=FAMILIES,
            name=[f"rob_{figure}.{suffix}" for figure in ("traffic_light", "summary") for suffix in ("pdf", "png", "svg")]
            + ["rob_sensitivity.csv"],
        )
    )
