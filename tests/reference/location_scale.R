# Reference values for alliance_meta.models.location_scale: metafor's location-scale models
# rma(yi, vi, mods = ~ x, scale = ~ z, method = "REML" / "ML") (log link) on metadat's
# dat.bangertdrowns2004, dat.bcg, dat.molloy2014 and dat.konstantopoulos2011 (and twenty typed-in
# studies with an uncentred publication year as scale moderator): coefficients of
# both parts, fit statistics, Q_M / Q_S / Q_E, the LRT against scale = ~ 1 (anova), and tau^2
# per level of the scale moderators (predict(newscale = ..., transf = exp), with an accurate
# numerical Hessian, see derivatives()), and each fit polished to the maximum of metafor's own
# likelihood (see polish()).
# Run from the repository root (Rscript tests/reference/location_scale.R) or from tests/reference
# (Rscript location_scale.R, make reference): writes location_scale.json next to the script.
suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

bd <- dat.bangertdrowns2004
bd$ni100 <- bd$ni / 100
bd$gr <- as.character(bd$grade)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
konst <- dat.konstantopoulos2011
konst$size <- ifelse(konst$district %in% c(58, 86), "big", "other")
konst$yr <- konst$year - 1990
# twenty studies published 2015-2020 (typed in, simulated): publication year uncentred in the scale
# part, far from 0 relative to its spread (alliance_meta standardises it while it maximises, as
# metafor's scaleZ; on the raw year its Newton-Raphson stalled and reported non-convergence)
recent <- data.frame(
  yi = c(-0.02, 0.184, 0.456, 0.393, 0.274, 0.478, -0.699, 0.549, 0.019, -0.092, 0.304, 0.455, 0.131,
         -0.013, 0.257, 0.238, 0.686, 0.496, 0.284, 0.519),
  vi = c(0.0256, 0.0307, 0.0272, 0.0335, 0.0395, 0.0483, 0.0214, 0.0359, 0.0378, 0.0217, 0.0101, 0.0489,
         0.0219, 0.0226, 0.0457, 0.0334, 0.0289, 0.0409, 0.0112, 0.0383),
  year = c(2019, 2015, 2016, 2016, 2016, 2019, 2020, 2018, 2015, 2015, 2016, 2017, 2018, 2017, 2016, 2015,
           2019, 2019, 2015, 2015))

data_sets <- list(bd = bd, bcg = bcg, molloy = molloy, konst = konst, recent = recent)
columns <- list(bd = c("ni100", "meta", "gr"), bcg = c("ablat", "alloc"), molloy = c("a_measure", "meanage"),
                konst = c("size", "yr"), recent = "year")
continuous <- c("ni100", "meta", "ablat", "meanage", "yr", "year")

# name, data, location formula, scale formula (the same text is our formula)
cases <- list(
  list(name = "bd_ni100", data = "bd", mods = ~ ni100, scale = ~ ni100),
  list(name = "bd_ni100_meta", data = "bd", mods = ~ ni100 + meta, scale = ~ ni100 + meta),
  list(name = "bd_meta_by_ni100", data = "bd", mods = ~ meta, scale = ~ ni100),
  list(name = "bd_ni100_by_ni100_gr", data = "bd", mods = ~ ni100, scale = ~ ni100 + gr),
  list(name = "bd_gr", data = "bd", mods = ~ gr, scale = ~ gr),
  list(name = "bcg_alloc", data = "bcg", mods = ~ alloc, scale = ~ alloc),
  list(name = "bcg_ablat_by_alloc", data = "bcg", mods = ~ ablat, scale = ~ alloc),
  list(name = "molloy_ameasure", data = "molloy", mods = ~ a_measure, scale = ~ a_measure),
  list(name = "molloy_ameasure_by_ameasure_meanage", data = "molloy", mods = ~ a_measure,
       scale = ~ a_measure + meanage),
  list(name = "konst_size", data = "konst", mods = ~ 1, scale = ~ size),
  list(name = "konst_yr", data = "konst", mods = ~ yr, scale = ~ yr),
  list(name = "recent_1_by_year", data = "recent", mods = ~ 1, scale = ~ year)
)

formula_text <- function(f) paste(deparse(f[[2]]), collapse = "")

stats_of <- function(fit, method) setNames(as.list(fit$fit.stats[[method]]), rownames(fit$fit.stats))

coefs <- function(fit) {
  list(beta = c(fit$beta), se = fit$se, zval = fit$zval, pval = fit$pval, ci_lb = fit$ci.lb, ci_ub = fit$ci.ub,
       alpha = c(fit$alpha), se_alpha = fit$se.alpha, zval_alpha = fit$zval.alpha, pval_alpha = fit$pval.alpha,
       ci_lb_alpha = fit$ci.lb.alpha, ci_ub_alpha = fit$ci.ub.alpha)
}

# tau^2 at each level of each categorical scale variable, continuous ones at mean - SD, mean, mean + SD;
# the other scale variables averaged over the rows (the marginal log tau^2), as predict(newscale =).
tau2_levels <- function(fit, dat, scale) {
  variables <- all.vars(scale)
  Zf <- model.matrix(scale, data = dat)
  out <- list()
  for (v in variables) {
    values <- if (v %in% continuous) {
      m <- mean(dat[[v]]); s <- sd(dat[[v]]); c(m - s, m, m + s)
    } else sort(unique(dat[[v]]))
    rows <- t(sapply(values, function(value) {
      d2 <- dat; d2[[v]] <- if (v %in% continuous) value else factor(value, levels = sort(unique(dat[[v]])))
      for (o in setdiff(variables, v)) if (!(o %in% continuous)) d2[[o]] <- factor(d2[[o]], levels = sort(unique(dat[[o]])))
      colMeans(model.matrix(scale, data = d2))
    }))
    rows <- matrix(rows, nrow = length(values))
    pred <- predict(fit, newscale = rows[, -1, drop = FALSE], transf = exp)
    lin <- predict(fit, newscale = rows[, -1, drop = FALSE])
    out[[length(out) + 1]] <- list(variable = v, level = if (v %in% continuous) values else as.character(values),
                                   tau2 = pred$pred, ci_lb = pred$ci.lb, ci_ub = pred$ci.ub,
                                   log_tau2 = lin$pred, log_tau2_se = lin$se)
  }
  out
}

out <- list(data = lapply(names(data_sets), function(name) {
  dat <- data_sets[[name]]
  c(list(yi = c(dat$yi), vi = c(dat$vi)), lapply(dat[columns[[name]]], function(x) x))
}))
names(out$data) <- names(data_sets)
out$continuous <- continuous

# metafor's profiled log-likelihood (metafor:::.ll.rma.ls, the function its optimiser minimises).
objective_of <- function(fit, method) function(a) metafor:::.ll.rma.ls(
  a, yi = fit$yi, vi = fit$vi, X = fit$X, Z = fit$Z, reml = method == "REML", k = fit$k, pX = fit$p,
  alpha.val = rep(NA, fit$q), beta.val = rep(NA, fit$p), verbose = FALSE, digits = fit$digits, REMLf = TRUE,
  link = "log", mZ = NULL, alpha.min = rep(-Inf, fit$q), alpha.max = rep(Inf, fit$q), alpha.transf = FALSE,
  tau2.min = 0, tau2.max = Inf, optbeta = FALSE)

# metafor's rescaling of the scale coefficients (rma.uni with scaleZ = TRUE): alpha = mZ b, with the
# non-dummy columns of Z standardised; the identity for an intercept-only or intercept-free Z.
scaling <- function(fit) {
  Z <- fit$Z; q <- ncol(Z)
  if (q == 1 || !all(Z[, 1] == 1)) return(diag(q))
  is_dummy <- apply(Z, 2, metafor:::.is.dummy)
  means <- colMeans(Z[, 2:q, drop = FALSE]); sds <- apply(Z[, 2:q, drop = FALSE], 2, sd)
  rbind(c(1, -ifelse(is_dummy[-1], 0, means / sds)),
        cbind(0, diag(ifelse(is_dummy[-1], 1, 1 / sds), nrow = q - 1, ncol = q - 1)))
}

# Gradient and inverse Hessian of the objective at alpha, by numDeriv in metafor's rescaled
# coordinates, shifted so that every coordinate is 1 at alpha: numDeriv's steps (d |x|, halved
# r - 1 times) are then the same absolute 0.1 ... 0.1 / 32 for every coefficient. metafor's own
# Hessian (numDeriv at the estimate itself, r = 8) shrinks its steps with |alpha_j| and can lose
# digits to rounding when a coefficient is near 0 (see the README).
derivatives <- function(objective, a, fit) {
  mZ <- scaling(fit)
  b <- solve(mZ, a)
  shifted <- function(u) objective(c(mZ %*% (b + u - 1)))
  one <- rep(1, length(a))
  hessian <- numDeriv::hessian(shifted, one, method.args = list(d = 0.1, r = 6))
  list(gradient = c(solve(t(mZ), numDeriv::grad(shifted, one, method.args = list(d = 1e-3, r = 6)))),
       va = mZ %*% solve(hessian) %*% t(mZ))
}

# metafor stops nlminb at its relative tolerance (1e-10), a little short of the maximum; a tighter
# rel.tol ends in "false convergence". So each fit is also polished: Newton-Raphson on metafor's
# objective with the numerical derivatives above, from metafor's estimate, until the step is below
# 1e-10 (but see `stalled`); beta, its SEs and the log-likelihood then come from
# rma(..., alpha = polished) (alpha fixed). Not done (NULL) when the maximum is at the boundary (a tau^2 -> 0, alpha -> -Inf).
polish <- function(fit, mods, scale, dat, method) {
  objective <- objective_of(fit, method)
  a <- c(fit$alpha)
  for (i in 1:20) {
    d <- derivatives(objective, a, fit)
    step <- c(d$va %*% d$gradient)  # Newton: alpha - H^-1 g, with va = H^-1 of the minimised objective
    a <- a - step
    if (max(abs(step)) < 1e-10) break
  }
  # an uncentred year: metafor's objective, evaluated at alpha, rounds at ~1e-12 (its intercept is
  # in the thousands), so the steps stall at ~1e-7 in metafor's rescaled coordinates; accepted there
  stalled <- max(abs(solve(scaling(fit), step))) < 1e-6 && max(abs(a)) > 1e3
  if ((max(abs(step)) >= 1e-10 && !stalled) || any(exp(c(fit$Z %*% a)) < 1e-8 * min(fit$vi))) return(NULL)
  va <- derivatives(objective, a, fit)$va
  fixed <- rma(yi, vi, mods = mods, scale = scale, data = dat, method = method, alpha = a)
  list(alpha = a, se_alpha = sqrt(diag(va)), beta = c(fixed$beta), se = fixed$se, ll = c(logLik(fixed)),
       objective_metafor = objective(c(fit$alpha)), objective_polished = objective(a), iterations = i)
}

out$cases <- list()
for (case in cases) {
  dat <- data_sets[[case$data]]
  variables <- unique(c(all.vars(case$mods), all.vars(case$scale)))
  dat <- dat[complete.cases(dat[c("yi", "vi", variables)]), ]
  for (method in c("REML", "ML")) {
    fit <- rma(yi, vi, mods = case$mods, scale = case$scale, data = dat, method = method)
    accurate <- fit
    accurate$va <- derivatives(objective_of(fit, method), c(fit$alpha), fit)$va
    reduced <- rma(yi, vi, mods = case$mods, scale = ~ 1, data = dat, method = method)
    lrt <- anova(fit, reduced)
    # the model with one tau^2 by rma.uni's Fisher scoring run to convergence (its exact maximum)
    constant <- rma(yi, vi, mods = case$mods, data = dat, method = method,
                    control = list(threshold = 1e-12, maxiter = 1000))
    entry <- c(coefs(fit), list(
      name = case$name, data = case$data, method = method, k = fit$k,
      rows = as.integer(rownames(dat)),
      location = if (identical(case$mods, ~ 1)) "1" else formula_text(case$mods), scale = formula_text(case$scale),
      location_columns = rownames(fit$beta), scale_columns = rownames(fit$alpha),
      reference_levels = lapply(dat[variables][!(variables %in% continuous)], function(x) sort(unique(x))[1]),
      fit_stats = stats_of(fit, method), qm = fit$QM, qm_p = fit$QMp, qs = fit$QS, qs_p = fit$QSp,
      qe = fit$QE, qe_p = fit$QEp, tau2 = fit$tau2,
      polished = polish(fit, case$mods, case$scale, dat, method),
      reduced_loglik = c(logLik(reduced)), reduced_tau2 = reduced$tau2[1],
      constant_tau2 = constant$tau2, constant_loglik = c(logLik(constant)),
      lrt = lrt$LRT, lrt_p = lrt$pval, lrt_df = lrt$parms.f - lrt$parms.r,
      se_alpha_accurate = sqrt(diag(accurate$va)),
      tau2_levels = tau2_levels(accurate, dat, case$scale)
    ))
    out$cases[[length(out$cases) + 1]] <- entry
  }
}

write_reference(out, "location_scale.json", null = "null", na = "null", pretty = FALSE)
