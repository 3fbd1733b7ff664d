# Reference values for leave-one-out and influence diagnostics when one study dominates a sum
# (alliance_meta.analyses.sensitivity.univariate: deletions whose "full sum minus the deleted
# study's term" would cancel are summed directly), computed with metafor's leave1out() and
# influence(), which refit rma.uni(..., subset = -i) for each study.
# Run from the repository root (Rscript tests/reference/leave_one_out_dominant.R) or from
# tests/reference. Writes tests/reference/leave_one_out_dominant.json (committed; the tests need no R).
#
# Constructed data sets (no published data has these extremes):
#   dominant_y  one study with y = 50 and vi = 1e-8 among three near 0.3: deleting it leaves a Q of
#               about 0.82 from sums of about 1e11;
#   dominant_w  one study with 99.98% of the weight (vi = 1e-6) and an ordinary y;
#   offset      y = 100 + a spread of 0.4: sum w y^2 is 1e6 times the Knapp-Hartung sum of squares.
# Estimators EE (our "common"), DL, HE, ML, REML and GENQ (weights 1/sqrt(vi), Jackson 2013), the z and the
# Knapp-Hartung test. Fits use control = list(threshold = 1e-13, maxiter = 1000), as influence.R (the
# converged root: near tau^2 = 0 the SE of dominant_w moves by 1e-6 with a tau^2 change of 1e-11), except
# dominant_y, threshold 1e-10: its tau^2 of about 800 has doubles 1.1e-13 apart. Inputs are written as text at
# 17 significant digits (exact doubles), results with digits = NA.
suppressPackageStartupMessages({
  library(metafor)
})
stopifnot(packageVersion("metafor") >= "3.8")

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

controls <- list(dominant_y = list(threshold = 1e-10, maxiter = 1000),
                 dominant_w = list(threshold = 1e-13, maxiter = 1000),
                 offset = list(threshold = 1e-13, maxiter = 1000))
methods <- c("EE", "DL", "HE", "ML", "REML", "GENQ")
tests <- c("z", "knha")
datasets <- list(
  dominant_y = list(yi = c(50, 0.3, 0.2, 0.4), vi = c(1e-8, 0.01, 0.02, 0.03)),
  dominant_w = list(yi = c(0.25, 0.3, 0.2, 0.4, 0.1), vi = c(1e-6, 0.01, 0.02, 0.03, 0.015)),
  offset = list(yi = 100 + c(0.3, 0.2, 0.4, 0.1, 0.5), vi = c(0.01, 0.02, 0.03, 0.015, 0.025))
)

unclass_list <- function(x, names) lapply(unclass(x)[intersect(names, names(unclass(x)))], as.vector)

reference <- list(metafor_version = as.character(packageVersion("metafor")),
                  r_version = R.version.string, control = controls, datasets = list())
for (name in names(datasets)) {
  entry <- list(yi = I(sprintf("%.17g", datasets[[name]]$yi)), vi = I(sprintf("%.17g", datasets[[name]]$vi)),
                fits = list())
  yi <- as.numeric(entry$yi)
  vi <- as.numeric(entry$vi)
  control <- controls[[name]]
  for (method in methods) {
    for (test in tests) {
      fit <- if (method == "GENQ") {
        rma(yi, vi, weights = 1 / sqrt(vi), method = method, test = test, control = control)
      } else {
        rma(yi, vi, method = method, test = test, control = control)
      }
      l1o <- leave1out(fit)
      infl <- influence(fit)
      entry$fits[[length(entry$fits) + 1]] <- list(
        method = method, test = test,
        full = list(estimate = c(fit$beta), se = fit$se, tau2 = fit$tau2, QE = fit$QE),
        leave1out = unclass_list(l1o, c("estimate", "se", "zval", "tval", "pval", "ci.lb", "ci.ub",
                                        "Q", "Qp", "tau2", "I2", "H2")),
        influence = c(unclass_list(infl$inf, c("rstudent", "dffits", "cook.d", "cov.r", "tau2.del",
                                               "QE.del", "hat", "weight")),
                      list(dfbetas = infl$dfbs$intrcpt, is_influential = infl$is.infl))
      )
    }
  }
  reference$datasets[[name]] <- entry
}

write_reference(reference, "leave_one_out_dominant.json", na = "null", pretty = TRUE)
