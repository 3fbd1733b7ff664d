# Reference values for pooled.csv's three-level rows (alliance_meta.models.fits.pooled_table with
# dependence = "multilevel"): the intercept-only rma.mv(yi, V, random = ~ 1 | study / es) under each of its
# tests, z, t (rma.mv's test = "t", written for knha) and cr2 (metafor's robust(..., clubSandwich = TRUE):
# clubSandwich's CR2 with Satterthwaite df), with predict()'s confidence and prediction intervals: estimate,
# se, statistic, p, df, CI and PI. multilevel.R checks the CR2 se, t, df and p (coef_test) but not the CR2 CI
# and PI. V = diag(vi) or vcalc(rho) (CHE); metadat's dat.assink2016 and dat.konstantopoulos2011, REML and ML.
# Optimiser settings as multilevel.R (optim BFGS to 1e-15).
# Run from the repository root (Rscript tests/reference/multilevel_pooled.R) or from tests/reference
# (make reference): writes multilevel_pooled.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

fit_control <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)

row_of <- function(res) {
  pr <- predict(res)
  list(estimate = c(res$beta), se = res$se, statistic = res$zval, p = res$pval,
       df = if (is.null(res$ddf) || is.na(res$ddf[1])) "Inf" else res$ddf[1],
       ci_lower = res$ci.lb, ci_upper = res$ci.ub, pi_lower = pr$pi.lb, pi_upper = pr$pi.ub)
}

run_case <- function(name, dat, method, rho) {
  V <- if (rho == 0) diag(dat$vi) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  fit <- function(test) rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = method, test = test,
                                control = fit_control)
  z <- fit("z")
  list(name = name, method = method, rho = rho,
       data = list(yi = I(sprintf("%.17g", dat$yi)), vi = I(sprintf("%.17g", dat$vi)),
                   study = I(as.character(dat$study))),
       sigma2 = z$sigma2,
       tests = list(z = row_of(z), t = row_of(fit("t")),
                    cr2 = row_of(robust(z, cluster = dat$study, clubSandwich = TRUE))))
}

assink <- dat.assink2016
assink <- data.frame(study = assink$study, es = assink$esid, yi = assink$yi, vi = assink$vi)
konst <- dat.konstantopoulos2011
konst <- data.frame(study = konst$district, es = konst$school, yi = konst$yi, vi = konst$vi)

cases <- list(
  run_case("assink_reml", assink, "REML", 0),
  run_case("assink_che_reml", assink, "REML", 0.6),
  run_case("assink_che_ml", assink, "ML", 0.6),
  run_case("konstantopoulos_reml", konst, "REML", 0),
  run_case("konstantopoulos_che_ml", konst, "ML", 0.5)
)
meta <- list(metafor = as.character(packageVersion("metafor")),
             clubSandwich = as.character(packageVersion("clubSandwich")), R = R.version.string)
write_reference(list(meta = meta, cases = cases), "multilevel_pooled.json", pretty = TRUE)
