# Reference values for alliance_meta.analyses.sensitivity.multilevel: leave-one-study-out and
# cumulative three-level fits, Cook's distance and DFBETAS by study, with metafor's rma.mv.
# metafor has no leave1out or cumul for rma.mv, so both are loops refitting
# rma.mv(..., subset = ...) with the study (cluster) as the unit; cooks.distance.rma.mv and
# dfbetas.rma.mv with cluster = study are metafor's own.
# Run from the repository root (Rscript tests/reference/multilevel_sensitivity.R) or from
# tests/reference (Rscript multilevel_sensitivity.R, make reference): writes
# multilevel_sensitivity.json next to the script.
#
# Two-study cases (*_k2): each deletion leaves one study, which rma.mv fits with the single-level
# study factor's sigma2 fixed to 0, or, when that study has one effect size, not at all
# ("Processing terminated since k <= 1."): fitted = FALSE, and cooks.distance / dfbetas give NA.
#
# Polished optima. rma.mv's optimiser (optim's BFGS, even at reltol 1e-15) stops about 1e-7
# (relative) short of the maximum in sigma2: optim differentiates by central differences with step
# ndeps = 1e-3 in log sigma2, and the truncation error of that gradient moves the point where it
# vanishes (with ndeps = 1e-4 the offset is 100 times smaller). There the gradient of metafor's own
# log-likelihood is ~1e-5 and the log-likelihood within 1e-13 of the maximum; the estimates are
# up to 6e-8 apart (relative), which Cook's distance (the squared difference of two estimates 3e-4
# apart: assink_reml, study 2, 2.8e-6) and CI bounds near 0 (b - 1.96 se) magnify past 1e-6. So, as
# multilevel.R does for one free sigma2, each fit is polished to the root of the gradient of
# metafor's own log-likelihood, logLik(rma.mv(..., sigma2 = s)) (Newton steps in log sigma2, central
# differences with step 1e-4; a sigma2 below 1e-8 goes to 0 where the log-likelihood is no lower
# there), and its figures are rma.mv's at the polished sigma2 (sigma2_metafor: the free fit's
# estimate). Cook's distance and DFBETAS are metafor's formulas (.cooks.distance.rma.mv,
# .dfbetas.rma.mv) on the polished full and deletion fits; cook_metafor and dfbetas_metafor are
# cooks.distance and dfbetas themselves.
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

# The same optimiser settings as multilevel.R (optim BFGS to a relative tolerance of 1e-15).
fit_control <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)

i2_total <- function(res, V) {
  W <- solve(V)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  typical <- (res$k - res$p) / sum(diag(P))
  100 * sum(res$sigma2) / (sum(res$sigma2) + typical)
}

at_sigma2 <- function(dat, V, sub, method, sigma2) {
  rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = method, subset = sub, sigma2 = sigma2)
}

# rma.mv at the root of the gradient of its own log-likelihood, from the free fit `res` (see the top)
polish <- function(res, dat, V, sub, method) {
  loglik <- function(sigma2) as.numeric(logLik(at_sigma2(dat, V, sub, method, sigma2)))
  sigma2 <- res$sigma2
  boundary <- !res$vc.fix$sigma2 & sigma2 < 1e-8
  if (any(boundary) && loglik(replace(sigma2, boundary, 0)) >= loglik(sigma2)) sigma2[boundary] <- 0
  free <- which(!res$vc.fix$sigma2 & sigma2 >= 1e-8)
  if (length(free)) {
    at_log <- function(u) loglik(replace(sigma2, free, exp(u)))
    gradient <- function(u, h = 1e-4) sapply(seq_along(u), function(j) {
      e <- replace(0 * u, j, h)
      (at_log(u + e) - at_log(u - e)) / (2 * h)
    })
    u <- log(sigma2[free])
    hessian <- sapply(seq_along(u), function(j) {
      e <- replace(0 * u, j, 1e-3)
      (gradient(u + e) - gradient(u - e)) / 2e-3
    })
    for (i in 1:5) {
      step <- solve(hessian, gradient(u))
      u <- u - step
      if (max(abs(step)) < 1e-9) break
    }
    sigma2[free] <- exp(u)
  }
  polished <- at_sigma2(dat, V, sub, method, sigma2)
  stopifnot(logLik(polished) >= logLik(res) - 1e-12)
  polished
}

fit_subset <- function(dat, V, sub, method) {
  free <- tryCatch(suppressWarnings(rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = method,
                                           subset = sub, control = fit_control)),
                   error = function(e) NULL)
  if (is.null(free)) return(list(fitted = FALSE, k = sum(sub)))
  res <- polish(free, dat, V, sub, method)
  list(fitted = TRUE, k = res$k, estimate = as.vector(res$beta), se = res$se, ci_lower = res$ci.lb,
       ci_upper = res$ci.ub, p = res$pval, sigma2 = res$sigma2, sigma2_metafor = free$sigma2,
       tau2 = sum(res$sigma2), i2 = i2_total(res, V[sub, sub, drop = FALSE]), qe = res$QE, qe_p = res$QEp,
       model = res)
}

run_case <- function(name, dat, method, rho = 0) {
  V <- if (rho == 0) diag(dat$vi) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  res <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = method, control = fit_control)
  all <- rep(TRUE, nrow(dat))
  full <- polish(res, dat, V, all, method)
  ids <- unique(dat$study)
  leave_one_out <- lapply(ids, function(s) c(list(study = s), fit_subset(dat, V, dat$study != s, method)))
  cook_metafor <- cooks.distance(res, cluster = dat$study)
  dfb_metafor <- dfbetas(res, cluster = dat$study)
  # metafor's formulas on the polished fits: Cook's D with the full fit's vb, DFBETAS with the vb of
  # the full data at the deletion's sigma2
  cook <- sapply(leave_one_out, function(row) {
    if (!row$fitted) NA else as.numeric((full$beta - row$model$beta)^2 / full$vb)
  })
  dfb <- sapply(leave_one_out, function(row) {
    if (!row$fitted) NA else
      as.numeric((full$beta - row$model$beta) / sqrt(at_sigma2(dat, V, all, method, row$model$sigma2)$vb))
  })
  drop_model <- function(rows) lapply(rows, function(row) row[names(row) != "model"])
  # cumulative: studies by their earliest year, ties in order of first appearance
  study_year <- tapply(dat$year, factor(dat$study, levels = ids), min)
  ordered <- ids[order(study_year)]
  cumulative <- lapply(seq_along(ordered), function(j) {
    c(list(study = ordered[j]), fit_subset(dat, V, dat$study %in% ordered[1:j], method))
  })
  list(name = name, method = method, rho = rho,
       data = list(yi = dat$yi, vi = dat$vi, study = dat$study, year = dat$year),
       full = list(estimate = as.vector(full$beta), se = full$se, sigma2 = full$sigma2, sigma2_metafor = res$sigma2),
       leave_one_out = drop_model(leave_one_out), cook = cook, dfbetas = dfb,
       cook_metafor = unname(as.vector(cook_metafor)), dfbetas_metafor = unname(as.vector(dfb_metafor[, 1])),
       cumulative = drop_model(cumulative))
}

assink <- dat.assink2016
assink <- data.frame(study = assink$study, es = assink$esid, yi = assink$yi, vi = assink$vi,
                     year = assink$year)

konst <- dat.konstantopoulos2011
konst <- data.frame(study = konst$district, es = konst$school, yi = konst$yi, vi = konst$vi,
                    year = konst$year)

cases <- list(
  run_case("konstantopoulos_reml", konst, "REML"),
  run_case("konstantopoulos_ml", konst, "ML"),
  run_case("assink_reml", assink, "REML"),
  run_case("assink_che_reml", assink, "REML", rho = 0.6),
  # two studies: districts 11 and 12 (4 schools each); assink studies 1 (6 effect sizes) and
  # 4 (one, and the earlier year: the first cumulative step is not fitted); studies 1 and 3, CHE
  run_case("konstantopoulos_k2_reml", konst[konst$study %in% c(11, 12), ], "REML"),
  run_case("konstantopoulos_k2_ml", konst[konst$study %in% c(11, 12), ], "ML"),
  run_case("assink_k2_reml", assink[assink$study %in% c(1, 4), ], "REML"),
  run_case("assink_k2_che_reml", assink[assink$study %in% c(1, 3), ], "REML", rho = 0.6)
)

meta <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string)
write_reference(list(meta = meta, cases = cases), "multilevel_sensitivity.json", pretty = FALSE)
