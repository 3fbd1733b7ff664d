"""An smd family whose every row comes from an odds ratio (d = log OR sqrt(3)/pi, no small-sample correction)
pools Cohen's d, not Hedges' g: its figures, tables and sentences say d (transforms.family_metric); a family
with at least one bias-corrected SMD keeps Hedges' g."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

import alliance_meta as am
from alliance_meta.bayes.plots import tau_label
from alliance_meta.engines.transforms import METRIC_NAMES, OddsRatioD, family_metric
from alliance_meta.plots.funnel import funnel_plot
from alliance_meta.plots.style import SCALES, display_scale
from alliance_meta.report.effects import display
from alliance_meta.report.methods import methods_paragraph, run_facts
from alliance_meta.report.tables import manuscript_table

ODDS_RATIOS = """study_id,family,n11,n12,n21,n22,odds_ratio,or_ci_lower,or_ci_upper,log_or,log_or_se
A,dropout,20,10,12,18,,,,,
B,dropout,,,,,1.8,1.1,2.9,,
C,dropout,,,,,,,,0.5,0.25
D,dropout,15,15,10,20,,,,,
"""
MIXED = ODDS_RATIOS.replace("log_or_se\n", "log_or_se,d,n1,n2\n").replace(",0.25\n", ",0.25,,,\n") \
    + "E,dropout,,,,,,,,,,0.4,30,35\n"


def effect_sizes(tmp_path, text):
    path = tmp_path / "studies.csv"
    path.write_text(text, encoding="utf-8")
    return am.effect_sizes(am.read_sheet(path))


@pytest.mark.parametrize("kinds, expected", [
    (["counts", "or_ci", "log_or_se"], "Cohen's d from log odds ratios"),
    (["counts"], "Cohen's d from log odds ratios"),
    (["counts", "d"], "Hedges' g"),           # mixed: Hedges' g (the Methods explain the odds-ratio rows)
    (["g", "means_sds"], "Hedges' g"),
    ([], "Hedges' g"),                        # no rows: nothing says they are odds ratios
])
def test_the_name_of_an_smd_family_follows_its_input_kinds(kinds, expected):
    metric = family_metric("smd", kinds)
    assert metric == "smd" and METRIC_NAMES[metric] == expected
    assert family_metric("smd", pd.DataFrame({"input_kind": kinds}, dtype=object)) == "smd"
    assert METRIC_NAMES[family_metric("smd", pd.DataFrame({"input_kind": kinds}, dtype=object))] == expected


def test_other_metrics_keep_their_names_and_the_metric_code_stays_smd():
    assert family_metric("z", ["counts"]) == "z" and METRIC_NAMES[family_metric("z", ["counts"])] == "Fisher's z"
    assert METRIC_NAMES[family_metric("log_or", ["counts"])] == "log odds ratio"
    metric = family_metric("smd", ["or_ci"])
    assert isinstance(metric, OddsRatioD) and f"{metric}" == "smd" and repr(metric) == "'smd'"
    assert {"smd": 1}[metric] == 1 and metric in ("z", "smd")
    assert isinstance(pickle.loads(pickle.dumps(metric)), OddsRatioD)  # a Snakemake parameter survives the job
    assert (SCALES[metric].label, SCALES[metric].symbol, display(metric).symbol) == ("Cohen's $d$", "d", "d")
    assert (SCALES["smd"].label, display("smd").symbol) == ("Hedges' $g$", "g")
    # a frame of several families: the family's rows only
    both = pd.DataFrame({"family": ["outcome", "dropout"], "input_kind": ["r", "counts"]})
    assert isinstance(family_metric("smd", both, "dropout"), OddsRatioD)
    assert not isinstance(family_metric("smd", both), OddsRatioD)
    # the kinds decide, whatever the metric given; without kinds the metric stays as given
    assert not isinstance(family_metric(metric, ["or_ci", "g"]), OddsRatioD)
    assert isinstance(family_metric(metric, pd.DataFrame({"yi": [0.1]})), OddsRatioD)


def test_a_fit_of_odds_ratios_only_draws_and_writes_cohens_d(tmp_path):
    fit = am.fit(effect_sizes(tmp_path, ODDS_RATIOS), metric="smd")
    assert isinstance(fit.metric, OddsRatioD)
    fit.plot_forest(tmp_path / "forest.svg")
    forest = (tmp_path / "forest.svg").read_text(encoding="utf-8")
    assert "Cohen" in forest and "Hedges" not in forest
    assert display_scale(fit.metric)[0] == "Cohen's $d$"
    figure = funnel_plot([0.1, 0.3, 0.5], [0.04, 0.05, 0.06], fit.metric, 0.3)
    assert figure.axes[0].get_xlabel() == "Cohen's $d$"
    assert tau_label(fit.metric).endswith("(Cohen's $d$)") and tau_label("smd").endswith("(Hedges' $g$)")
    pooled = manuscript_table("pooled", fit.to_frame(), fit.metric)
    assert "d [95% CI]" in pooled.header and "Cohen's d" in pooled.note and "Hedges" not in pooled.note


def test_a_mixed_family_stays_hedges_g(tmp_path):
    fit = am.fit(effect_sizes(tmp_path, MIXED), metric="smd")
    assert not isinstance(fit.metric, OddsRatioD)
    fit.plot_forest(tmp_path / "forest.svg")
    forest = (tmp_path / "forest.svg").read_text(encoding="utf-8")
    assert "Hedges" in forest and "Cohen" not in forest
    pooled = manuscript_table("pooled", fit.to_frame(), fit.metric)
    assert "g [95% CI]" in pooled.header and "Hedges' g" in pooled.note


def test_the_methods_name_the_metric_of_an_odds_ratio_family(tmp_path):
    families = {"dropout": {"tables": {}}}
    only = methods_paragraph({"metric": {"dropout": "smd"}}, set(), {"alliance-meta": "x"}, ["dropout"],
                             **run_facts(families, effect_sizes(tmp_path, ODDS_RATIOS)))
    assert "analysed as Cohen's d from log odds ratios" in only and "Hedges' g" not in only
    mixed = methods_paragraph({"metric": {"dropout": "smd"}}, set(), {"alliance-meta": "x"}, ["dropout"],
                              **run_facts(families, effect_sizes(tmp_path, MIXED)))
    assert "analysed as Hedges' g" in mixed
