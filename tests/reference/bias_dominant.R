# Reference values for the publication-bias tests beside one sampling variance far smaller than the others
# (vi = 1e-300 or 1e-20 beside 0.02-0.1; alliance_meta.analyses.bias: rank.py, regression.py, selection_models.py).
# Constructed data (no published data has these extremes): 8 invented (SIMULATED) effects with vi 0.02-0.1 and a
# ninth, y = 0.1 (`low`) or 0.45 (`high`), with vi = 1e-300 (`v300`) or 1e-20 (`v20`); `tied`: the first two
# studies (y 0.1 and 0.42) share vi = 1e-300; `near_tied`: theirs are 1e-300 and 4e-300.
#
# Most of metafor's own figures (`metafor`) are rounding noise there, as its Q and tr(P) (fit_control.R's
# mixed_variances): ranktest's deviate of the heavy study is theta's rounding error over sqrt(vi - vb), itself
# 0, negative or noise, so Kendall's tau depends on it; selmodel's LRT is 2e266 (0 at vi = 1e-20 and y = 0.45),
# the ML fit's likelihood having that study's (y - mu)^2 / 1e-300 with mu's rounding error; regtest(model = "rma")
# gives z = 1.3e133 (REML, ML at vi = 1e-300). regtest(model = "lm") keeps its digits (R's lm: QR of the
# weighted design), as does regtest with SJ (`egger_sj`), whose weights 1/(vi + tau^2) do not dominate. The
# reference (`exact`) is the same statistics summed without cancellation, as fit_control.R does: effects (and the
# predictor) centred on the heaviest study's, and S - w of that study the sum of the other weights:
# - rank: deviates (y_i - theta) / sqrt(v_i - 1/S) = r_i sqrt(w_i) / sqrt((S - w_i) / S), r the residuals of the
#   centred effects; Kendall's tau and p by cor.test (exact without ties), as ranktest.
# - egger_lm: lm(yi ~ sqrt(vi), weights = 1/vi) as the closed-form 2 x 2 solution of the centred normal
#   equations, each term divided by S (no sum of w_d y or w_d x: the centred heavy row is (1, 0) with y 0).
# - selection: the step-function model at one-sided p = 0.025 (bias.selection_steps' default). At its maximum
#   mu is the heavy study's effect (within sqrt(vi) = 1e-150, resp. 1e-19 below half an ulp of it) and
#   tau^2 = 0 (d logL / d tau^2 = -1 / (2 vi) there): its log likelihood is maximised over delta_2 alone
#   (optimize, tolerance 1e-12) in closed form; the unadjusted model's is the ML fit's, -1/2 (sum log(2 pi vi)
#   + Q) with Q over positive terms, its tau^2 the maximiser of that exact likelihood (0 here, as metafor's).
# - spread: 10 invented (SIMULATED) effects with vi from 0.1 down to 1e-12 (weights spread 1e11, more than 2^26, but
#   no study, nor a few, holding all but 2^-26 of the weight): metafor's regtest keeps its digits there, under
#   every estimator (`egger`, control threshold 1e-13 as bias_estimators.R) and in `egger_lm`, and so must ours.
# - fsn: metafor's fsn (Rosenthal: finite, 3.7e297 at vi = 1e-300; Rosenberg: Inf there, its (sum w y)^2
#   overflowing) and Rosenberg's number as k (S (ybar / z)^2 - 1), the same algebra without the overflow
#   (`exact`); hc's error message (metafor's Henmi-Copas interval fails beside the dominant variance).
# - tied, near_tied (`egger`): regtest under REML is rounding noise (z 6.2e133 and 2.4e148, tau^2 0, where with
#   tau^2 ~ 0.03 it is about 0.5): two weights hold all but 2^-26 of the sum and the iteration for tau^2 ends at 0;
#   under EB (control threshold 1e-13), whose scoring starts away from 0, the weights 1/(vi + tau^2) do not
#   dominate and regtest keeps its digits.
# Run from the repository root (Rscript tests/reference/bias_dominant.R) or from tests/reference: writes
# bias_dominant.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

others_y <- c(0.42, 0.18, 0.55, 0.31, 0.05, 0.61, 0.27, 0.39)
others_v <- c(0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1)
heavy <- function(w) which.max(w)
rest_of <- function(w) {  # S - w_i, that of the heaviest study the sum of the others
  rest <- sum(w) - w
  rest[heavy(w)] <- sum(w[-heavy(w)])
  rest
}
exact_q <- function(yi, w) {  # sum_{i<j} w_i w_j (y_i - y_j)^2 / S: positive terms only
  pairs <- outer(w / sum(w), w) * outer(yi, yi, "-")^2
  sum(pairs[upper.tri(pairs)])
}

exact_rank <- function(yi, vi) {
  w <- 1 / vi
  centred <- yi - yi[heavy(w)]
  residual <- centred - sum(w * centred) / sum(w)
  deviates <- residual * sqrt(w) / sqrt(rest_of(w) / sum(w))
  test <- suppressWarnings(cor.test(deviates, vi, method = "kendall", exact = NULL))
  list(deviates = deviates, tau = unname(test$estimate), pval = test$p.value)
}

exact_lm <- function(yi, vi, predictor) {
  w <- 1 / vi
  d <- heavy(w)
  S <- sum(w)
  x <- predictor - predictor[d]
  y <- yi - yi[d]
  cs <- sum(w * x) / S  # c / S, e, f, g / S of the centred normal equations [[S, c], [c, e]] (a, b) = (g, f)
  e <- sum(w * x^2)
  f <- sum(w * x * y)
  gs <- sum(w * y) / S
  reduced <- e - cs * cs * S  # det / S
  slope <- (f - cs * S * gs) / reduced
  intercept_centred <- gs - cs * slope
  residual <- y - intercept_centred - slope * x
  k <- length(yi)
  dispersion <- sum(w * residual^2) / (k - 2)
  var_slope <- dispersion / reduced
  # (X'WX)^-1 = [[e, -c], [-c, S]] / det of the centred design; intercept = a' - b x_d + y_d
  var_intercept <- dispersion * (e / S + predictor[d]^2 + 2 * predictor[d] * cs) / reduced
  t <- slope / sqrt(var_slope)
  list(statistic = t, pval = 2 * pt(-abs(t), k - 2), estimate = yi[d] + intercept_centred - slope * predictor[d],
       se = sqrt(var_intercept), df = k - 2)
}

exact_rosenberg <- function(yi, vi, alpha = 0.05) {  # fsn's k ((sum w y / z)^2 - S) / S as k (S (ybar / z)^2 - 1)
  w <- 1 / vi
  length(yi) * (sum(w) * (sum(w * yi) / sum(w) / qnorm(alpha / 2))^2 - 1)
}

exact_selection <- function(yi, vi, step = 0.025) {
  k <- length(yi)
  w <- 1 / vi
  d <- heavy(w)
  ml_loglik <- function(tau2) {
    v <- vi + tau2
    -0.5 * sum(log(2 * pi * v)) - 0.5 * exact_q(yi, 1 / v)
  }
  best <- optimize(ml_loglik, c(0, 10), maximum = TRUE, tol = 1e-12)
  tau2_ml <- if (ml_loglik(0) > best$objective) 0 else best$maximum
  unadjusted <- ml_loglik(tau2_ml)
  mu <- yi[d]
  sei <- sqrt(vi)
  significant <- pnorm(yi / sei, lower.tail = FALSE) <= step  # one-sided p-values in (0, step]
  below <- pnorm((qnorm(step, lower.tail = FALSE) * sei - mu) / sei, lower.tail = FALSE)  # P(p <= step)
  loglik <- function(delta2) {
    sum(ifelse(significant, 0, log(delta2))) + sum(dnorm(yi, mu, sei, log = TRUE)) -
      sum(log(below + delta2 * (1 - below)))
  }
  fit <- optimize(loglik, c(0, 100), maximum = TRUE, tol = 1e-12)
  lrt <- 2 * (fit$objective - unadjusted)
  list(estimate = mu, tau2 = 0, delta2 = fit$maximum, loglik = fit$objective, tau2_ml = tau2_ml,
       loglik_unadjusted = unadjusted, lrt = lrt, pval = pchisq(lrt, 1, lower.tail = FALSE))
}

metafor_values <- function(yi, vi, selection) {
  rank <- ranktest(yi, vi)
  lm_egger <- regtest(yi, vi, model = "lm")
  sj <- regtest(rma(yi, vi, method = "SJ"))  # SJ's weights 1/(vi + tau^2) do not dominate: metafor's sums keep
  out <- list(rank_tau = unname(rank$tau), rank_pval = rank$pval, egger_lm_statistic = lm_egger$zval,
              egger_sj = list(statistic = sj$zval, pval = sj$pval, tau2 = sj$fit$tau2),
              fsn_rosenthal = fsn(yi, vi)$fsnum, fsn_rosenberg = fsn(yi, vi, type = "Rosenberg")$fsnum,
              hc_error = tryCatch({hc(rma(yi, vi, method = "DL")); NULL}, error = function(e) conditionMessage(e)))
  if (selection) {
    s <- suppressWarnings(selmodel(rma(yi, vi, method = "ML"), type = "stepfun", steps = c(0.025, 1)))
    out$selection_lrt <- s$LRT
  }
  out
}

cases <- list()
effects <- c(low = 0.1, high = 0.45)
variances <- c(v300 = 1e-300, v20 = 1e-20)
for (effect in names(effects)) for (tiny in names(variances)) {
  name <- paste(effect, tiny, sep = "_")
  yi <- c(effects[[effect]], others_y)
  vi <- c(variances[[tiny]], others_v)
  cases[[name]] <- list(yi = sprintf("%.17g", yi), vi = sprintf("%.17g", vi), metafor = metafor_values(yi, vi, TRUE),
                        exact = list(rank = exact_rank(yi, vi), egger_lm = exact_lm(yi, vi, sqrt(vi)),
                                     selection = exact_selection(yi, vi), fsn_rosenberg = exact_rosenberg(yi, vi)))
}
tied_y <- c(0.1, 0.42, 0.18, 0.55, 0.31, 0.05, 0.61, 0.27, 0.39)
tied_v <- c(1e-300, 1e-300, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1)
tied_egger <- function(yi, vi) {
  reml <- suppressWarnings(regtest(rma(yi, vi, method = "REML")))
  eb <- suppressWarnings(regtest(rma(yi, vi, method = "EB", control = list(threshold = 1e-13, maxiter = 1000))))
  list(reml = list(statistic = reml$zval, tau2 = reml$fit$tau2),
       eb = list(statistic = eb$zval, pval = eb$pval, tau2 = eb$fit$tau2))
}
for (name in c("tied", "near_tied")) {
  tied_v[2] <- if (name == "tied") 1e-300 else 4e-300
  metafor <- metafor_values(tied_y, tied_v, FALSE)
  metafor$egger <- tied_egger(tied_y, tied_v)
  cases[[name]] <- list(yi = sprintf("%.17g", tied_y), vi = sprintf("%.17g", tied_v), metafor = metafor,
                        exact = list(rank = exact_rank(tied_y, tied_v), egger_lm = exact_lm(tied_y, tied_v, sqrt(tied_v))))
}

spread_y <- c(0.31, 0.12, 0.45, 0.27, 0.38, 0.22, 0.29, 0.33, 0.19, 0.41)
spread_v <- 0.1 * 10^-c(0, 0.8, 2.1, 3.3, 4.5, 5.2, 6.9, 8.4, 9.6, 11)
control <- list(threshold = 1e-13, maxiter = 1000)
egger <- list()
for (method in c("REML", "ML", "DL", "PM", "HS")) {
  fit <- regtest(rma(spread_y, spread_v, method = method, control = control))
  egger[[method]] <- list(statistic = fit$zval, pval = fit$pval, estimate = unname(fit$est),
                          ci_lower = unname(fit$ci.lb), ci_upper = unname(fit$ci.ub), tau2 = fit$fit$tau2)
}
lm_spread <- regtest(spread_y, spread_v, model = "lm")
cases$spread <- list(yi = sprintf("%.17g", spread_y), vi = sprintf("%.17g", spread_v),
                     metafor = list(egger = egger, egger_lm = list(statistic = lm_spread$zval, pval = lm_spread$pval,
                                                                   estimate = unname(lm_spread$est))))

# - one_heavy (`egger`): one study at vi = 1e-9 beside five at 0.05-0.2 (SIMULATED): its weight is 2e7 times the
#   others' sum, below 2^26, and the regression keeps about 28 bits; metafor's regtest is the row's number.
heavy_y <- c(0.1, 0.5, 0.3, 0.7, -0.2, 0.4)
heavy_v <- c(1e-9, 0.1, 0.1, 0.05, 0.2, 0.1)
heavy_egger <- list()
for (method in c("REML", "ML", "DL", "PM", "HS")) {
  fit <- regtest(rma(heavy_y, heavy_v, method = method, control = control))
  heavy_egger[[method]] <- list(statistic = fit$zval, pval = fit$pval, estimate = unname(fit$est),
                                ci_lower = unname(fit$ci.lb), ci_upper = unname(fit$ci.ub), tau2 = fit$fit$tau2)
}
cases$one_heavy <- list(yi = sprintf("%.17g", heavy_y), vi = sprintf("%.17g", heavy_v),
                        metafor = list(egger = heavy_egger))

write_reference(list(metafor_version = as.character(packageVersion("metafor")), cases = cases), "bias_dominant.json",
                pretty = TRUE)
