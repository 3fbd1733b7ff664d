"""Numerical engines: tau^2 estimators, generalised Q, block algebra, CR2, formulas, transforms."""
