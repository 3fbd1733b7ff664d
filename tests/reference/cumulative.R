# Reference values for alliance_meta.analyses.sensitivity.univariate.cumulative (cumulative.csv) with EVERY tau^2
# estimator of rma.uni (EE = our "common", DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM, GENQ with weights
# 1/sqrt(vi)) and both the z and the Knapp-Hartung test: metafor's cumul() by year, every column of it
# (estimate, se, z or t, p, CI, Q, its p, tau^2, I^2, H^2), on metadat's dat.molloy2014 (Fisher z, k = 16),
# dat.bcg (log risk ratios, k = 13) and dat.bangertdrowns2004 (SMD, k = 48). bias.R has cumul() for REML and
# DL without p and Q's p, influence.R for two studies, knha_refits.R for REML with knha.
# Fits use control = list(threshold = 1e-13), as influence.R. Inputs as text at 17 significant digits.
# Run from the repository root (Rscript tests/reference/cumulative.R) or from tests/reference
# (make reference): writes cumulative.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

control <- list(threshold = 1e-13, maxiter = 1000)
methods <- c("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
datasets <- list(
  molloy2014 = escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014),
  bcg = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg),
  bangertdrowns2004 = dat.bangertdrowns2004
)
unclass_list <- function(x, names) lapply(unclass(x)[intersect(names, names(unclass(x)))], as.vector)

reference <- list(metafor_version = as.character(packageVersion("metafor")), control = control, datasets = list())
for (name in names(datasets)) {
  dat <- datasets[[name]]
  dat <- dat[!is.na(dat$yi) & !is.na(dat$vi), ]
  entry <- list(yi = I(sprintf("%.17g", dat$yi)), vi = I(sprintf("%.17g", dat$vi)), year = dat$year,
                order = order(dat$year), fits = list())
  yi <- as.numeric(entry$yi)
  vi <- as.numeric(entry$vi)
  for (method in methods) for (test in c("z", "knha")) {
    fit <- if (method == "GENQ") rma(yi, vi, weights = 1 / sqrt(vi), method = method, test = test, control = control)
           else rma(yi, vi, method = method, test = test, control = control)
    cum <- cumul(fit, order = dat$year)
    entry$fits[[length(entry$fits) + 1]] <- c(
      list(method = method, test = test),
      unclass_list(cum, c("estimate", "se", "zval", "tval", "pvals", "ci.lb", "ci.ub", "Q", "Qp", "tau2", "I2", "H2")))
  }
  reference$datasets[[name]] <- entry
}
write_reference(reference, "cumulative.json", na = "null", pretty = TRUE)
