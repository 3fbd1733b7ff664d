# Reference values for alliance_meta.analyses.gosh at effects of very different magnitudes, with metafor 3.8-1's
# gosh(). Constructed data (no published data set has them): two effects in the millions and five below 1, k = 7,
# so that all 127 subsets are fitted. The subsets of the small effects have a mean far from that of all
# (about 3e5), on which the GOSH sums are centred. Every subset's k, QE, I2, H2, tau2 and estimate, row by row in
# metafor's order, for EE, DL, HE, SJ, ML, REML and EB (PM: metafor's fit of all seven fails, tau2.max too low).
# Where metafor's Fisher scoring does not converge (subsets with the effects in the millions, tau^2 near 1e11:
# see fit_control.R's Fisher scoring at extreme data) its NA is written as null.
# Run from the repository root (Rscript tests/reference/gosh_magnitudes.R) or from tests/reference
# (make reference): writes gosh_magnitudes.json next to the script (committed; the tests need no R). Seconds.
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference
figures <- c("k", "QE", "I2", "H2", "tau2", "estimate")

mixed <- data.frame(yi = c(1e6 + 0.3, 1e6 + 0.1, 0.12, 0.35, -0.2, 0.05, 0.4),
                    vi = c(0.01, 0.02, 0.015, 0.03, 0.01, 0.02, 0.05))
fits <- lapply(c("EE", "DL", "HE", "SJ", "ML", "REML", "EB"), function(method) {
  g <- gosh(rma(yi, vi, data = mixed, method = method), progbar = FALSE)
  stopifnot(nrow(g$res) == 2^nrow(mixed) - 1)
  c(list(method = method), lapply(setNames(figures, figures), function(f) unname(as.numeric(g$res[[f]]))),
    list(included = lapply(seq_len(ncol(g$incl)), function(j) I(as.integer(g$incl[, j])))))
})

# Sampling variances near 1e-300 (constructed, as fit_control.R's tiny_variances): weights 1/vi near 1e300, whose
# squares overflow doubles; k = 5, all 31 subsets. Per estimator (EE: the common-effect model) gosh()'s rows and
# rma() of each subset (update(fit, subset =), as gosh refits): metafor's gosh takes a fast path for EE and DL whose
# sums overflow (DL: tau2 0, and the common-effect estimate), so there its rma() is the reference.
tiny <- data.frame(yi = c(0.1, 0.3, 0.6, 0.2, -0.1), vi = c(1, 2, 3, 1.5, 2.5) * 1e-300)
tiny_fits <- lapply(c("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM"), function(method) {
  fit <- rma(yi, vi, data = tiny, method = method)
  g <- gosh(fit, progbar = FALSE)
  stopifnot(nrow(g$res) == 2^nrow(tiny) - 1)
  refits <- lapply(seq_len(nrow(g$incl)), function(i) update(fit, subset = g$incl[i, ]))
  refit_figures <- list(k = function(f) f$k, QE = function(f) f$QE, I2 = function(f) f$I2, H2 = function(f) f$H2,
                        tau2 = function(f) f$tau2, estimate = function(f) c(f$beta))
  list(method = method,
       gosh = lapply(setNames(figures, figures), function(f) unname(as.numeric(g$res[[f]]))),
       rma = lapply(refit_figures, function(figure) sapply(refits, figure)),
       included = lapply(seq_len(ncol(g$incl)), function(j) I(as.integer(g$incl[, j]))))
})

write_reference(list(generated_by = "tests/reference/gosh_magnitudes.R",
                     metafor = as.character(packageVersion("metafor")),
                     yi = I(sprintf("%.17g", mixed$yi)), vi = I(sprintf("%.17g", mixed$vi)), fits = fits,
                     tiny_variances = list(yi = tiny$yi, vi = tiny$vi, fits = tiny_fits)),
                "gosh_magnitudes.json", pretty = FALSE, na = "null")
