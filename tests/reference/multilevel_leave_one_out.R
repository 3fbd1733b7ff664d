# Reference values for the three-level leave-one-study-out table (alliance_meta.analyses.sensitivity.multilevel.
# leave_one_study_out: leave_one_out.csv under dependence: multilevel) beyond multilevel_sensitivity.R: I^2 of each
# level of every deletion fit (as multilevel.R's i2_by_level), and the intervals and tests of the deletion fits
# under the cr2 test (am.fit(..., test = "cr2")): metafor's robust(..., clubSandwich = TRUE) of each
# rma.mv(..., subset = study != s). metadat's dat.konstantopoulos2011 (REML) and dat.assink2016 (CHE, rho = 0.6,
# REML). Optimiser settings as multilevel.R (optim BFGS to 1e-15).
# Run from the repository root (Rscript tests/reference/multilevel_leave_one_out.R) or from tests/reference
# (make reference): writes multilevel_leave_one_out.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

fit_control <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)

i2_by_level <- function(res, V) {
  W <- solve(V)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  typical <- (res$k - res$p) / sum(diag(P))
  100 * res$sigma2 / (sum(res$sigma2) + typical)
}

run_case <- function(name, dat, method, rho) {
  V <- if (rho == 0) diag(dat$vi) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  deletions <- lapply(unique(dat$study), function(s) {
    keep <- dat$study != s
    res <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = method, subset = keep,
                  control = fit_control)
    rob <- robust(res, cluster = dat$study, clubSandwich = TRUE)  # the full column: robust() subsets it
    list(study = s, estimate = c(res$beta), sigma2 = res$sigma2, i2 = i2_by_level(res, V[keep, keep]),
         cr2 = list(se = rob$se, statistic = rob$zval, p = rob$pval, df = rob$ddf[1], ci_lower = rob$ci.lb,
                    ci_upper = rob$ci.ub))
  })
  list(name = name, method = method, rho = rho,
       data = list(yi = I(sprintf("%.17g", dat$yi)), vi = I(sprintf("%.17g", dat$vi)),
                   study = I(as.character(dat$study))),
       deletions = deletions)
}

konst <- dat.konstantopoulos2011
konst <- data.frame(study = konst$district, es = konst$school, yi = konst$yi, vi = konst$vi)
assink <- dat.assink2016
assink <- data.frame(study = assink$study, es = assink$esid, yi = assink$yi, vi = assink$vi)

cases <- list(run_case("konstantopoulos_reml", konst, "REML", 0), run_case("assink_che_reml", assink, "REML", 0.6))
meta <- list(metafor = as.character(packageVersion("metafor")),
             clubSandwich = as.character(packageVersion("clubSandwich")), R = R.version.string)
write_reference(list(meta = meta, cases = cases), "multilevel_leave_one_out.json", pretty = FALSE)
