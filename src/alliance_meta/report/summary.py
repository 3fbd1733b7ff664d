"""Counts that describe the data: studies, effect sizes and patients per family and moderator level."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance_meta.inputs.options import keywords_checked


def total_n(effect_sizes: pd.DataFrame) -> tuple[int, int]:
    """Patients summed over studies (largest n of each study's rows) and studies whose n is unknown."""
    if "n" not in effect_sizes or effect_sizes.empty:
        return 0, effect_sizes["study_id"].nunique() if "study_id" in effect_sizes else 0
    per_study = pd.to_numeric(effect_sizes["n"], errors="coerce").groupby(effect_sizes["study_id"]).max()
    return int(per_study.sum(skipna=True)), int(per_study.isna().sum())


def family_counts(effect_sizes: pd.DataFrame, families: list[str]) -> pd.DataFrame:
    """One row per family: ``family``, ``studies``, ``effect_sizes``, ``n`` and ``studies_without_n``."""
    from alliance_meta.inputs.dependence import usable_effects

    usable = effect_sizes[usable_effects(effect_sizes)]  # as conversion_counts and the analyses: rows with yi, vi
    rows = []
    for family in families:
        rows_of_family = usable[usable["family"] == family]
        n, unknown = total_n(rows_of_family)
        rows.append({"family": family, "studies": rows_of_family["study_id"].nunique(),
                     "effect_sizes": len(rows_of_family), "n": n, "studies_without_n": unknown})
    return pd.DataFrame(rows, columns=["family", "studies", "effect_sizes", "n", "studies_without_n"])


def several_per_study(effect_sizes: pd.DataFrame, families) -> bool:
    """Whether some study of ``families`` has more than one usable effect size (:func:`family_counts`): only then
    were a study's effect sizes combined into a composite, or is there a correlation between them to assume."""
    return any(map(several_in_counts, family_counts(effect_sizes, list(families)).to_dict("records")))


def zero_cell_tables(effect_sizes: pd.DataFrame, families) -> tuple[int, int]:
    """The usable 2x2 tables (input kind ``counts``) of ``families`` with a zero cell, to which 1/2 was added
    (:data:`~alliance_meta.inputs.effect_sizes.ZERO_CELL_RULE`), and how many of those are double-zero tables
    (:func:`~alliance_meta.models.counts.double_zero`, kept for the log odds ratios); (0, 0) without counts."""
    from alliance_meta.inputs.dependence import usable_effects
    from alliance_meta.models.counts import double_zero

    columns = ["n11", "n12", "n21", "n22"]
    if not {"family", "input_kind", *columns} <= set(effect_sizes):
        return 0, 0
    rows = effect_sizes[usable_effects(effect_sizes) & effect_sizes["family"].isin(list(families)).to_numpy()
                        & effect_sizes["input_kind"].eq("counts").to_numpy()]
    cells = [pd.to_numeric(rows[column], errors="coerce").to_numpy(float) for column in columns]
    return int((np.column_stack(cells) == 0).any(axis=1).sum()), int(double_zero(*cells).sum())


def several_in_counts(counts: dict) -> bool:
    """:func:`several_per_study` of one family from its row of :func:`family_counts` (``studies``,
    ``effect_sizes``); True where the counts do not say (not known: the composites are described)."""
    if "studies" not in counts or "effect_sizes" not in counts:
        return True
    return bool(counts["effect_sizes"] > counts["studies"])


def family_facts(effect_sizes: pd.DataFrame, family: str) -> dict:
    """The :class:`~alliance_meta.report.settings.TableSettings` facts of one family's effect sizes (its tables'
    notes): ``several_per_study`` (:func:`several_per_study`), ``zero_cell_tables`` and ``double_zero_tables``
    (:func:`zero_cell_tables`); what the Word tables' job and the report set alike."""
    zero_cells, double_zero = zero_cell_tables(effect_sizes, [family])
    return {"several_per_study": several_per_study(effect_sizes, [family]), "zero_cell_tables": zero_cells,
            "double_zero_tables": double_zero}


def moderator_counts(effect_sizes: pd.DataFrame, moderators: list[str], risk_of_bias=None) -> pd.DataFrame:
    """Studies and effect sizes per family, moderator and level (missing values as ``(not coded)``, last), the
    levels in the order subgroups.csv lists them (:func:`~alliance_meta.analyses.moderators.univariate.display_order`;
    ``risk_of_bias``: the config's block, whose custom tool orders a ``rob_*`` moderator's levels)."""
    from alliance_meta.analyses.moderators.univariate import display_order

    rows = []
    for moderator in moderators:
        if moderator not in effect_sizes:
            continue
        levels = effect_sizes[moderator].astype("string").fillna("(not coded)")
        for family, in_family in effect_sizes.assign(level=levels).groupby("family", sort=True):
            groups = dict(list(in_family.groupby("level", sort=True)))
            named = [level for level in groups if level != "(not coded)"]  # in subgroups.csv's order, then the rest
            ordered = [named[i] for i in display_order(moderator, named, risk_of_bias)]
            for level in ordered + ["(not coded)"] * ("(not coded)" in groups):
                group = groups[level]
                rows.append({"family": family, "moderator": moderator, "level": level,
                             "studies": group["study_id"].nunique(), "effect_sizes": len(group)})
    return pd.DataFrame(rows, columns=["family", "moderator", "level", "studies", "effect_sizes"])


def conversion_counts(effect_sizes: pd.DataFrame, families: list[str]) -> pd.DataFrame:
    """How the effect sizes were computed: one row per family, input kind and conversion (the ``conversion``
    text of ``effect_sizes.csv`` without its "sign reversed") of the usable rows, with the effect sizes and studies it gave and
    how many of those rows had their sign reversed. Families in the order given, kinds in the codebook's."""
    from alliance_meta.inputs.codebook import INPUT_KINDS
    from alliance_meta.inputs.dependence import usable_effects
    from alliance_meta.inputs.effect_sizes import REVERSED_SUFFIX

    columns = ["family", "input", "conversion", "effect_sizes", "studies", "sign_reversed"]
    if not {"input_kind", "conversion"} <= set(effect_sizes) or effect_sizes.empty:
        return pd.DataFrame(columns=columns)
    rows = effect_sizes[effect_sizes["family"].isin(families).to_numpy() & usable_effects(effect_sizes)]
    text = rows["conversion"].astype(str)
    reversed_ = text.str.endswith(REVERSED_SUFFIX)
    rows = rows.assign(conversion=text.str.removesuffix(REVERSED_SUFFIX), sign_reversed=reversed_)
    kind_order = {kind.name: position for position, kind in enumerate(INPUT_KINDS)}
    table = (rows.groupby(["family", "input_kind", "conversion"], sort=False)
             .agg(effect_sizes=("study_id", "size"), studies=("study_id", "nunique"),
                  sign_reversed=("sign_reversed", "sum"))
             .reset_index().rename(columns={"input_kind": "input"}))
    order = (table["family"].map({family: position for position, family in enumerate(families)}),
             table["input"].map(kind_order).fillna(len(kind_order)), table["conversion"])
    table = table.assign(_family=order[0], _kind=order[1]).sort_values(["_family", "_kind", "conversion"],
                                                                        kind="stable")
    return table[columns].astype({"effect_sizes": int, "studies": int, "sign_reversed": int}).reset_index(drop=True)


#: the columns of ``study_characteristics.csv`` besides the moderators (and the back-transformed estimates)
STUDY_COLUMNS = ("study_id", "authors", "year", "citation_year", "n", "k_effect_sizes")
STUDY_EFFECT_COLUMNS = ("estimate", "se", "ci_lower", "ci_upper")


def study_characteristics(effect_sizes: pd.DataFrame, moderators: list[str], metric: str, level: float = 95,
                          method: str = "gls", rho: float = 0.5) -> pd.DataFrame:
    """One row per study of a family, as a manuscript's table of included studies lists them: ``study_id``,
    ``authors``, ``year``, ``citation_year`` (2004a: :func:`alliance_meta.inputs.effect_sizes.citation_years`),
    ``n`` (the study's largest), ``k_effect_sizes``, each moderator (``mixed`` where
    the study's effect sizes differ), ``rob_overall`` when coded, and the study's effect: the composite of its
    effect sizes (:func:`alliance_meta.inputs.dependence.aggregate` with ``method`` and ``rho``, as the
    pooling's) with its Wald interval at ``level``, in the analysis metric and back-transformed (``r``, ...).
    Sorted by year, then authors (as the manuscript table names the studies), then study_id."""
    from alliance_meta.analyses.results import with_back_transform
    from alliance_meta.engines import distributions as dist
    from alliance_meta.engines.heterogeneity import level_alpha
    from alliance_meta.inputs.dependence import aggregate

    studies = aggregate(effect_sizes, method=method, rho=rho)
    descriptive = [c for c in dict.fromkeys((*STUDY_COLUMNS, *moderators, "rob_overall")) if c in studies]
    table = studies[descriptive].copy()
    yi, se = studies["yi"].to_numpy(float), np.sqrt(studies["vi"].to_numpy(float))
    critical = dist.norm.isf(level_alpha(level) / 2)
    table = table.assign(estimate=yi, se=se, ci_lower=yi - critical * se, ci_upper=yi + critical * se)
    table = with_back_transform(table, metric)
    year = pd.to_numeric(table["year"], errors="coerce") if "year" in table else pd.Series(np.nan, index=table.index)
    authors = table["authors"].astype("string") if "authors" in table else pd.Series(pd.NA, index=table.index)
    order = (table.assign(_year=year, _authors=authors)
             .sort_values(["_year", "_authors", "study_id"], kind="stable", na_position="last").index)
    return table.loc[order].reset_index(drop=True)


@keywords_checked
def study_characteristics_of_fit(fit, moderators=()):
    """``am.study_characteristics``: :func:`study_characteristics` of a fit's effect sizes with its metric, level,
    aggregation and ``rho`` (``moderators``: columns to list, checked against the fit's rows)."""
    from alliance_meta.analyses.results import AnalysisResult
    from alliance_meta.models.fits import require_fit

    require_fit(fit, "am.study_characteristics")
    if fit.metric is None:
        raise ValueError("am.study_characteristics needs the analysis metric for the back-transformed columns: "
                         "am.fit(..., metric='z') (or 'smd', 'log_or')")
    moderators = fit.moderator_columns(moderators, "am.study_characteristics: moderator") if moderators else []
    return AnalysisResult("study_characteristics", study_characteristics(
        fit.effect_sizes, moderators, fit.metric, fit.level, fit.aggregate_method, fit.rho))
