# Reference values for the refits of a Knapp-Hartung main model (pooling.tests: [knha], the
# headline test; alliance_meta.models.fits.headline_test), computed with metafor on metadat's
# data sets. Run from the repository root (Rscript tests/reference/knha_refits.R) or from
# tests/reference (make reference). Writes tests/reference/knha_refits.json (committed; the tests
# need no R).
#
# metafor refits an rma(..., test = "knha") model with its test: leave1out(), influence() and
# cumul() pass test = x$test to every refit, and so does update(x, subset = ...), the refit of
# the risk-of-bias subsets. Written here for REML with test = "knha" and "adhoc" (pooling.knha_adhoc:
# the scale factor floored at 1, which changes some refits of bcg and molloy2014), on
#   molloy2014 (k = 16, Fisher z of correlations; year for cumul),
#   bcg        (k = 13, log risk ratios; year for cumul).
# Each data set has an invented risk-of-bias judgement per study (rob_overall below, QUIPS levels):
# the risk-of-bias sensitivity refits rma(..., subset = rob_overall != "high") and
# subset = rob_overall == "low".
#
# What metafor does NOT refit with the model's test, written so that the tests can say so:
#   trimfill(): the filled data are refitted by rma.uni(yi.fill, vi.fill, method = x$method, ...)
#     without test or level (z, 95%) when k0 > 0; with k0 = 0 it returns the model itself.
#   selmodel(): Wald z tests and intervals whatever the model's test (res$test <- "z").
#
# Three-level models (konstantopoulos2011, REML): rma.mv has no Knapp-Hartung test; its test = "t"
# (k - p df) is what pooled.csv writes in place of knha. metafor has no leave1out or cumul for
# rma.mv, so both are loops of rma.mv(..., subset = ...) with test = "t", as
# multilevel_sensitivity.R does with the z test.
#
# leave1out, influence, cumul and trimfill start from a fit with control = list(threshold = 1e-13), so
# that REML reports the converged root (as influence.R and bias.R; alliance_meta's sensitivity and
# trim-and-fill refits iterate as tightly); the model itself ("full") and the risk-of-bias refits
# use metafor's default control, as the pipeline's main model and rob_sensitivity.csv do (as
# pooling.R). Inputs are written as text at 17 significant digits (exact doubles), results with
# digits = NA.
suppressPackageStartupMessages({
  library(metafor)
})
stopifnot(packageVersion("metafor") >= "3.8")

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

control <- list(threshold = 1e-13, maxiter = 1000)
unclass_list <- function(x, names) lapply(unclass(x)[intersect(names, names(unclass(x)))], as.vector)

molloy <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets <- list(
  molloy2014 = list(data = molloy, r = molloy$ri, n = molloy$ni,
                    rob = rep(c("low", "moderate", "high", "low"), length.out = nrow(molloy))),
  bcg = list(data = bcg, r = NULL, n = NULL,
             rob = c("low", "high", "moderate", "low", "low", "high", "moderate", "low", "high", "low",
                     "moderate", "low", "high"))
)

pooled <- function(fit) list(k = fit$k, estimate = c(fit$beta), se = fit$se, ci_lower = fit$ci.lb,
                             ci_upper = fit$ci.ub, p = fit$pval, tau2 = fit$tau2, i2 = fit$I2, h2 = fit$H2,
                             test = fit$test, s2w = fit$s2w)

reference <- list(metafor_version = as.character(packageVersion("metafor")), r_version = R.version.string,
                  control = control, datasets = list())

for (name in names(datasets)) {
  set <- datasets[[name]]
  dat <- set$data
  entry <- list(yi = I(sprintf("%.17g", dat$yi)), vi = I(sprintf("%.17g", dat$vi)), year = dat$year,
                rob_overall = set$rob, fits = list())
  if (!is.null(set$r)) {
    entry$r <- I(sprintf("%.17g", set$r))
    entry$n <- set$n
  }
  yi <- as.numeric(entry$yi)
  vi <- as.numeric(entry$vi)
  stopifnot(identical(yi, as.vector(dat$yi)), identical(vi, as.vector(dat$vi)))
  rob <- set$rob
  for (test in c("knha", "adhoc")) {
    fit <- rma(yi, vi, method = "REML", test = test, control = control)
    default <- rma(yi, vi, method = "REML", test = test)
    l1o <- leave1out(fit)
    infl <- influence(fit)
    cum <- cumul(fit, order = dat$year)
    tf <- trimfill(fit, control = control)  # the filled data refitted as tightly (as bias.R)
    values <- list(
      method = "REML", test = test, full = pooled(default),
      leave1out = unclass_list(l1o, c("estimate", "se", "tval", "pval", "ci.lb", "ci.ub", "Q", "Qp", "tau2",
                                      "I2", "H2")),
      influence = c(unclass_list(infl$inf, c("rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del",
                                             "hat", "weight")),
                    list(dfbetas = infl$dfbs$intrcpt, is_influential = infl$is.infl)),
      cumulative = c(unclass_list(cum, c("estimate", "se", "tval", "pvals", "ci.lb", "ci.ub", "Q", "Qp", "tau2",
                                         "I2", "H2")),
                     list(order = order(dat$year))),
      rob_sensitivity = list(
        exclude_high = pooled(update(default, subset = rob != "high")),
        low_only = pooled(update(default, subset = rob == "low"))),
      trimfill = list(k0 = tf$k0, side = tf$side, test = tf$test, estimate = c(tf$beta), se = tf$se,
                      ci_lower = tf$ci.lb, ci_upper = tf$ci.ub)
    )
    if (test == "knha") {
      sel <- selmodel(fit, type = "stepfun", steps = 0.025)
      values$selmodel <- list(type = "stepfun", steps = 0.025, test = sel$test)
    }
    entry$fits[[length(entry$fits) + 1]] <- values
  }
  reference$datasets[[name]] <- entry
}

# Three-level model, test = "t": leave one study (district) out and add studies by earliest year.
fit_control <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)
konst <- dat.konstantopoulos2011
konst <- data.frame(study = konst$district, es = konst$school, yi = konst$yi, vi = konst$vi, year = konst$year)
fit_subset <- function(sub) {
  res <- rma.mv(yi, vi, random = ~ 1 | study / es, data = konst, method = "REML", test = "t", subset = sub,
                control = fit_control)
  list(k = res$k, estimate = c(res$beta), se = res$se, ci_lower = res$ci.lb, ci_upper = res$ci.ub,
       p = res$pval, df = res$ddf, test = res$test, sigma2 = res$sigma2)
}
ids <- unique(konst$study)
study_year <- tapply(konst$year, factor(konst$study, levels = ids), min)
ordered <- ids[order(study_year)]
reference$three_level <- list(
  name = "konstantopoulos2011", method = "REML", test = "t",
  data = list(yi = I(sprintf("%.17g", konst$yi)), vi = I(sprintf("%.17g", konst$vi)), study = konst$study,
              year = konst$year),
  full = fit_subset(rep(TRUE, nrow(konst))),
  leave_one_out = lapply(ids, function(s) c(list(study = s), fit_subset(konst$study != s))),
  cumulative = lapply(seq_along(ordered), function(j) c(list(study = ordered[j]),
                                                        fit_subset(konst$study %in% ordered[1:j]))))

write_reference(reference, "knha_refits.json", na = "null", pretty = TRUE)
