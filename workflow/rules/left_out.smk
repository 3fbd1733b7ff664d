# What this config leaves out, once every rule is defined (included last; the functions are in common.smk):
# the outputs of an earlier run that the config no longer makes (a family not analysed, a moderator no longer
# listed, an option switched off) get one note in the log and in the report's Data section, and are never
# deleted; a file of a family or moderator the config leaves out (or a risk-of-bias file when the sheet codes no
# risk of bias), asked for by name, stops the run with the reason instead of Snakemake's "No rule to produce".


rule config_leaves_out:
    """The files of a family the config does not analyse, the per-moderator plots of moderators it does not
    list and the risk-of-bias files of a sheet that codes no risk of bias: asked for by name, they stop the run with
    the reason."""
    output:
        "{left_out}",
    wildcard_constraints:
        left_out=left_out_pattern(FAMILIES, config["moderators"], config["continuous_moderators"],
                                  risk_of_bias=HAS_RISK_OF_BIAS, steps_off=LEFT_OUT_PLAN["steps_off"]),
    input:
        explain_left_out,
    localrule: True


# not for a sheet that cannot be read (HAS_RISK_OF_BIAS None: e.g. no worksheet sheet_name), which validate_sheet
# stops at: what it holds is unknown, and "the sheet has no risk-of-bias judgements" would be said of it
if workflow.is_main_process and HAS_RISK_OF_BIAS is not None and (
        _lines := earlier_outputs_lines(earlier_run_outputs())):
    logger.warning(earlier_outputs_note(_lines))
