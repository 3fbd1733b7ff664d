# Reference values for a selection model whose weight function goes to its bound: metafor 3.8's
# selmodel() on 8 correlations (Fisher z; vi = 1 / (n - 3)), beta and power, and the log likelihood
# at metafor's optimum and at ours re-evaluated with an accurate integral. The weight then piles up
# at the clamped p-value 1e-5 (beta: delta = (~0, 100); power: delta = 100), A_i is small (down to
# 3e-12), and integrate() accepts an absolute error of abs.tol, which is rel.tol by default (metafor
# passes rel.tol only: 1.2e-4): QUADPACK stops at its first estimate, up to 14% low. metafor's
# reported log likelihood is then too high by 0.11 (beta) and 0.09 (power), and its optimiser climbs
# towards where the error is largest. A tighter rel.tol does not help: selection_models.R's tight
# control (rel.tol 1e-10, so abs.tol 1e-10 too) takes the beta model further, to a reported 15.947
# whose accurate value is 15.792 (`tight`; the power model's optim does not converge then).
# `accurate`: A_i = integrate() with abs.tol = 0 and rel.tol 1e-12 over the pieces between the kinks
# of the clamped weight (z = +-qnorm(1e-5)) and mu + (-10, -5, 0, 5, 10) sd (the same to 1e-12 as
# mpmath's tanh-sinh quadrature at 30 digits).
# Run from the repository root (Rscript tests/reference/selection_models_bound.R) or from
# tests/reference: writes selection_models_bound.json next to the script. A few minutes.
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

r <- c(.31, .22, .45, .12, .28, .19, .38, .25)
n <- c(64, 120, 38, 210, 85, 150, 47, 99)
yi <- atanh(r)
vi <- 1 / (n - 3)
pval_min <- 1e-5  # metafor's pval.min for beta and power

weight <- function(type, p, delta) {
  p <- pmin(pmax(p, pval_min), 1 - pval_min)
  if (type == "beta") p^(delta[1] - 1) * (1 - p)^(delta[2] - 1) else (1 - p)^delta[1]
}
integrand <- function(y, v, mu, tau2, type, delta) {
  weight(type, pnorm(y / sqrt(v), lower.tail = FALSE), delta) * dnorm(y, mu, sqrt(v + tau2))
}
a_default <- function(v, mu, tau2, type, delta) {  # as metafor's .selmodel.ll.cont
  integrate(integrand, -Inf, Inf, v = v, mu = mu, tau2 = tau2, type = type, delta = delta,
            rel.tol = .Machine$double.eps^0.25)$value
}
a_accurate <- function(v, mu, tau2, type, delta) {
  sd <- sqrt(v + tau2)
  breaks <- c(-Inf, sort(unique(c(c(-1, 1) * qnorm(pval_min, lower.tail = FALSE) * sqrt(v),
                                  mu + sd * c(-10, -5, 0, 5, 10)))), Inf)
  sum(sapply(seq_len(length(breaks) - 1), function(j) {
    integrate(integrand, breaks[j], breaks[j + 1], v = v, mu = mu, tau2 = tau2, type = type, delta = delta,
              rel.tol = 1e-12, abs.tol = 0, subdivisions = 1000L)$value
  }))
}
loglik <- function(type, par, area) {
  mu <- par[1]; tau2 <- par[2]; delta <- par[-(1:2)]
  a <- sapply(vi, area, mu = mu, tau2 = tau2, type = type, delta = delta)
  list(ll = sum(log(weight(type, pnorm(yi / sqrt(vi), lower.tail = FALSE), delta)) +
                dnorm(yi, mu, sqrt(vi + tau2), log = TRUE) - log(a)), a = a)
}

# our optimum (alliance-meta, rounded to 10 digits): tau^2 = 0 and delta on its bounds
ours <- list(beta = c(-0.3682498978, 0, 1e-5, 100), power = c(-0.08176863686, 0, 100))
fit <- rma(yi, vi)
tight <- list(reltol = 1e-12, maxit = 1000, intCtrl = list(rel.tol = 1e-10))  # as selection_models.R
models <- lapply(c(beta = "beta", power = "power"), function(type) {
  res <- suppressWarnings(selmodel(fit, type = type))
  at_metafor <- c(res$beta, res$tau2, res$delta)
  res_tight <- tryCatch(suppressWarnings(selmodel(fit, type = type, control = tight)),
                        error = function(e) conditionMessage(e))
  tight_run <- if (is.character(res_tight)) list(error = res_tight) else {
    par <- c(res_tight$beta, res_tight$tau2, res_tight$delta)
    list(par = par, ll = res_tight$ll, ll_accurate = loglik(type, par, a_accurate)$ll)
  }
  list(metafor = list(estimate = c(res$beta), tau2 = res$tau2, delta = res$delta, ll = res$ll),
       tight = tight_run,
       at_metafor = list(par = at_metafor, ll_default = loglik(type, at_metafor, a_default)$ll,
                         ll_accurate = loglik(type, at_metafor, a_accurate)$ll,
                         a_default = loglik(type, at_metafor, a_default)$a,
                         a_accurate = loglik(type, at_metafor, a_accurate)$a),
       at_ours = list(par = ours[[type]], ll_default = loglik(type, ours[[type]], a_default)$ll,
                      ll_accurate = loglik(type, ours[[type]], a_accurate)$ll))
})

meta <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string)
write_reference(list(meta = meta, yi = yi, vi = vi, models = models), "selection_models_bound.json", pretty = TRUE)
