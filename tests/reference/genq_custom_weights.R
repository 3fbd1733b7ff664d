# Reference values for the analyses that refit a GENQ model fitted with weights of one's own
# (am.fit(rows, method = "GENQ", weights = a)): metafor's leave1out, influence, cumul, regtest, trimfill and gosh
# on rma(yi, vi, weights = a, method = "GENQ", test =), which refit the model with x$weights (trimfill: a filled
# study with the weight of the study it mirrors), and tes, which takes the model's estimate. metadat's dat.bcg (log risk ratios; a = total sample size)
# and dat.molloy2014 (Fisher z; a = ni, and a = 1/vi^0.25), and the first two molloy studies (each deletion
# leaves one study), and gosh on the first 8 molloy studies. Tests z and knha; regtest, tes and trimfill of the z model (bias.csv's egger is regtest's z;
# trimfill refits without the model's test). yi, vi, a and the cumulative order (year) are stored.
# Run from the repository root (Rscript tests/reference/genq_custom_weights.R) or from tests/reference
# (make reference): writes genq_custom_weights.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
cases <- list(
  list(name = "bcg_n", data = bcg, weights = with(bcg, tpos + tneg + cpos + cneg)),
  list(name = "molloy_ni", data = molloy, weights = molloy$ni),
  list(name = "molloy_vi_quarter", data = molloy, weights = 1 / molloy$vi^0.25),
  list(name = "molloy_two", data = molloy[1:2, ], weights = molloy$ni[1:2])
)

field <- function(x, names) x[[intersect(names, names(x))[1]]]  # zval or tval, pval or pvals by test

sensitivity <- function(fit, year) {
  loo <- leave1out(fit)
  inf <- influence(fit)
  cum <- cumul(fit, order = year)
  list(leave1out = list(estimate = loo$estimate, se = loo$se, statistic = field(loo, c("zval", "tval")),
                        pval = field(loo, c("pval", "pvals")),
                        ci_lb = loo$ci.lb, ci_ub = loo$ci.ub, q = loo$Q, q_p = loo$Qp, tau2 = loo$tau2,
                        i2 = loo$I2, h2 = loo$H2),
       influence = list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook_d = inf$inf$cook.d,
                        cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, qe_del = inf$inf$QE.del,
                        hat = inf$inf$hat, weight = inf$inf$weight, dfbetas = inf$dfbs$intrcpt,
                        influential = inf$inf$inf == "*"),
       cumulative = list(estimate = cum$estimate, se = cum$se, ci_lb = cum$ci.lb, ci_ub = cum$ci.ub,
                         pval = field(cum, c("pval", "pvals")), q = cum$Q, q_p = cum$Qp, tau2 = cum$tau2, i2 = cum$I2, h2 = cum$H2))
}

out <- list(metafor_version = as.character(packageVersion("metafor")), cases = list())
for (case in cases) {
  dat <- case$data
  a <- case$weights
  fits <- lapply(c(z = "z", knha = "knha"), function(test)
    rma(yi, vi, weights = a, data = dat, method = "GENQ", test = test))
  result <- list(name = case$name, yi = c(dat$yi), vi = c(dat$vi), weights = a, year = dat$year,
                 estimate = c(fits$z$beta), tau2 = fits$z$tau2)
  for (test in names(fits)) result[[test]] <- sensitivity(fits[[test]], dat$year)
  if (nrow(dat) >= 3) {
    egger <- regtest(fits$z)
    result$egger <- list(statistic = egger$zval, pval = egger$pval, estimate = c(egger$est),
                         ci_lb = c(egger$ci.lb), ci_ub = c(egger$ci.ub))
    excess <- tes(fits$z)
    result$tes <- list(observed = excess$O, expected = excess$E, theta = excess$theta,
                       pval = excess$pval)
    result$trimfill <- lapply(c(L0 = "L0", R0 = "R0"), function(estimator) {
      filled <- trimfill(fits$z, estimator = estimator)
      list(k0 = filled$k0, se_k0 = filled$se.k0, side = filled$side, estimate = c(filled$beta),
           se = filled$se, ci_lb = filled$ci.lb, ci_ub = filled$ci.ub, tau2 = filled$tau2,
           filled_yi = c(filled$yi[filled$fill]), filled_vi = c(filled$vi[filled$fill]),
           filled_weights = c(filled$weights[filled$fill]))
    })
  }
  out$cases[[length(out$cases) + 1]] <- result
}

# gosh (every subset refitted with its studies' weights): the first 8 molloy studies, a = ni; the subsets by their
# inclusion pattern (incl) with each subset's estimate and tau^2
few <- molloy[1:8, ]
g <- gosh(rma(yi, vi, weights = ni, data = few, method = "GENQ"), progbar = FALSE)
out$gosh <- list(yi = c(few$yi), vi = c(few$vi), weights = few$ni, incl = unname(g$incl * 1),
                 estimate = g$res$estimate, tau2 = g$res$tau2, i2 = g$res$I2, q = g$res$QE)

write_reference(out, "genq_custom_weights.json", na = "null", pretty = TRUE)
