# Reference values for alliance_meta.analyses.gosh with the root-finding and generalised-Q
# estimators (PM, PMM, GENQ), computed with metafor 3.8-1's gosh(). Run from the repository
# root (Rscript tests/reference/gosh_pm.R) or from tests/reference (make reference). Writes
# tests/reference/gosh_pm.json (committed; the tests need no R). Companion of gosh.R.
#
# metafor fits every subset with rma.uni(method = "PM" / "PMM"): tau^2 solves the generalised
# Q = k - 1 (PM) or its chi^2_{k-1} median (PMM) with uniroot (tol eps^0.25) on
# [0, max(100, 10 mad(yi)^2)] of the subset. GENQ: rma(weights = 1/sqrt(vi), method = "GENQ"),
# the pipeline's GENQ weights. All subsets are enumerated, so the results are deterministic:
# - dat.normand1999 (SMD, k = 9, 511 subsets): every subset's k, QE, I2, H2, tau2 and
#   estimate, row by row in metafor's order, for PM, PMM and GENQ;
# - dat.molloy2014 (ZCOR, k = 16, 65535 subsets): summary statistics over the subsets for PM,
#   PMM and GENQ (as gosh.R);
# - dat.bcg with yi x 10, vi x 100 (k = 13, 8191 subsets): PM summaries where many subsets'
#   bracket is 10 mad(yi)^2 > 100, not 100.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

script_dir <- local({
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else "tests/reference"
})
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

summary_entry <- function(es, method) {
  g <- run_gosh(es, method)
  ok <- g$fit
  stats <- lapply(setNames(figures[-1], figures[-1]), function(f) {
    x <- g$res[[f]][ok]
    list(mean = mean(x), sd = sd(x), min = min(x), median = median(x), max = max(x))
  })
  incl <- g$incl[ok, , drop = FALSE]
  est <- g$res$estimate[ok]
  list(method = method, n = nrow(g$res), n_fitted = sum(ok), stats = stats,
       n_tau2_positive = sum(g$res$tau2[ok] > 0),
       estimate_with = num(apply(incl, 2, function(col) mean(est[col]))),
       estimate_without = num(apply(incl, 2, function(col) mean(est[!col]))))
}

normand <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                  data = dat.normand1999)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_scaled <- data.frame(yi = 10 * as.numeric(bcg$yi), vi = 100 * as.numeric(bcg$vi))

as_inputs <- function(es) list(yi = I(sprintf("%.17g", es$yi)), vi = I(sprintf("%.17g", es$vi)))

out <- list(
  generated_by = "tests/reference/gosh_pm.R",
  metafor = as.character(packageVersion("metafor")),
  full = c(list(name = "normand1999"), as_inputs(normand),
           list(fits = lapply(c("PM", "PMM", "GENQ"), function(m) full_entry(normand, m)))),
  summaries = list(
    c(list(name = "molloy2014"), as_inputs(molloy),
      list(fits = lapply(c("PM", "PMM", "GENQ"), function(m) summary_entry(molloy, m)))),
    c(list(name = "bcg_x10"), as_inputs(bcg_scaled), list(fits = list(summary_entry(bcg_scaled, "PM"))))
  )
)
write_json(out, file.path(script_dir, "gosh_pm.json"), digits = NA, auto_unbox = TRUE, pretty = FALSE)
cat("wrote", file.path(script_dir, "gosh_pm.json"), "\n")
