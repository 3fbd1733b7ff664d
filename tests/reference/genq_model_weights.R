# Reference values for where a GENQ fit (am.fit(rows, method = "GENQ", weights = a); the pipeline's
# pooling.main_method: GENQ, a = 1/sqrt(vi)) is weighted by its own weights, not 1/(vi + tau^2), as metafor 3.8-1
# and clubSandwich 0.5.8:
# - weights(fit) in percent, which forest(fit) shows (the forest plot's Weight column and square sizes);
# - the CR2 row of rve.csv: clubSandwich's coef_test(fit, vcov = "CR2", cluster = study) and conf_int, and
#   metafor's robust(fit, cluster = study, clubSandwich = TRUE), one study per cluster. clubSandwich takes the
#   model's weights as working weights and vi + tau^2 as target variances (inverse_var = FALSE), so the estimate
#   is the GENQ estimate and the adjustment matrices are not those of inverse-variance weights;
# - the same for meta-regressions (dat.bcg, mods = ~ ablat and ~ ablat + year, standardised), with
#   Wald_test(..., "HTZ") of the two moderators' coefficients.
# metadat's dat.molloy2014 (Fisher z; a = ni, a = 1/sqrt(vi)) and dat.bcg (log risk ratios; a = total n).
# yi, vi, a, the model matrix and tau^2 are stored.
# Run from the repository root (Rscript tests/reference/genq_model_weights.R) or from tests/reference
# (make reference): writes genq_model_weights.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$n <- with(bcg, tpos + tneg + cpos + cneg)
# the moderators standardised: with year as it is, X'WX is near singular (condition number 1e12) and clubSandwich's
# df of the two-moderator model move in the fifth digit and its HTZ test to F = 8.4 on 4.29 df, from 5.49 on 1.13
bcg$ablat_z <- c(scale(bcg$ablat))
bcg$year_z <- c(scale(bcg$year))
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
cases <- list(
  list(name = "molloy_ni", data = molloy, weights = molloy$ni, mods = NULL),
  list(name = "molloy_default", data = molloy, weights = 1 / sqrt(molloy$vi), mods = NULL),
  list(name = "bcg_n", data = bcg, weights = bcg$n, mods = NULL),
  list(name = "bcg_n_ablat", data = bcg, weights = bcg$n, mods = ~ ablat),
  list(name = "bcg_n_ablat_year", data = bcg, weights = bcg$n, mods = ~ ablat_z + year_z)
)

out <- list(metafor_version = as.character(packageVersion("metafor")),
            clubsandwich_version = as.character(packageVersion("clubSandwich")), cases = list())
for (case in cases) {
  dat <- case$data
  dat$a <- case$weights
  dat$cluster <- seq_len(nrow(dat))
  fit <- if (is.null(case$mods)) rma(yi, vi, weights = a, data = dat, method = "GENQ")
         else rma(yi, vi, mods = case$mods, weights = a, data = dat, method = "GENQ")
  vcov_cr2 <- vcovCR(fit, cluster = dat$cluster, type = "CR2")
  coefs <- coef_test(fit, vcov = vcov_cr2, test = "Satterthwaite")
  ci <- conf_int(fit, vcov = vcov_cr2)
  rob <- robust(fit, cluster = cluster, clubSandwich = TRUE)
  result <- list(name = case$name, yi = c(dat$yi), vi = c(dat$vi), weights = dat$a, X = unname(fit$X),
                 terms = colnames(fit$X), tau2 = fit$tau2, estimate = c(fit$beta),
                 model_weights = unname(c(weights(fit))),
                 cr2 = list(estimate = coefs$beta, se = coefs$SE, t = coefs$tstat, df = coefs$df_Satt,
                            p = coefs$p_Satt, ci_lb = ci$CI_L, ci_ub = ci$CI_U, vcov = unname(as.matrix(vcov_cr2))),
                 robust = list(estimate = c(rob$beta), se = rob$se, t = rob$zval, df = rob$ddf, p = rob$pval,
                               ci_lb = rob$ci.lb, ci_ub = rob$ci.ub))
  # two moderators: clubSandwich 0.5.8's HTZ test of one constraint of a model with weights of its own gives
  # F = NaN, df = Inf (get_P_array drops a dimension), where it is the Satterthwaite t test squared
  if (ncol(fit$X) > 2) {
    wald <- Wald_test(fit, constraints = constrain_zero(2:ncol(fit$X)), vcov = vcov_cr2, test = "HTZ")
    result$wald <- list(f = wald$Fstat, df_num = wald$df_num, df_denom = wald$df_denom, p = wald$p_val)
  }
  out$cases[[length(out$cases) + 1]] <- result
}

write_reference(out, "genq_model_weights.json", na = "null", pretty = TRUE)
