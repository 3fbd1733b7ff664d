# Reference values for leave-one-out and influence diagnostics with EVERY tau^2 estimator
# (alliance_meta.analyses.sensitivity.univariate), computed with metafor on data sets of metadat.
# Run from the repository root (Rscript tests/reference/influence.R) or from tests/reference
# (make reference). Writes tests/reference/influence.json (committed; the tests need no R).
#
# bias.R covers REML and DL (with cumul() and more data sets); this script covers every
# estimator of rma.uni that alliance_meta supports (EE = our "common", DL, HE, HS, HSk, SJ,
# ML, REML, EB, PM, PMM, GENQ with weights 1/sqrt(vi) as Jackson 2013) and both the z and
# the Knapp-Hartung test, on three real data sets of different metrics:
#   molloy2014        (k = 16, Fisher z of correlations),
#   hackshaw1998      (k = 37, log odds ratios),
#   bangertdrowns2004 (k = 48, standardised mean differences).
# For each: leave1out(), influence() (inf, dfbs, is.infl) and baujat() coordinates.
#
# Two studies (k = 2), where every deletion fit is a fit of one study (rma.uni with k = 1:
# tau^2 = 0, QE = 0, QEp = 1, I2 = 0, H2 = 1, test switched to z), with cumul() by year as well:
#   molloy2014_k2 (the first two rows of dat.molloy2014: tau^2 = 0 for every estimator but SJ),
#   bcg_k2        (dat.bcg trials 7 and 6, log risk ratios: heterogeneous, tau^2 > 0; listed
#                  against year order, so cumul() reorders them).
# And one study (k1): leave1out(), influence() and baujat() stop ("Stopped because k = 1."), cumul()
# gives its one row; the messages and the row are written for REML with both tests.
#
# Fits use control = list(threshold = 1e-13) so that REML, ML and EB report the converged
# root (as bias.R). Inputs are written as text at 17 significant digits (exact doubles;
# jsonlite's digits = NA keeps only 15), results with digits = NA.
suppressPackageStartupMessages({
  library(metafor)
})
pdf(NULL)  # baujat() draws; keep the plot off disk
stopifnot(packageVersion("metafor") >= "3.8")

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

control <- list(threshold = 1e-13, maxiter = 1000)
methods <- c("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
tests <- c("z", "knha")

datasets <- list(
  molloy2014 = escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014),
  hackshaw1998 = dat.hackshaw1998,
  bangertdrowns2004 = dat.bangertdrowns2004,
  molloy2014_k2 = escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)[1:2, ],
  bcg_k2 = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)[c(7, 6), ]
)
two_studies <- c("molloy2014_k2", "bcg_k2")

unclass_list <- function(x, names) lapply(unclass(x)[intersect(names, names(unclass(x)))], as.vector)

reference <- list(metafor_version = as.character(packageVersion("metafor")),
                  r_version = R.version.string, control = control, datasets = list())

for (name in names(datasets)) {
  dat <- datasets[[name]]
  dat <- dat[!is.na(dat$yi) & !is.na(dat$vi), ]
  entry <- list(yi = I(sprintf("%.17g", dat$yi)), vi = I(sprintf("%.17g", dat$vi)), fits = list())
  if (name %in% two_studies) entry$year <- dat$year
  # refit on exactly the doubles written above
  yi <- as.numeric(entry$yi)
  vi <- as.numeric(entry$vi)
  stopifnot(identical(yi, as.vector(dat$yi)), identical(vi, as.vector(dat$vi)))
  for (method in methods) {
    for (test in tests) {
      fit <- if (method == "GENQ") {
        rma(yi, vi, weights = 1 / sqrt(vi), method = method, test = test, control = control)
      } else {
        rma(yi, vi, method = method, test = test, control = control)
      }
      l1o <- leave1out(fit)
      infl <- influence(fit)
      b <- baujat(fit, progbar = FALSE)
      entry$fits[[length(entry$fits) + 1]] <- list(
        method = method, test = test,
        full = list(estimate = c(fit$beta), se = fit$se, tau2 = fit$tau2, QE = fit$QE),
        # EE: metafor's leave1out() has no tau2 column
        leave1out = unclass_list(l1o, c("estimate", "se", "zval", "tval", "pval", "ci.lb", "ci.ub",
                                        "Q", "Qp", "tau2", "I2", "H2")),
        influence = c(unclass_list(infl$inf, c("rstudent", "dffits", "cook.d", "cov.r", "tau2.del",
                                               "QE.del", "hat", "weight")),
                      list(dfbetas = infl$dfbs$intrcpt, is_influential = infl$is.infl)),
        baujat = list(x = b$x, y = b$y)
      )
      if (name %in% two_studies) {
        cum <- cumul(fit, order = dat$year)
        entry$fits[[length(entry$fits)]]$cumulative <- c(
          unclass_list(cum, c("estimate", "se", "zval", "tval", "pvals", "ci.lb", "ci.ub", "Q", "Qp", "tau2",
                              "I2", "H2")),
          list(order = order(dat$year)))
      }
    }
  }
  reference$datasets[[name]] <- entry
}

# one study: what metafor refuses and what it fits
one <- datasets$molloy2014[1, ]
message_of <- function(expr) tryCatch({expr; NA_character_}, error = function(e) conditionMessage(e))
reference$k1 <- list(yi = I(sprintf("%.17g", one$yi)), vi = I(sprintf("%.17g", one$vi)), fits = list())
for (test in tests) {
  fit <- suppressWarnings(rma(as.numeric(reference$k1$yi), as.numeric(reference$k1$vi), method = "REML",
                              test = test, control = control))
  cum <- cumul(fit)
  reference$k1$fits[[length(reference$k1$fits) + 1]] <- list(
    method = "REML", test = test,
    leave1out_error = message_of(leave1out(fit)), influence_error = message_of(influence(fit)),
    baujat_error = message_of(baujat(fit, progbar = FALSE)),
    cumulative = unclass_list(cum, c("estimate", "se", "zval", "pvals", "ci.lb", "ci.ub", "Q", "Qp", "tau2",
                                     "I2", "H2")))
}

write_reference(reference, "influence.json", na = "null", pretty = TRUE)
