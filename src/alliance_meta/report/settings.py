"""The run's settings that the manuscript tables' notes state in plain words (the study composites, the
psychometric corrections and intervals, the HDI): few and light, so that the Snakemake rule of the tables takes
them as params without importing the tables (and reruns only when one of them changes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TableSettings:
    """The config values the tables' notes say (the schema's defaults): ``dependence``, ``aggregate_method``,
    ``aggregate_rho``, ``psychometric.correct_bias``, ``psychometric.credibility_level`` and
    ``bayes.hdi_prob``."""

    dependence: str = "aggregate"
    aggregate_method: str = "gls"
    aggregate_rho: float = 0.5
    correct_bias: bool = True
    credibility_level: float = 80
    hdi_prob: float = 0.95

    @classmethod
    def from_config(cls, config: dict | None) -> TableSettings:
        """The settings of ``config`` (a run's, defaults filled in; a key it lacks keeps its default)."""
        config = config or {}
        psychometric, bayes = config.get("psychometric") or {}, config.get("bayes") or {}
        given = {"dependence": config.get("dependence"), "aggregate_method": config.get("aggregate_method"),
                 "aggregate_rho": config.get("aggregate_rho"), "correct_bias": psychometric.get("correct_bias"),
                 "credibility_level": psychometric.get("credibility_level"), "hdi_prob": bayes.get("hdi_prob")}
        return cls(**{key: value for key, value in given.items() if value is not None})

    def as_params(self) -> dict:
        """The settings as a plain dict (a Snakemake rule's params; ``TableSettings(**params)`` again)."""
        return asdict(self)
