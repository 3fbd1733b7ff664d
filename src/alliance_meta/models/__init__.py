"""Models: the univariate (rma.uni-like) and three-level (rma.mv-like) fits and meta-regression."""
