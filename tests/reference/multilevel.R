# Reference values for alliance_meta.models.multilevel and alliance_meta.engines.robust:
# metafor's rma.mv (three-level models, CHE model with vcalc) and clubSandwich's CR2
# inference on metadat data sets with many effect sizes per study; and (single_level_cases)
# one study of those data sets, where rma.mv fixes sigma2_between to 0 (a single-level factor).
# Run from the repository root (Rscript tests/reference/multilevel.R) or from tests/reference
# (Rscript multilevel.R, make reference): writes multilevel.json next to the script.
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

# The optimiser (optim BFGS; nlminb stops with convergence = 1 at a tight rel.tol) runs to a
# relative tolerance of 1e-15 and uniroot (profile CIs) to 1e-10, so the reference values are
# the optimum itself rather than where metafor's default stopping rules land (defaults:
# nlminb rel.tol 1e-10, uniroot tol eps^0.25; sigma^2 then differs by ~1e-7 relative).
fit_control <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)
profile_control <- list(tol = 1e-10)

i2_by_level <- function(res, V) {
  W <- solve(V)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  typical <- (res$k - res$p) / sum(diag(P))
  list(total = 100 * sum(res$sigma2) / (sum(res$sigma2) + typical),
       between = 100 * res$sigma2[1] / (sum(res$sigma2) + typical),
       within = 100 * res$sigma2[2] / (sum(res$sigma2) + typical),
       typical = typical)
}

profile_ci <- function(res) {
  out <- list()
  for (j in 1:2) {
    ci <- confint(res, sigma2 = j, control = profile_control)$random
    out[[j]] <- unname(ci[1, 2:3])
  }
  list(between = out[[1]], within = out[[2]])
}

robust_results <- function(res, cluster, btt) {
  vc <- vcovCR(res, cluster = cluster, type = "CR2")
  ct <- coef_test(res, vcov = vc, test = "Satterthwaite")
  out <- list(vcov = unname(as.matrix(vc)), beta = unname(ct$beta), se = unname(ct$SE),
              tstat = unname(ct$tstat), df = unname(ct$df_Satt), p = unname(ct$p_Satt))
  if (length(btt) > 0) {
    wt <- Wald_test(res, constraints = constrain_zero(btt), vcov = vc, test = "HTZ")
    out$wald <- list(btt = btt, Fstat = wt$Fstat, delta = wt$delta, df_num = wt$df_num,
                     df_denom = wt$df_denom, p = wt$p_val)
  }
  out
}

run_case <- function(name, dat, mods, method, test = "z", rho = 0, lrt = TRUE, robust = TRUE) {
  V <- if (rho == 0) diag(dat$vi) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  res <- rma.mv(yi, V, mods = mods, random = ~ 1 | study / es, data = dat, method = method,
                test = test, control = fit_control)
  X <- model.matrix(res)
  out <- list(
    name = name, method = method, test = test, rho = rho,
    data = list(yi = dat$yi, vi = dat$vi, study = dat$study, es = dat$es,
                X = unname(X), names = colnames(X)),
    k = res$k, n_studies = length(unique(dat$study)),
    beta = unname(as.vector(res$beta)), se = unname(res$se), zval = unname(res$zval),
    pval = unname(res$pval), ci_lower = unname(res$ci.lb), ci_upper = unname(res$ci.ub),
    sigma2 = unname(res$sigma2), loglik = as.numeric(logLik(res)),
    fitstats = as.list(setNames(as.vector(fitstats(res)), c("loglik", "deviance", "aic", "bic", "aicc"))),
    qe = res$QE, qe_p = res$QEp, qm = res$QM, qm_df = res$QMdf, qm_p = res$QMp,
    btt = res$btt, i2 = i2_by_level(res, V), sigma2_ci = profile_ci(res))
  if (res$p == 1) {
    pr <- predict(res)
    out$pi <- c(pr$pi.lb, pr$pi.ub)
  }
  if (lrt) {
    reduced <- rma.mv(yi, V, mods = mods, random = ~ 1 | study / es, data = dat, method = method,
                      test = test, sigma2 = c(0, NA), control = fit_control)
    a <- anova(res, reduced)
    out$lrt <- list(statistic = a$LRT, p = a$pval, loglik_reduced = as.numeric(logLik(reduced)),
                    sigma2_within_reduced = reduced$sigma2[2])
  }
  if (robust) {
    btt <- if (res$p > 1) 2:res$p else integer(0)
    out$robust <- robust_results(res, dat$study, btt)
  }
  out
}

assink <- dat.assink2016
assink <- data.frame(study = assink$study, es = assink$esid, yi = assink$yi, vi = assink$vi,
                     deltype = assink$deltype, year = assink$year)

konst <- dat.konstantopoulos2011
konst <- data.frame(study = konst$district, es = konst$school, yi = konst$yi, vi = konst$vi,
                    year = konst$year)

# dat.craft2003: 10 studies x 6 correlations among anxiety, confidence and performance;
# 6 correlations are not reported (NA) and dropped.
craft <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.craft2003[!is.na(dat.craft2003$ri), ])
craft <- data.frame(study = craft$study, es = ave(craft$study, craft$study, FUN = seq_along),
                    yi = as.vector(craft$yi), vi = as.vector(craft$vi),
                    pair = paste(craft$var1, craft$var2, sep = "-"))

cases <- list(
  run_case("assink_reml", assink, ~ 1, "REML"),
  run_case("assink_ml", assink, ~ 1, "ML"),
  run_case("assink_reml_t", assink, ~ 1, "REML", test = "t"),
  run_case("assink_deltype_reml", assink, ~ factor(deltype), "REML"),
  run_case("assink_deltype_ml_t", assink, ~ factor(deltype), "ML", test = "t"),
  run_case("assink_che_reml", assink, ~ 1, "REML", rho = 0.6),
  run_case("assink_che_deltype_reml", assink, ~ factor(deltype) + year, "REML", rho = 0.6),
  run_case("konstantopoulos_reml", konst, ~ 1, "REML"),
  run_case("konstantopoulos_ml", konst, ~ 1, "ML"),
  run_case("konstantopoulos_year_reml", konst, ~ I(year - 1990), "REML"),
  run_case("craft_reml", craft, ~ 1, "REML"),
  run_case("craft_pair_reml", craft, ~ factor(pair), "REML"),
  run_case("craft_che_pair_ml", craft, ~ factor(pair), "ML", rho = 0.6)
)

# One study (a single level-3 cluster): rma.mv fixes the sigma2 of a single-level factor to 0
# with a warning, confint() refuses that component, and clubSandwich's vcovCR stops (one
# cluster). The warning and the error messages are recorded with the figures.
# With one free sigma2 no optimizer of rma.mv gets close enough to the optimum for 1e-6
# comparisons (BFGS as above stops up to 5e-7 short, the REML gradient there ~1e-6; bobyqa,
# ucminf, nlm do no better in every case; a p of 1e-35 then moves by 2e-6). So sigma2_within
# is polished to the root of the derivative (central differences, step 1e-4 sigma2) of
# metafor's own log-likelihood, logLik(rma.mv(..., sigma2 = c(0, s))), by uniroot (an ML
# optimum at 0 stays 0), and every figure but the fit statistics, the profile CI and the
# messages is taken from rma.mv with sigma2 = c(0, polished); those three come from the free
# fit (its log-likelihood equals the polished one to ~1e-14; sigma2_metafor is its estimate).
single_level_case <- function(name, dat, mods, method, test = "z", rho = 0) {
  V <- if (rho == 0) diag(dat$vi, nrow = nrow(dat)) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  warnings <- character(0)
  free <- withCallingHandlers(
    rma.mv(yi, V, mods = mods, random = ~ 1 | study / es, data = dat, method = method, test = test,
           control = fit_control),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  at <- function(s) rma.mv(yi, V, mods = mods, random = ~ 1 | study / es, data = dat, method = method,
                           test = test, sigma2 = c(0, s))
  loglik_at <- function(s) as.numeric(logLik(at(s)))
  slope <- function(s) (loglik_at(s * (1 + 1e-4)) - loglik_at(s * (1 - 1e-4))) / (2e-4 * s)
  start <- free$sigma2[2]
  polished <- if (start < 1e-8 && loglik_at(1e-10) <= loglik_at(0)) 0 else
    uniroot(slope, start * c(1 - 1e-3, 1 + 1e-3), extendInt = "downX", tol = 1e-14 * start)$root
  res <- at(polished)
  X <- model.matrix(res)
  within_ci <- confint(free, sigma2 = 2, control = profile_control)$random
  between_ci <- tryCatch(confint(free, sigma2 = 1), error = function(e) conditionMessage(e))
  robust <- tryCatch(vcovCR(free, cluster = dat$study, type = "CR2"), error = function(e) conditionMessage(e))
  out <- list(
    name = name, method = method, test = test, rho = rho,
    data = list(yi = dat$yi, vi = dat$vi, study = dat$study, es = dat$es,
                X = unname(X), names = colnames(X)),
    k = res$k, n_studies = length(unique(dat$study)), warnings = warnings,
    sigma2_fixed = unname(free$vc.fix$sigma2), sigma2_metafor = unname(free$sigma2),
    beta = unname(as.vector(res$beta)), se = unname(res$se), zval = unname(res$zval),
    pval = unname(res$pval), ci_lower = unname(res$ci.lb), ci_upper = unname(res$ci.ub),
    sigma2 = unname(res$sigma2), loglik = as.numeric(logLik(res)),
    fitstats = as.list(setNames(as.vector(fitstats(free)), c("loglik", "deviance", "aic", "bic", "aicc"))),
    qe = res$QE, qe_p = res$QEp, qm = res$QM, qm_df = res$QMdf, qm_p = res$QMp,
    btt = res$btt, i2 = i2_by_level(res, V),
    sigma2_ci = list(between = c(NA, NA), within = unname(within_ci[1, 2:3])),
    confint_between_error = between_ci, cr2_error = robust)
  if (res$p == 1) {
    pr <- predict(res)
    out$pi <- c(pr$pi.lb, pr$pi.ub)
  }
  out
}

one_study <- function(dat, id) dat[dat$study == id, ]

single_level_cases <- list(
  single_level_case("assink_study11_reml", one_study(assink, 11), ~ 1, "REML"),
  single_level_case("assink_study11_ml_t", one_study(assink, 11), ~ 1, "ML", test = "t"),
  single_level_case("assink_study11_deltype_reml", one_study(assink, 11), ~ factor(deltype), "REML"),
  single_level_case("assink_study16_che_reml", one_study(assink, 16), ~ 1, "REML", rho = 0.6),
  single_level_case("konstantopoulos_district58_reml", one_study(konst, 58), ~ 1, "REML"),
  single_level_case("konstantopoulos_district58_ml", one_study(konst, 58), ~ 1, "ML")
)

meta <- list(metafor = as.character(packageVersion("metafor")),
             clubSandwich = as.character(packageVersion("clubSandwich")),
             R = R.version.string)
write_reference(list(meta = meta, cases = cases, single_level_cases = single_level_cases), "multilevel.json",
                pretty = FALSE)
