# Double coding: agreement of a second coder's sheet with the sheet (config `second_coder`).
# The analysis runs on `sheet` alone; this stage only compares the two coders.


if config.get("second_coder"):

    rule coder_agreement:
        localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
        input:
            first=config["sheet"],
            second=config["second_coder"],
        output:
            agreement="results/agreement.csv",
            disagreements="results/disagreements.csv",
            one_coder="results/one_coder_studies.csv",
            notes="data/processed/agreement_notes.txt",
        params:
            metric=config["metric"],
            sheet_name=config["sheet_name"],
            decimal=config["decimal"],
            risk_of_bias=RISK_OF_BIAS_TOOL,
        conda:
            CONDA_ENV
        log:
            "logs/coder_agreement.log",
        benchmark:
            "logs/benchmarks/coder_agreement.tsv"
        script:
            "../scripts/agreement.py"

    FINAL_TARGETS.extend(["results/agreement.csv", "results/disagreements.csv", "results/one_coder_studies.csv"])
