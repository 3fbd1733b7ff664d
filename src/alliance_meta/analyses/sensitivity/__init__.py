"""Sensitivity analyses: leave-one-out, influence and cumulative meta-analysis, per model type."""
