# Reference values for the GENQ estimator in meta-regressions (alliance_meta.models.metareg.fit(method =
# "GENQ")): metafor's rma(yi, vi, mods =, weights = a, method = "GENQ") with the tests z, knha and adhoc
# (tau^2, coefficients, se, z / t, p, CI, QM / F, QE, I^2, H^2, R^2, predict() at every row) and an exact
# permutest. Weights a = 1/sqrt(vi) (the pipeline's GENQ weights, Jackson 2013) unless a case says otherwise.
# metadat's dat.bcg (log risk ratios) with ablat, ablat + year and alloc, and dat.molloy2014 (Fisher z) with
# meanage and with weights ni, and dat.hackshaw1998 (log odds ratios; rows 1-15) with year, where tau^2 is
# truncated at 0. The model matrix, yi, vi and the weights are stored, so
# the test needs no formula. Egger's test and trim and fill under GENQ are in bias_estimators.R.
# Run from the repository root (Rscript tests/reference/genq_metareg.R) or from tests/reference
# (make reference): writes genq_metareg.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
cases <- list(
  list(name = "bcg_ablat", data = bcg, mods = ~ ablat, weights = "1/sqrt(vi)"),
  list(name = "bcg_ablat_year", data = bcg, mods = ~ ablat + year, weights = "1/sqrt(vi)"),
  list(name = "bcg_alloc", data = bcg, mods = ~ alloc, weights = "1/sqrt(vi)"),
  list(name = "molloy_meanage", data = molloy, mods = ~ meanage, weights = "1/sqrt(vi)"),
  list(name = "molloy_meanage_ni", data = molloy, mods = ~ meanage, weights = "ni"),
  list(name = "hackshaw15_year", data = dat.hackshaw1998[1:15, ], mods = ~ year, weights = "1/sqrt(vi)")
)
statistics <- function(fit) {
  predicted <- predict(fit)
  list(tau2 = fit$tau2, beta = c(fit$beta), se = fit$se, statistic = fit$zval, pval = fit$pval,
       ci_lb = fit$ci.lb, ci_ub = fit$ci.ub, qm = fit$QM, qm_df = fit$QMdf, qm_p = fit$QMp, s2w = fit$s2w,
       qe = fit$QE, qe_p = fit$QEp, i2 = fit$I2, h2 = fit$H2, r2 = fit$R2, pred = c(predicted$pred),
       pred_se = c(predicted$se), pred_ci_lb = c(predicted$ci.lb), pred_ci_ub = c(predicted$ci.ub))
}

out <- list(metafor_version = as.character(packageVersion("metafor")), cases = list())
for (case in cases) {
  dat <- case$data
  a <- if (case$weights == "ni") dat$ni else 1 / sqrt(dat$vi)
  fits <- lapply(c(z = "z", knha = "knha", adhoc = "adhoc"), function(test)
    rma(yi, vi, mods = case$mods, data = dat, weights = a, method = "GENQ", test = test))
  out$cases[[length(out$cases) + 1]] <- c(
    list(name = case$name, weights_rule = case$weights, yi = c(dat$yi), vi = c(dat$vi), weights = a,
         X = unname(model.matrix(fits$z)), columns = colnames(model.matrix(fits$z)), k = fits$z$k),
    lapply(fits, statistics))
}

# exact permutest (every distinct permutation of the rows of X against yi, vi and the weights): rows 2-10 of
# dat.bcg with alloc (252 permutations), z and knha
rows <- 2:10
perm <- list()
for (test in c("z", "knha")) {
  fit <- rma(yi, vi, mods = ~ alloc, data = bcg[rows, ], weights = 1 / sqrt(vi), method = "GENQ", test = test)
  result <- permutest(fit, exact = TRUE, progbar = FALSE)
  perm[[test]] <- list(iterations = nrow(result$zval.perm), pval = result$pval, qm_p = result$QMp)
}
out$permutation <- c(list(rows = rows, yi = c(bcg$yi[rows]), vi = c(bcg$vi[rows]),
                          X = unname(model.matrix(~ alloc, data = bcg[rows, ]))), perm)

write_reference(out, "genq_metareg.json", na = "null", pretty = TRUE)
