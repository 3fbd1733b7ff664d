# Reference values for alliance_meta.analyses.gosh, computed with metafor 3.8-1's gosh().
# Run from the repository root (Rscript tests/reference/gosh.R) or from tests/reference
# (make reference). Writes tests/reference/gosh.json and gosh_pm.json (committed; the tests need no R).
#
# All subsets are enumerated (2^k - 1 fits), so metafor's results are deterministic:
# - dat.normand1999 (SMD, k = 9, 511 subsets): every subset's k, QE, I2, H2, tau2 and
#   estimate, row by row in metafor's order, for EE, DL, HE, SJ, ML and REML;
# - dat.bcg (log RR, k = 13, 8191 subsets) and dat.molloy2014 (ZCOR, k = 16, 65535 subsets):
#   summary statistics over the subsets (number fitted, mean, SD, min, median, max of each
#   figure, and the mean estimate of the subsets with and without each study) for EE, DL
#   and REML.
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference
num <- function(x) unname(as.numeric(x))
figures <- c("k", "QE", "I2", "H2", "tau2", "estimate")

run_gosh <- function(es, method) {
  fit <- if (method == "GENQ") rma(yi, vi, data = es, method = "GENQ", weights = 1 / sqrt(vi))
         else rma(yi, vi, data = es, method = method)
  g <- gosh(fit, progbar = FALSE)
  stopifnot(g$k == nrow(es), nrow(g$res) == 2^nrow(es) - 1)
  g
}

full_entry <- function(es, method) {
  g <- run_gosh(es, method)
  c(list(method = method), lapply(setNames(figures, figures), function(f) num(g$res[[f]])),
    list(included = lapply(seq_len(ncol(g$incl)), function(j) I(as.integer(g$incl[, j])))))
}

summary_entry <- function(es, method, count_positive = FALSE) {
  g <- run_gosh(es, method)
  ok <- g$fit
  stats <- lapply(setNames(figures[-1], figures[-1]), function(f) {
    x <- g$res[[f]][ok]
    list(mean = mean(x), sd = sd(x), min = min(x), median = median(x), max = max(x))
  })
  incl <- g$incl[ok, , drop = FALSE]
  est <- g$res$estimate[ok]
  c(list(method = method, n = nrow(g$res), n_fitted = sum(ok), stats = stats),
    if (count_positive) list(n_tau2_positive = sum(g$res$tau2[ok] > 0)),
    list(estimate_with = num(apply(incl, 2, function(col) mean(est[col]))),
         estimate_without = num(apply(incl, 2, function(col) mean(est[!col])))))
}

normand <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                  data = dat.normand1999)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)

as_inputs <- function(es) list(yi = I(sprintf("%.17g", es$yi)), vi = I(sprintf("%.17g", es$vi)))

out <- list(
  generated_by = "tests/reference/gosh.R",
  metafor = as.character(packageVersion("metafor")),
  full = c(list(name = "normand1999"), as_inputs(normand),
           list(fits = lapply(c("EE", "DL", "HE", "SJ", "ML", "REML"), function(m) full_entry(normand, m)))),
  summaries = list(
    c(list(name = "bcg"), as_inputs(bcg), list(fits = lapply(c("EE", "DL", "REML"), function(m) summary_entry(bcg, m)))),
    c(list(name = "molloy2014"), as_inputs(molloy),
      list(fits = lapply(c("EE", "DL", "REML"), function(m) summary_entry(molloy, m))))
  )
)
write_reference(out, "gosh.json", pretty = FALSE)

# PM, PMM and GENQ (written to gosh_pm.json; GENQ with metafor's weights = 1/sqrt(vi), as the pipeline):
# - dat.normand1999: every subset, row by row;
# - dat.molloy2014: summaries, with the number of subsets with tau^2 > 0;
# - dat.bcg with yi x 10, vi x 100 (k = 13): PM summaries where many subsets' root-finding bracket is
#   10 mad(yi)^2 > 100, not 100.
bcg_scaled <- data.frame(yi = 10 * as.numeric(bcg$yi), vi = 100 * as.numeric(bcg$vi))
pm <- list(
  generated_by = "tests/reference/gosh.R",
  metafor = as.character(packageVersion("metafor")),
  full = c(list(name = "normand1999"), as_inputs(normand),
           list(fits = lapply(c("PM", "PMM", "GENQ"), function(m) full_entry(normand, m)))),
  summaries = list(
    c(list(name = "molloy2014"), as_inputs(molloy),
      list(fits = lapply(c("PM", "PMM", "GENQ"), function(m) summary_entry(molloy, m, count_positive = TRUE)))),
    c(list(name = "bcg_x10"), as_inputs(bcg_scaled), list(fits = list(summary_entry(bcg_scaled, "PM", count_positive = TRUE))))
  )
)
write_reference(pm, "gosh_pm.json", pretty = FALSE)
