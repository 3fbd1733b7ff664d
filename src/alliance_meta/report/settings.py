"""The run's settings that the manuscript tables' notes state in plain words (the study composites, the
psychometric corrections and intervals, the HDI): few and light, so that the Snakemake rule of the tables takes
them as params without importing the tables (and reruns only when one of them changes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


#: the :class:`TableSettings` that the jobs set from the sheet and its effect sizes, not from the config
FACTS = ("rob_overall_derived", "several_per_study", "zero_cell_tables", "double_zero_tables")


@dataclass(frozen=True)
class TableSettings:
    """The config values the tables' notes say (the schema's defaults): ``dependence``, ``aggregate_method``,
    ``aggregate_rho``, ``psychometric.correct_bias``, ``psychometric.credibility_level`` and
    ``bayes.hdi_prob``; and one fact of the sheet, ``rob_overall_derived``: some overall risk-of-bias judgement
    was derived from the domains (the sheet's notes, :func:`alliance_meta.inputs.risk_of_bias.overall_derived`;
    known once the sheet is read, so the jobs set it, not the rule's params); and one of the family's effect sizes,
    ``several_per_study``: some study has more than one (:func:`alliance_meta.report.summary.several_per_study`;
    False: no note speaks of composites of a study's effect sizes; set by the jobs, too), ``zero_cell_tables`` and
    ``double_zero_tables``: its 2x2 tables with a zero cell, and the double-zero ones among them
    (:func:`alliance_meta.report.summary.zero_cell_tables`; the study characteristics table's note says that 1/2
    was added to their cells)."""

    dependence: str = "aggregate"
    aggregate_method: str = "gls"
    aggregate_rho: float = 0.5
    correct_bias: bool = True
    credibility_level: float = 80
    hdi_prob: float = 0.95
    rob_overall_derived: bool = False
    several_per_study: bool = True
    zero_cell_tables: int = 0
    double_zero_tables: int = 0

    @classmethod
    def from_config(cls, config: dict | None, sheet_notes=()) -> TableSettings:
        """The settings of ``config`` (a run's, defaults filled in; a key it lacks keeps its default) and of the
        ``sheet_notes`` (sheet_notes.txt's lines)."""
        config = config or {}
        psychometric, bayes = config.get("psychometric") or {}, config.get("bayes") or {}
        given = {"dependence": config.get("dependence"), "aggregate_method": config.get("aggregate_method"),
                 "aggregate_rho": config.get("aggregate_rho"), "correct_bias": psychometric.get("correct_bias"),
                 "credibility_level": psychometric.get("credibility_level"), "hdi_prob": bayes.get("hdi_prob")}
        derived = False
        if sheet_notes:
            from alliance_meta.inputs.risk_of_bias import overall_derived

            derived = overall_derived(sheet_notes)
        return cls(**{key: value for key, value in given.items() if value is not None}, rob_overall_derived=derived)

    def as_params(self) -> dict:
        """The config's settings as a plain dict (a Snakemake rule's params; ``TableSettings(**params)`` again,
        without the facts of the sheet and its effect sizes)."""
        return {key: value for key, value in asdict(self).items() if key not in FACTS}
