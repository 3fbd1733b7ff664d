# Reference values for alliance_meta.analyses.bias.selection_models (every type of metafor's
# selmodel), .excess_significance (tes) and .henmi_copas (hc), computed with metafor 3.8 on
# data sets of metadat with small-study effects.
# Run from the repository root (Rscript tests/reference/selection_models.R) or from
# tests/reference (Rscript selection_models.R, make reference): writes selection_models.json and
# henmi_copas_spread.json next to the script (committed; the tests need no R). Takes 40-60 minutes:
# the tight selmodel runs integrate slowly; `Rscript selection_models.R hc` writes only
# henmi_copas_spread.json, in seconds.
#
# selmodel() is run twice per type:
# - `default`: metafor's defaults (optim BFGS with reltol 1e-8; integrate() at rel.tol 1.2e-4);
# - `tight`: control = list(reltol = 1e-12, maxit = 1000, intCtrl = list(rel.tol = 1e-10)).
# With the default integration tolerance metafor's log likelihood is off by up to ~1e-3 and its
# optimum by ~1e-3 where the likelihood is flat, so `loglik_at` also evaluates metafor's own
# likelihood (.selmodel.ll.cont / .selmodel.ll.stepfun) at each optimum with rel.tol 1e-12 (1e-10
# where integrate() fails at 1e-12), and
# `likelihood` at fixed parameter values, to compare likelihoods rather than optimisers.
suppressPackageStartupMessages({
  library(metafor)
})
stopifnot(packageVersion("metafor") >= "3.8")

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

control <- list(threshold = 1e-13, maxiter = 1000)
tight <- list(reltol = 1e-12, maxit = 1000, intCtrl = list(rel.tol = 1e-10))
steps <- c(0.025, 0.10, 0.50, 1)
types <- c("beta", "halfnorm", "negexp", "logistic", "power", "negexppow", "stepfun")

datasets <- list(
  hackshaw1998 = data.frame(yi = dat.hackshaw1998$yi, vi = dat.hackshaw1998$vi),
  lehmann2018 = data.frame(yi = dat.lehmann2018$yi, vi = dat.lehmann2018$vi),
  baskerville2012 = data.frame(yi = dat.baskerville2012$smd, vi = dat.baskerville2012$se^2),
  molloy2014 = as.data.frame(escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014))[, c("yi", "vi")]
)
# further alternatives on one data set
extra <- list(hackshaw1998 = list(c("halfnorm", "two.sided"), c("stepfun", "two.sided"), c("negexp", "less"),
                                  c("beta", "two.sided")))

# metafor's weight functions (selmodel.rma.uni with the default steps = 0) and settings
spec <- list(
  beta = list(wi = function(x, delta, yi, vi, preci, alternative, steps) x^(delta[1] - 1) * (1 - x)^(delta[2] - 1),
              pval.min = 1e-5, min = c(1e-5, 1e-5), max = c(100, 100)),
  halfnorm = list(wi = function(x, delta, yi, vi, preci, alternative, steps) ifelse(x <= steps[1], 1, exp(-delta * preci * x^2) / exp(-delta * preci * steps[1]^2)),
                  pval.min = 0, min = 0, max = 100),
  negexp = list(wi = function(x, delta, yi, vi, preci, alternative, steps) ifelse(x <= steps[1], 1, exp(-delta * preci * x) / exp(-delta * preci * steps[1])),
                pval.min = 0, min = 0, max = 100),
  logistic = list(wi = function(x, delta, yi, vi, preci, alternative, steps) ifelse(x <= steps[1], 1, (2 * exp(-delta * preci * x) / (1 + exp(-delta * preci * x))) / (2 * exp(-delta * preci * steps[1]) / (1 + exp(-delta * preci * steps[1])))),
                  pval.min = 0, min = 0, max = 100),
  power = list(wi = function(x, delta, yi, vi, preci, alternative, steps) ifelse(x <= steps[1], 1, (1 - x)^(preci * delta) / (1 - steps[1])^(preci * delta)),
               pval.min = 1e-5, min = 0, max = 100),
  negexppow = list(wi = function(x, delta, yi, vi, preci, alternative, steps) ifelse(x <= steps[1], 1, exp(-delta[1] * preci * x^(1 / delta[2])) / exp(-delta[1] * preci * steps[1]^(1 / delta[2]))),
                   pval.min = 0, min = c(0, 0), max = c(100, 100)),
  stepfun = list(pval.min = 0)
)
# parameter values (mu, tau2, delta) at which the likelihood is evaluated
fixed <- list(beta = c(0.1, 0.02, 0.7, 1.3), halfnorm = c(0.1, 0.02, 2), negexp = c(0.1, 0.02, 3),
              logistic = c(0.1, 0.02, 2), power = c(0.1, 0.02, 0.5), negexppow = c(0.1, 0.02, 2, 1.5),
              stepfun = c(0.1, 0.02, 1, 0.6, 0.4, 0.2))

loglik <- function(type, par, yi, vi, alternative) {
  k <- length(yi)
  pvals <- metafor:::.selmodel.pval(yi, vi, alternative)
  s <- spec[[type]]
  pvals <- pmin(pmax(pvals, s$pval.min), 1 - s$pval.min)
  args <- list(par = par, yi = yi, vi = vi, X = cbind(rep(1, k)), preci = rep(1, k), k = k, pX = 1,
               pvals = pvals, deltas = length(par) - 2, delta.val = rep(NA, length(par) - 2),
               delta.transf = FALSE, mapfun = NA, delta.min = NA, delta.max = NA, tau2.val = NA,
               tau2.transf = FALSE, tau2.max = Inf, beta.val = NA, alternative = alternative,
               pval.min = s$pval.min, verbose = FALSE, digits = c(est = 4, fit = 4, var = 4), dofit = TRUE,
               intCtrl = list(lower = -Inf, upper = Inf, subdivisions = 1000L, rel.tol = 1e-12))
  value <- function(f) {  # rel.tol 1e-10 where integrate() fails at 1e-12; NA where it fails at both
    for (tol in c(1e-12, 1e-10)) {
      args$intCtrl$rel.tol <- tol
      ll <- tryCatch(do.call(f, args)$ll, error = function(e) NA)
      if (!is.na(ll)) return(ll)
    }
    NA
  }
  if (type == "stepfun") {
    args$steps <- steps
    args$pgrp <- sapply(pvals, function(p) which(p <= steps)[1])
    args$wi.fun <- function(x, delta, yi, vi, preci, alternative, steps) delta[sapply(x, function(p) which(p <= steps)[1])]
    value(metafor:::.selmodel.ll.stepfun)
  } else {
    args$steps <- 0
    args$pgrp <- NA
    args$wi.fun <- s$wi
    value(metafor:::.selmodel.ll.cont)
  }
}

run <- function(fit, type, alternative, ctl) {
  warnings <- character(0)
  res <- withCallingHandlers(
    tryCatch(
      if (type == "stepfun") selmodel(fit, type = type, alternative = alternative, steps = steps, control = ctl)
      else selmodel(fit, type = type, alternative = alternative, control = ctl),
      error = function(e) conditionMessage(e)),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  if (is.character(res)) return(list(error = res, warnings = I(warnings)))
  list(estimate = c(res$beta), se = res$se, ci_lower = res$ci.lb, ci_upper = res$ci.ub, pval = res$pval,
       tau2 = res$tau2, se_tau2 = res$se.tau2, delta = res$delta, se_delta = res$se.delta, ll = res$ll,
       ll0 = res$ll0, lrt = res$LRT, lrt_df = res$LRTdf, lrt_p = res$LRTp,
       k_per_interval = if (is.data.frame(res$ptable)) res$ptable$k else NULL, warnings = I(warnings),
       loglik_at = loglik(type, c(res$beta, res$tau2, res$delta), fit$yi, fit$vi, alternative))
}

# metafor's hc() with one change: the integral in its equation for t0 at rel.tol 1e-13 instead of
# integrate()'s default 1.2e-4 (which moves the 90% limits of dat.lehmann2018 by 2e-6 relative)
hc_exact <- local({
  code <- deparse(metafor:::hc.rma.uni)
  target <- "integrate(integrand, lower = x, upper = Inf)"
  stopifnot(sum(grepl(target, code, fixed = TRUE)) == 1)
  code <- sub(target, "integrate(integrand, lower = x, upper = Inf, rel.tol = 1e-13, subdivisions = 1000L)",
              code, fixed = TRUE)
  f <- eval(parse(text = code))
  environment(f) <- asNamespace("metafor")
  f
})

# hc() on 60 random data sets whose sampling variances spread over eight orders of magnitude (vi log-uniform
# between 1e-4 and 1e4, k 5-40, every third with tau^2 log-uniform between 1e-3 and 1e3), written to
# henmi_copas_spread.json (seconds; `Rscript selection_models.R hc` writes only that file). `default` is hc() as it
# is: uniroot's tolerance .Machine$double.eps^0.25 (1.2e-4 in t0) moves the limits by more than 1e-6 relative in
# about half of them; `exact` is hc_exact with control = list(tol = 1e-12).
hc_spread <- function() {
  set.seed(20260)
  limits <- function(res) list(estimate = res$beta, se = res$se, ci_lower = res$ci.lb, ci_upper = res$ci.ub,
                               tau2 = res$tau2)
  cases <- lapply(1:60, function(i) {
    k <- sample(5:40, 1)
    vi <- 10^runif(k, -4, 4)
    tau2 <- if (i %% 3 == 0) 10^runif(1, -3, 3) else 0
    yi <- rnorm(k, 0.3, sqrt(vi + tau2))
    dl <- rma(yi, vi, method = "DL")
    list(yi = yi, vi = vi, default = limits(hc(dl)), exact = limits(hc_exact(dl, control = list(tol = 1e-12))))
  })
  write_reference(list(metafor_version = as.character(packageVersion("metafor")), cases = cases),
                  "henmi_copas_spread.json", pretty = TRUE)
}
hc_spread()
if ("hc" %in% commandArgs(trailingOnly = TRUE)) quit(save = "no")

reference <- list(metafor_version = as.character(packageVersion("metafor")), steps = steps, datasets = list())

for (name in names(datasets)) {
  dat <- datasets[[name]]
  fit <- rma(yi, vi, data = dat, method = "REML", control = control)
  entry <- list(yi = dat$yi, vi = dat$vi, selmodel = list(), likelihood = list())
  combos <- c(lapply(types, function(type) c(type, "greater")), extra[[name]])
  for (combo in combos) {
    key <- paste(combo, collapse = "_")
    message(name, " ", key)
    entry$selmodel[[key]] <- list(type = combo[1], alternative = combo[2],
                                  default = run(fit, combo[1], combo[2], list()),
                                  tight = run(fit, combo[1], combo[2], tight))
    entry$likelihood[[key]] <- list(par = fixed[[combo[1]]],
                                    ll = loglik(combo[1], fixed[[combo[1]]], dat$yi, dat$vi, combo[2]))
  }
  # excess significance on the REML fit (metafor's defaults; chi-square and exact tests) and on
  # the common-effect fit (tau^2 = 0: closed-form power)
  tes_values <- function(res) list(O = res$O, E = res$E, statistic = res$X2, p = res$pval, power = res$power,
                                   theta = res$theta)
  entry$tes <- list(
    reml = list(chi2 = tes_values(tes(fit, test = "chi2", progbar = FALSE)),
                chi2_tight = tes_values(tes(fit, test = "chi2", progbar = FALSE, rel.tol = 1e-12)),
                tau2 = fit$tau2, estimate = c(fit$beta)),
    common = list(chi2 = tes_values(tes(rma(yi, vi, data = dat, method = "EE"), test = "chi2", progbar = FALSE)))
  )
  combinations <- sum(sapply(entry$tes$reml$chi2$O:nrow(dat), function(j) choose(nrow(dat), j)))
  if (combinations <= 1e6) {
    entry$tes$reml$exact <- tes_values(tes(fit, test = "exact", progbar = FALSE, rel.tol = 1e-12))
  }
  dl <- rma(yi, vi, data = dat, method = "DL")
  dl90 <- rma(yi, vi, data = dat, method = "DL", level = 90)
  hc_values <- function(res) list(estimate = res$beta, se = res$se, ci_lower = res$ci.lb, ci_upper = res$ci.ub,
                                  tau2 = res$tau2)
  entry$hc <- list(default = hc_values(hc(dl)), tight = hc_values(hc(dl, control = list(tol = 1e-12))),
                   level90 = hc_values(hc(dl90, control = list(tol = 1e-12))),
                   exact = hc_values(hc_exact(dl, control = list(tol = 1e-12))),
                   exact90 = hc_values(hc_exact(dl90, control = list(tol = 1e-12))))
  reference$datasets[[name]] <- entry
}

write_reference(reference, "selection_models.json", na = "null", pretty = TRUE)
