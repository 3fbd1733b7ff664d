# Reference values for bias.csv's egger and trim_and_fill rows under every pooling.main_method: metafor's
# regtest(fit, model = "rma") and trimfill(fit) (estimators L0 and R0, metafor's default side) of
# rma(yi, vi, method = m) for every tau^2 estimator of rma.uni (EE = our "common", DL, HE, HS, HSk, SJ, ML, REML,
# EB, PM, PMM, GENQ with weights 1/sqrt(vi)); bias.R covers REML and DL only. metadat's dat.molloy2014 (Fisher z),
# dat.hackshaw1998 (log odds ratios) and dat.bangertdrowns2004 (SMD). Fits use control = list(threshold = 1e-13),
# as bias.R. Where metafor stops with an error the message is written instead of the figures. Under GENQ
# regtest and trimfill's default side fit the sqrt(vi) meta-regression by GENQ with the model's weights.
# Run from the repository root (Rscript tests/reference/bias_estimators.R) or from tests/reference
# (make reference): writes bias_estimators.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

control <- list(threshold = 1e-13, maxiter = 1000)
methods <- c("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
datasets <- list(
  molloy2014 = escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014),
  hackshaw1998 = dat.hackshaw1998,
  bangertdrowns2004 = dat.bangertdrowns2004
)
attempt <- function(expr) tryCatch(suppressWarnings(expr), error = function(e) list(error = conditionMessage(e)))

reference <- list(metafor_version = as.character(packageVersion("metafor")), control = control, datasets = list())
for (name in names(datasets)) {
  dat <- datasets[[name]]
  dat <- dat[!is.na(dat$yi) & !is.na(dat$vi), ]
  entry <- list(yi = I(sprintf("%.17g", dat$yi)), vi = I(sprintf("%.17g", dat$vi)), fits = list())
  yi <- as.numeric(entry$yi)
  vi <- as.numeric(entry$vi)
  for (method in methods) {
    fit <- if (method == "GENQ") rma(yi, vi, weights = 1 / sqrt(vi), method = method, control = control)
           else rma(yi, vi, method = method, control = control)
    egger <- attempt({
      r <- regtest(fit, model = "rma")
      list(statistic = r$zval, p = r$pval, estimate = unname(r$est), ci_lower = unname(r$ci.lb),
           ci_upper = unname(r$ci.ub), tau2 = r$fit$tau2)
    })
    trimfill_of <- function(estimator) attempt({
      tf <- trimfill(fit, estimator = estimator, control = control)
      list(side = tf$side, k0 = tf$k0, se_k0 = tf$se.k0, estimate = c(tf$beta), se = tf$se, ci_lower = tf$ci.lb,
           ci_upper = tf$ci.ub, tau2 = tf$tau2)
    })
    entry$fits[[length(entry$fits) + 1]] <- list(method = method, egger = egger,
                                                 trimfill = list(L0 = trimfill_of("L0"), R0 = trimfill_of("R0")))
  }
  reference$datasets[[name]] <- entry
}
write_reference(reference, "bias_estimators.json", na = "null", pretty = TRUE)
