"""Figures: forest, subgroup forest, bubble and other plots (PDF, PNG, SVG)."""
