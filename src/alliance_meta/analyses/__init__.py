"""Analyses that take a fitted model: bias, sensitivity, moderators, permutation, multiverse."""
