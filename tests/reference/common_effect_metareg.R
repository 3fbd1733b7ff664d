# Reference values for alliance_meta.models.metareg.fit with a common-effect model (method "common", metafor's
# "EE"): rma(yi, vi, mods = ..., method = "EE") with the Wald z and the Knapp-Hartung tests: coefficients,
# Q_M / F, Q_E, and the residual I^2 and H^2, which metafor computes for EE / FE / CE fits from Q_E
# (I^2 = max(0, 100 (Q_E - (k - p)) / Q_E), H^2 = Q_E / (k - p); rma.uni, "heterogeneity"), not from tau^2.
# Data: metadat's dat.molloy2014 (Fisher z), dat.bcg (log risk ratios), dat.mcdaniel1994 (Fisher z).
# Run from the repository root (Rscript tests/reference/common_effect_metareg.R) or from tests/reference:
# writes common_effect_metareg.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
mcdaniel <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.mcdaniel1994)
data_sets <- list(molloy = molloy, bcg = bcg, mcdaniel = mcdaniel)
columns <- list(molloy = c("meanage", "design"), bcg = c("ablat", "alloc"), mcdaniel = c("type"))

models <- list(
  list(data = "molloy", formula = "meanage"),
  list(data = "molloy", formula = "design + meanage"),
  list(data = "bcg", formula = "ablat"),
  list(data = "bcg", formula = "alloc + ablat"),
  list(data = "mcdaniel", formula = "type")
)

out <- list(metafor = as.character(packageVersion("metafor")),
            data = lapply(setNames(names(data_sets), names(data_sets)), function(name) {
              dat <- data_sets[[name]]
              c(list(yi = I(sprintf("%.17g", dat$yi)), vi = I(sprintf("%.17g", dat$vi))),
                lapply(dat[columns[[name]]], function(x) x))
            }),
            continuous = c("meanage", "ablat"), models = list())
for (model in models) {
  dat <- data_sets[[model$data]]
  mods <- as.formula(paste("~", model$formula))
  z <- rma(yi, vi, mods = mods, data = dat, method = "EE")
  knha <- rma(yi, vi, mods = mods, data = dat, method = "EE", test = "knha")
  variables <- all.vars(mods)
  out$models[[length(out$models) + 1]] <- list(
    data = model$data, formula = model$formula,
    reference_levels = lapply(dat[variables][sapply(dat[variables], is.character)],
                              function(x) sort(unique(na.omit(x)))[1]),
    k = z$k, columns = I(rownames(z$beta)), beta = c(z$beta), se = z$se, zval = z$zval, pval = z$pval,
    ci_lb = z$ci.lb, ci_ub = z$ci.ub, qm = z$QM, qm_df = z$QMdf[1], qm_p = z$QMp,
    se_knha = knha$se, tval = knha$zval, pval_knha = knha$pval, ci_lb_knha = knha$ci.lb, ci_ub_knha = knha$ci.ub,
    f = knha$QM, f_df1 = knha$QMdf[1], f_df2 = knha$QMdf[2], f_p = knha$QMp,
    qe = z$QE, qe_p = z$QEp, i2 = z$I2, h2 = z$H2, r2 = z$R2, tau2 = z$tau2)
}

write_reference(out, "common_effect_metareg.json", pretty = TRUE)
