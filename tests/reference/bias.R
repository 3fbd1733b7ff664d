# Reference values for publication-bias and sensitivity analyses (alliance_meta.analyses.bias,
# alliance_meta.analyses.sensitivity.univariate), computed with metafor on data sets of metadat.
# Run from the repository root (Rscript tests/reference/bias.R) or from tests/reference
# (Rscript bias.R, make reference): writes bias.json next to the script
# (committed; the tests need no R).
#
# All rma() fits use control = list(threshold = 1e-13) so that iterative tau^2
# estimators (REML, ML) report the converged root rather than the iterate at which
# metafor's default threshold (1e-5 change in tau^2) stops; the Python code
# converges to the root as well. selmodel() is run twice: with metafor's defaults
# (optim BFGS, reltol 1e-8) and with a tight optimiser tolerance.
suppressPackageStartupMessages({
  library(metafor)
})
pdf(NULL)  # baujat() draws; keep the plot off disk
stopifnot(packageVersion("metafor") >= "3.8")

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

control <- list(threshold = 1e-13, maxiter = 1000)

datasets <- list(
  molloy2014 = within(escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014), {
    label <- paste(authors, year)
  }),
  mcdaniel1994 = within(escalc("ZCOR", ri = ri, ni = ni, data = dat.mcdaniel1994), {
    year <- NA_integer_
    label <- paste("Study", study)
  }),
  hackshaw1998 = within(dat.hackshaw1998, label <- paste(author, year)),
  # the same studies with the sign reversed: missing studies on the right
  hackshaw1998_reversed = within(dat.hackshaw1998, {yi <- -yi; label <- paste(author, year)}),
  bangertdrowns2004 = within(dat.bangertdrowns2004, label <- paste(author, year))
)

unclass_list <- function(x, names) lapply(unclass(x)[names], as.vector)

one_fit <- function(fit) list(
  estimate = c(fit$beta), se = fit$se, ci_lower = fit$ci.lb, ci_upper = fit$ci.ub,
  tau2 = fit$tau2, i2 = fit$I2, h2 = fit$H2, q = fit$QE, k = fit$k
)

regtest_values <- function(res) list(
  statistic = res$zval, p = res$pval, df = res$dfs, estimate = unname(res$est),
  ci_lower = unname(res$ci.lb), ci_upper = unname(res$ci.ub)
)

trimfill_values <- function(res) list(
  side = res$side, k0 = res$k0, se_k0 = res$se.k0, p_k0 = res$p.k0,
  estimate = c(res$beta), se = res$se, ci_lower = res$ci.lb, ci_upper = res$ci.ub,
  tau2 = res$tau2, k = res$k, filled_yi = res$yi[res$fill], filled_vi = res$vi[res$fill]
)

selmodel_values <- function(res) list(
  estimate = c(res$beta), se = res$se, ci_lower = res$ci.lb, ci_upper = res$ci.ub,
  p = res$pval, tau2 = res$tau2, se_tau2 = res$se.tau2, delta = res$delta,
  se_delta = res$se.delta, ll = res$ll, ll0 = res$ll0, lrt = res$LRT, lrt_df = res$LRTdf,
  lrt_p = res$LRTp, k_per_interval = res$ptable$k
)

reference <- list(metafor_version = as.character(packageVersion("metafor")), datasets = list())

for (name in names(datasets)) {
  dat <- datasets[[name]]
  entry <- list(yi = c(dat$yi), vi = c(dat$vi), year = dat$year, label = dat$label, methods = list())
  for (method in c("REML", "DL")) {
    fit <- rma(yi, vi, data = dat, method = method, control = control, slab = label)
    values <- list(fit = one_fit(fit))
    values$regtest_rma <- regtest_values(regtest(fit, model = "rma"))
    values$regtest_lm <- regtest_values(regtest(fit, model = "lm"))
    values$trimfill <- list()
    for (estimator in c("L0", "R0")) {
      values$trimfill[[estimator]] <- list(
        default = trimfill_values(trimfill(fit, estimator = estimator, control = control)),
        left = trimfill_values(trimfill(fit, estimator = estimator, side = "left", control = control)),
        right = trimfill_values(trimfill(fit, estimator = estimator, side = "right", control = control))
      )
    }
    l1o <- leave1out(fit)
    values$leave1out <- unclass_list(l1o, c("estimate", "se", "zval", "pval", "ci.lb", "ci.ub", "Q", "Qp", "tau2", "I2", "H2"))
    infl <- influence(fit)
    values$influence <- c(unclass_list(infl$inf, c("rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del", "hat", "weight")),
                          list(dfbetas = infl$dfbs$intrcpt, is_influential = infl$is.infl))
    if (!all(is.na(dat$year))) {
      cum <- cumul(fit, order = dat$year)
      values$cumulative <- c(unclass_list(cum, c("estimate", "se", "ci.lb", "ci.ub", "Q", "tau2", "I2", "H2")),
                             list(order = order(dat$year)))
    }
    b <- baujat(fit, progbar = FALSE)
    values$baujat <- list(x = b$x, y = b$y)
    values$selmodel <- selmodel_values(selmodel(fit, type = "stepfun", steps = c(0.025, 1)))
    values$selmodel_tight <- selmodel_values(selmodel(fit, type = "stepfun", steps = c(0.025, 1),
                                                       control = list(reltol = 1e-15, maxit = 10000)))
    entry$methods[[method]] <- values
  }
  rank <- ranktest(entry$yi, entry$vi)
  entry$ranktest <- list(tau = unname(rank$tau), p = rank$pval)
  # exact Kendall p-value needs untied vi: separate the tied variances slightly
  vi_untied <- entry$vi * (1 + seq_along(entry$vi) * 1e-6)
  rank <- ranktest(entry$yi, vi_untied)
  entry$ranktest_untied <- list(vi = vi_untied, tau = unname(rank$tau), p = rank$pval)
  entry$fsn <- list(
    rosenthal = unclass(fsn(yi, vi, data = dat, type = "Rosenthal"))[c("fsnum", "pval")],
    orwin = unclass(fsn(yi, vi, data = dat, type = "Orwin"))[c("fsnum", "meanes", "target")],
    orwin_weighted = unclass(fsn(yi, vi, data = dat, type = "Orwin", weighted = TRUE, target = 0.05))[c("fsnum", "meanes", "target")],
    rosenberg = unclass(fsn(yi, vi, data = dat, type = "Rosenberg"))[c("fsnum", "pval", "meanes")]
  )
  reference$datasets[[name]] <- entry
}

write_reference(reference, "bias.json", na = "null", pretty = TRUE)
