# Reference values for the analyses that refit a model fitted with an iteration control of one's own
# (am.fit(rows, control = {...})), for Fisher scoring at extreme data and for the study weights of the risk-of-bias
# summaries (weights(fit)).
#
# Control: metafor's leave1out, influence and cumul refit rma.uni with x$control (as do regtest, gosh and
# update); trimfill 3.8-1 passes its `...` (5.x: x$control to the trimmed fits), so it is called with
# control = x$control. Two SIMULATED data sets where the control matters (stored with the values):
# - pm_tau2_max: 10 effect sizes, two far from the rest, so that the Paule-Mandel root lies above metafor's
#   default tau2.max (max(100, 10 mad(yi)^2) = 100: "Value of 'tau2.max' too low"); fitted with tau2.max = 1e4.
# - reml_maxiter: 7 effect sizes (simulated with set.seed(1), draw 3576) where REML's Fisher scoring does not
#   converge in metafor's default 100 iterations ("Fisher scoring algorithm did not converge"), nor without
#   the third study; fitted with maxiter = 1000, threshold = 1e-13.
# Subsets (the risk-of-bias subsets; reml_maxiter's subgroup of all studies but the third): the model fitted to
# them with the same control, as update(fit, subset =).
# Fisher scoring at extreme data (constructed; no published data has them): ML, REML and EB on data with y spread
# over up to 12 orders of magnitude (tau^2 up to 3e23) or vi down to 1e-13. metafor's rma.uni stops when tau^2
# changes by at most threshold = 1e-5; beyond tau^2 ~ 1e10 that is below the spacing of doubles, so it converges
# only where a step rounds to exactly 0, and otherwise reports "Fisher scoring algorithm did not converge" with
# the iterates alternating between neighbouring doubles (written: `converged`, `tau2`, `message`). Where it does
# not converge, `at_rounding` is its fit with the threshold raised to the rounding error of a step at the HE
# tau^2 (4 k eps tau2_HE, alliance_meta's scoring_tolerance), which stops there.
# Sampling variances near 1e-300 (constructed): every estimator's fit, Q, I^2, H^2 and tau^2 interval, its
# leave-one-out, influence and cumulative fits; and Fisher scoring where tau^2 too is near 1e-302, referenced by
# metafor's fit in units 1e151 times larger (its own overflows).
# One sampling variance near 1e-300 beside ordinary ones: metafor's Q, tr(P) cancel to rounding noise; the
# reference is their cancellation-free sums (see the section).
# Weights: weights(rma.uni) in percent (GENQ with weights = a: the a; REML: 1/(vi + tau2)), and the weight of
# each study in a three-level (CHE) model, weights(rma.mv, type = "rowsum") summed over the study's rows
# (dat.assink2016, rho = 0.5; dat.konstantopoulos2011, rho = 0), at metafor's estimates.
# Run from the repository root (Rscript tests/reference/fit_control.R) or from tests/reference
# (make reference): writes fit_control.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

field <- function(x, names) x[[intersect(names, names(x))[1]]]  # zval or tval, pval or pvals by test

sensitivity <- function(fit, year) {
  loo <- leave1out(fit)
  inf <- influence(fit)
  cum <- cumul(fit, order = year)
  list(leave1out = list(estimate = loo$estimate, se = loo$se, pval = field(loo, c("pval", "pvals")),
                        ci_lb = loo$ci.lb, ci_ub = loo$ci.ub, q = loo$Q, tau2 = loo$tau2, i2 = loo$I2),
       influence = list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook_d = inf$inf$cook.d,
                        cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, hat = inf$inf$hat,
                        weight = inf$inf$weight, dfbetas = inf$dfbs$intrcpt),
       cumulative = list(estimate = cum$estimate, se = cum$se, ci_lb = cum$ci.lb, ci_ub = cum$ci.ub,
                         tau2 = cum$tau2))
}

summary_of <- function(fit) list(estimate = c(fit$beta), se = fit$se, ci_lb = fit$ci.lb, ci_ub = fit$ci.ub,
                                 tau2 = fit$tau2)

out <- list(metafor_version = as.character(packageVersion("metafor")), cases = list())

# -- pm_tau2_max -----------------------------------------------------------------------------------------------
pm <- data.frame(yi = c(0.31, 0.12, 0.45, 0.27, 0.38, 0.05, 0.22, 0.41, 31.0, -22.0),
                 vi = c(0.02, 0.015, 0.04, 0.01, 0.03, 0.025, 0.012, 0.05, 0.8, 0.6),
                 year = c(2001, 2003, 2004, 2006, 2008, 2010, 2012, 2013, 2015, 2018),
                 rob = c("low", "low", "moderate", "low", "low", "low", "low", "low", "high", "low"))
default_fails <- inherits(try(rma(yi, vi, data = pm, method = "PM"), silent = TRUE), "try-error")
control <- list(tau2.max = 1e4)
fits <- lapply(c(z = "z", knha = "knha"), function(test) rma(yi, vi, data = pm, method = "PM", test = test,
                                                            control = control))
case <- list(name = "pm_tau2_max", method = "PM", control = list(tau2_max = 1e4), default_fails = default_fails,
             yi = pm$yi, vi = pm$vi, year = pm$year, rob = pm$rob, fit = summary_of(fits$z),
             weights = unname(weights(fits$z)))
for (test in names(fits)) case[[test]] <- sensitivity(fits[[test]], pm$year)
filled <- trimfill(fits$z, control = fits$z$control)
case$trimfill <- list(k0 = filled$k0, side = filled$side, estimate = c(filled$beta), se = filled$se,
                      tau2 = filled$tau2)
egger <- regtest(fits$z)
case$egger <- list(statistic = egger$zval, pval = egger$pval)
case$tes <- list(pval = tes(fits$z)$pval)
case$exclude_high <- summary_of(rma(yi, vi, data = pm, method = "PM", control = control, subset = rob != "high"))
case$low_only <- summary_of(rma(yi, vi, data = pm, method = "PM", control = control, subset = rob == "low"))
g <- gosh(fits$z, progbar = FALSE)
case$gosh <- list(incl = unname(g$incl * 1), estimate = g$res$estimate, tau2 = g$res$tau2)
out$cases[[1]] <- case

# -- reml_maxiter ----------------------------------------------------------------------------------------------
set.seed(1)
for (i in 1:3576) {
  k <- sample(4:12, 1)
  vi <- exp(runif(k, log(1e-4), log(10)))
  yi <- rnorm(k, 0, sqrt(vi + exp(runif(1, log(0.01), log(20)))))
}
reml <- data.frame(yi = signif(yi, 6), vi = signif(vi, 6), year = 2001:2007,
                   rob = c("moderate", "low", "high", "low", "low", "low", "low"),
                   group = c("a", "a", "b", "a", "a", "a", "a"))
default_fails <- c(inherits(try(rma(yi, vi, data = reml), silent = TRUE), "try-error"),
                   inherits(try(rma(yi, vi, data = reml, subset = -3), silent = TRUE), "try-error"))
control <- list(maxiter = 1000, threshold = 1e-13)
fit <- rma(yi, vi, data = reml, control = control)
case <- list(name = "reml_maxiter", method = "REML", control = list(max_iterations = 1000, threshold = 1e-13),
             default_fails = default_fails, yi = reml$yi, vi = reml$vi, year = reml$year, rob = reml$rob,
             group = reml$group, fit = summary_of(fit), weights = unname(weights(fit)),
             z = sensitivity(fit, reml$year),
             exclude_high = summary_of(rma(yi, vi, data = reml, control = control, subset = rob != "high")),
             low_only = summary_of(rma(yi, vi, data = reml, control = control, subset = rob == "low")),
             subgroup_a = summary_of(rma(yi, vi, data = reml, subset = group == "a", control = control)))
out$cases[[2]] <- case

# -- Fisher scoring at extreme data ----------------------------------------------------------------------------
extremes <- list(
  probe = list(yi = c(1e8, 0.5, 0.1), vi = c(0.01, 0.02, 0.03)),
  spread_1e6 = list(yi = c(1e6, -2e6, 0.3, 0.5, 4e5), vi = c(0.01, 0.02, 0.03, 0.04, 0.05)),
  spread_1e7 = list(yi = c(1e7, 2e7, -1e7, 3e7, 0.5, 0.2, 0.1), vi = c(0.01, 0.02, 0.03, 0.01, 0.02, 0.03, 0.05)),
  spread_1e10 = list(yi = c(1e10, 0.5, 0.1, -3e9), vi = c(1, 2, 3, 4)),
  spread_1e12 = list(yi = c(1e12, 0, 1), vi = c(1, 1, 1)),
  tiny_vi = list(yi = c(0.1, 0.3, 0.25, 0.8, -0.2), vi = c(1e-12, 2e-12, 1e-13, 5e-12, 3e-12)),
  tiny_vi_spread = list(yi = c(3e5, 0.1, 0.2), vi = c(1e-8, 1e-8, 1e-8)))
out$fisher_scoring_extremes <- lapply(names(extremes), function(name) {
  dat <- extremes[[name]]
  fits <- lapply(c(ML = "ML", REML = "REML", EB = "EB"), function(method) {
    fit <- tryCatch(rma(dat$yi, dat$vi, method = method), error = function(e) conditionMessage(e))
    if (!is.character(fit)) return(list(converged = TRUE, tau2 = fit$tau2, estimate = c(fit$beta), se = fit$se))
    threshold <- 4 * length(dat$yi) * .Machine$double.eps * rma(dat$yi, dat$vi, method = "HE")$tau2
    relaxed <- rma(dat$yi, dat$vi, method = method, control = list(threshold = threshold))
    list(converged = FALSE, message = fit,
         at_rounding = list(threshold = threshold, tau2 = relaxed$tau2, estimate = c(relaxed$beta), se = relaxed$se))
  })
  c(list(name = name, yi = dat$yi, vi = dat$vi), fits)
})

# -- sampling variances near 1e-300 -----------------------------------------------------------------------------
# Constructed (no published data has them): weights 1/vi near 1e300, whose squares overflow doubles. Each
# estimator's fit (EE: the common-effect model), Q, I^2, H^2 and the Q-profile interval of tau^2 (confint).
tiny <- list(vi_1e300 = list(yi = c(0.1, 0.3, 0.6), vi = c(1, 2, 3) * 1e-300),
             vi_1e300_k5 = list(yi = c(0.1, 0.3, 0.6, 0.2, -0.1), vi = c(1, 2, 3, 1.5, 2.5) * 1e-300))
out$tiny_variances <- lapply(names(tiny), function(name) {
  dat <- tiny[[name]]
  fits <- lapply(c(EE = "EE", DL = "DL", HE = "HE", HS = "HS", HSk = "HSk", SJ = "SJ", ML = "ML", REML = "REML",
                   EB = "EB", PM = "PM", PMM = "PMM"), function(method) {
    fit <- rma(dat$yi, dat$vi, method = method)
    interval <- if (method == "EE") c(NA, NA) else confint(fit)$random["tau^2", c("ci.lb", "ci.ub")]
    list(tau2 = fit$tau2, estimate = c(fit$beta), se = fit$se, q = fit$QE, i2 = fit$I2, h2 = fit$H2,
         tau2_ci_lb = interval[[1]], tau2_ci_ub = interval[[2]])
  })
  c(list(name = name, yi = dat$yi, vi = dat$vi), fits)
})
# Leave-one-out, influence and cumulative fits of the k = 5 data (cumulative in the order of `year`): each deletion's
# and each step's fit, Q, I^2, H^2 and tau^2, and the influence diagnostics.
tiny_year <- c(2005, 2001, 2003, 2002, 2004)
out$tiny_sensitivity <- c(tiny$vi_1e300_k5, list(year = tiny_year), lapply(
  c(EE = "EE", DL = "DL", HE = "HE", HS = "HS", HSk = "HSk", SJ = "SJ", ML = "ML", REML = "REML", EB = "EB",
    PM = "PM", PMM = "PMM"), function(method) {
  fit <- rma(tiny$vi_1e300_k5$yi, tiny$vi_1e300_k5$vi, method = method)
  loo <- leave1out(fit)
  inf <- influence(fit)
  cum <- cumul(fit, order = tiny_year)
  list(leave1out = list(estimate = loo$estimate, se = loo$se, ci_lb = loo$ci.lb, ci_ub = loo$ci.ub, q = loo$Q,
                        tau2 = loo$tau2, i2 = loo$I2, h2 = loo$H2),
       influence = list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook_d = inf$inf$cook.d,
                        cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, qe_del = inf$inf$QE.del,
                        hat = inf$inf$hat, weight = inf$inf$weight, dfbetas = inf$dfbs$intrcpt),
       cumulative = list(estimate = cum$estimate, se = cum$se, ci_lb = cum$ci.lb, ci_ub = cum$ci.ub, q = cum$Q,
                         tau2 = cum$tau2, i2 = cum$I2, h2 = cum$H2))
}))
# Fisher scoring where tau^2 too is near 1e-302 (y near 1e-151): metafor's own P %*% P overflows there, its ML and
# REML steps are NaN and it returns the HE start (`direct`). The reference is its fit to the same data in units
# 1e151 times larger (yi * 1e151, vi * 1e302; every estimator is equivariant so), scaled back (`rescaled`), with
# one Fisher scoring step from HE, where the threshold 1e-5 stops at tau^2 this small: threshold 1e10 (above the
# scaled first step's change, 2.2; 1e-5 * 1e302 would not do: metafor starts from change = threshold + 1).
small <- list(yi = c(1, 3, 6) * 1e-151, vi = c(1, 2, 3) * 1e-302)
out$tiny_tau2 <- c(small, lapply(c(ML = "ML", REML = "REML", EB = "EB"), function(method) {
  direct <- rma(small$yi, small$vi, method = method)
  scaled <- rma(small$yi * 1e151, small$vi * 1e302, method = method, control = list(threshold = 1e10))
  list(direct = list(tau2 = direct$tau2, estimate = c(direct$beta), se = direct$se),
       rescaled = list(tau2 = scaled$tau2 * 1e-302, estimate = c(scaled$beta) * 1e-151, se = scaled$se * 1e-151))
}))

# -- one sampling variance near 1e-300 beside ordinary ones -----------------------------------------------------
# Constructed: vi = 1e-300 beside 0.05-0.2, one weight holding all but 1e-298 of the sum. tr(P) = sum w - sum w^2 /
# sum w and Q = sum w (y - ybar)^2 then cancel completely in metafor's matrix algebra: its QE (2e283) is w_1 times
# the squared rounding error of ybar, its tr(P) (1.5e284) an ulp of w_1, and so DL (their ratio), HS, HSk and every
# I^2, H^2 from them are rounding noise (`metafor`). The reference (`exact`) is the same formulas summed over
# positive terms only, without cancellation: Q = sum_{i<j} w_i w_j (y_i - y_j)^2 / S, tr(P) = sum_i w_i (S - w_i) / S
# with S - w_i the sum of the other weights; tau^2 from them by metafor's formulas (HE and SJ need neither: metafor's),
# the estimate and se by rma() at that tau^2. Also every leave-one-out fit of DL so.
exact_q_trace <- function(yi, vi) {
  w <- 1 / vi
  S <- sum(w)
  pairs <- outer(w / S, w) * outer(yi, yi, "-")^2
  list(q = sum(pairs[upper.tri(pairs)]), trace_p = sum(w / S * sapply(seq_along(w), function(i) sum(w[-i]))))
}
exact_fit <- function(yi, vi, method) {
  k <- length(yi)
  e <- exact_q_trace(yi, vi)
  tau2 <- switch(method, EE = 0, DL = max(0, (e$q - (k - 1)) / e$trace_p), HS = max(0, (e$q - k) / sum(1 / vi)),
                 HSk = max(0, (k / (k - 1) * e$q - k) / sum(1 / vi)), rma(yi, vi, method = method)$tau2)
  s2 <- (k - 1) / e$trace_p
  fixed <- rma(yi, vi, tau2 = tau2)
  list(tau2 = tau2, estimate = c(fixed$beta), se = fixed$se, q = e$q, trace_p = e$trace_p,
       i2 = if (method == "EE") max(0, 100 * (e$q - (k - 1)) / e$q) else 100 * tau2 / (s2 + tau2),
       h2 = if (method == "EE") e$q / (k - 1) else tau2 / s2 + 1)
}
mixed <- list(yi = c(0.1, 0.9, -0.5, 0.6, 1.2), vi = c(1e-300, 0.1, 0.2, 0.15, 0.05))
out$mixed_variances <- c(mixed, lapply(c(EE = "EE", DL = "DL", HE = "HE", HS = "HS", HSk = "HSk", SJ = "SJ"),
                                       function(method) {
  fit <- suppressWarnings(rma(mixed$yi, mixed$vi, method = method))
  list(metafor = list(tau2 = fit$tau2, q = fit$QE, i2 = fit$I2, h2 = fit$H2), exact = exact_fit(mixed$yi, mixed$vi,
                                                                                                 method))
}), list(leave1out_DL = lapply(seq_along(mixed$yi), function(i) exact_fit(mixed$yi[-i], mixed$vi[-i], "DL"))))

# The same exact sums at tau^2 > 0 (w = 1 / (vi + tau^2)) for the estimators and the interval that solve or maximise
# in tau^2: PM and PMM (uniroot of the exact Q(tau^2) = k - 1 or the chi^2 median in [0, max(100, 10 mad(yi)^2)],
# metafor's bracket and tolerance), REML and ML (optimize of the exact (restricted) log likelihood, tolerance 1e-12;
# their Fisher scoring solutions, with metafor's ll0check) and the Q-profile interval of the DL fit (uniroot of the exact Q(tau^2) = chi^2
# quantiles in [0, max(100, 10 tau^2)], as metafor's confint). metafor's own PM is beside them (its Q(tau^2) is
# rounding noise only near tau^2 = 0); its confint and REML fail there.
exact_q_at <- function(yi, vi, tau2) exact_q_trace(yi, vi + tau2)$q
exact_log_likelihood <- function(yi, vi, tau2, method) {
  w <- 1 / (vi + tau2)
  value <- -0.5 * sum(log(vi + tau2)) - 0.5 * exact_q_at(yi, vi, tau2)
  if (method == "REML") value - 0.5 * log(sum(w)) else value
}
exact_root <- function(f, upper) {
  if (f(0) < 0) return(0)
  uniroot(f, c(0, upper), tol = .Machine$double.eps^0.25, maxiter = 100)$root
}
exact_tau2 <- function(yi, vi, method) {
  k <- length(yi)
  target <- if (method == "PMM") qchisq(0.5, k - 1) else k - 1
  switch(method,
         PM = , PMM = exact_root(function(t) exact_q_at(yi, vi, t) - target, max(100, 10 * mad(yi)^2)),
         {
           best <- optimize(function(t) exact_log_likelihood(yi, vi, t, method), c(0, 10), maximum = TRUE,
                            tol = 1e-12)
           # metafor's ll0check: 0 where the likelihood is higher there (ML beside vi = 1e-300: -log(vi_1) / 2)
           if (exact_log_likelihood(yi, vi, 0, method) > best$objective) 0 else best$maximum
         })
}
exact_interval <- function(yi, vi, tau2, level = 95) {
  k <- length(yi)
  upper_end <- max(100, 10 * tau2)
  q_at <- function(t) exact_q_at(yi, vi, t)
  lower_target <- qchisq(1 - (1 - level / 100) / 2, k - 1)
  upper_target <- qchisq((1 - level / 100) / 2, k - 1)
  bound <- function(target) if (q_at(0) < target) 0 else
    uniroot(function(t) q_at(t) - target, c(0, upper_end), tol = .Machine$double.eps^0.25, maxiter = 1000)$root
  c(bound(lower_target), bound(upper_target))
}
beside <- list(yi = c(0.1, 0.5, 0.3, 0.6, 0.4), vi = c(1e-300, 0.1, 0.2, 0.15, 0.05))
out$mixed_variances$solved <- lapply(list(mixed = mixed, beside = beside), function(data) c(data, list(
  metafor_pm = suppressWarnings(rma(data$yi, data$vi, method = "PM")$tau2),
  exact = lapply(c(PM = "PM", PMM = "PMM", REML = "REML", ML = "ML"), function(method) exact_tau2(data$yi, data$vi,
                                                                                                    method)),
  dl_interval = exact_interval(data$yi, data$vi, exact_fit(data$yi, data$vi, "DL")$tau2))))
# Two studies sharing vi = 1e-300 (or 1e-20): a tie, which no single weight dominates; Q cancels as before.
tied <- list(yi = c(0.1, 0.1, 0.9, -0.5, 0.6, 1.2), vi = c(1e-300, 1e-300, 0.1, 0.2, 0.15, 0.05))
out$mixed_variances$tied <- lapply(c(v300 = 1e-300, v20 = 1e-20), function(tiny) {
  vi <- c(tiny, tiny, tied$vi[-(1:2)])
  list(yi = tied$yi, vi = vi, EE = exact_fit(tied$yi, vi, "EE"), DL = exact_fit(tied$yi, vi, "DL"),
       leave1out_DL = lapply(seq_along(tied$yi), function(i) exact_fit(tied$yi[-i], vi[-i], "DL")))
})

# -- study weights ---------------------------------------------------------------------------------------------
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
genq <- rma(yi, vi, weights = ni, data = molloy, method = "GENQ")
genq_default <- rma(yi, vi, weights = 1 / sqrt(vi), data = molloy, method = "GENQ")
out$univariate_weights <- list(yi = c(molloy$yi), vi = c(molloy$vi), ni = molloy$ni,
                               genq_ni = unname(weights(genq)), genq_default = unname(weights(genq_default)),
                               reml = unname(weights(rma(yi, vi, data = molloy))))
three_level <- function(name, dat, rho) {
  V <- if (rho == 0) diag(dat$vi) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  res <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat)
  rowsum_weights <- weights(res, type = "rowsum")
  by_study <- tapply(rowsum_weights, factor(dat$study, levels = unique(dat$study)), sum)
  list(name = name, rho = rho, yi = sprintf("%.17g", dat$yi), vi = sprintf("%.17g", dat$vi),
       study = as.character(dat$study), sigma2 = res$sigma2, study_ids = names(by_study),
       study_weights = unname(c(by_study)))
}
konst <- dat.konstantopoulos2011
konst$study <- konst$district
konst$es <- konst$school
assink <- dat.assink2016
assink$es <- assink$esid
out$three_level_weights <- list(three_level("konstantopoulos2011", konst, 0),
                                three_level("assink2016_rho0.5", assink, 0.5))

write_reference(out, "fit_control.json", na = "null", pretty = TRUE)
