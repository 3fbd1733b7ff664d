"""Inputs: the data sheet, its codebook, effect sizes and dependence between them."""
