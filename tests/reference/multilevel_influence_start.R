# Reference values for Cook's distance and DFBETAS by study of a three-level (CHE) model whose
# sigma2_within is at 0 (alliance_meta.analyses.sensitivity.multilevel), where metafor's own
# cooks.distance.rma.mv / dfbetas.rma.mv disagree: they start each deletion fit at the full model's
# sigma2 and, with sigma2_within ~ 1e-12 (metafor optimises log sigma2), the deletion of study S01
# (15 of the 30 effect sizes) stops at sigma2 = (0.00616, 0), log-likelihood 8.5795, not at the
# maximum (0, 0.00525), 8.7761, that rma.mv(..., subset = study != "S01") finds from its default
# start (and the pipeline's leave_one_out.csv reports). The reference is therefore computed with
# metafor's formulas on the deletion fits from the default start:
#   Cook's D = (b - b_del)' vb^-1 (b - b_del) (vb of the full model),
#   DFBETAS = (b - b_del) / se of the full data at the deletion's sigma2 (as dfbetas.rma.mv).
# A deletion sigma2 below 1e-6 is refitted fixed at 0 (the boundary, as the pipeline fits it).
# metafor's own figures are kept as metafor_cook / metafor_dfbetas (they agree for every study but S01).
# Data: a SIMULATED sheet of a three-level walkthrough (12 studies, one with 15 correlations, one
# with r = .5 (n = 20) beside r = .1 (n = 5000)); Fisher z, rho = 0.5.
# Run from the repository root (Rscript tests/reference/multilevel_influence_start.R) or from
# tests/reference: writes multilevel_influence_start.json next to the script.
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference
fit_control <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)

study <- c(rep("S01", 15), rep("S02", 3), rep("S03", 2), rep("S04", 2), sprintf("S%02d", 5:12))
r <- c(0.25, 0.27, 0.23, 0.18, 0.21, 0.17, 0.25, 0.36, 0.21, 0.2, 0.29, 0.28, 0.26, 0.18, 0.25, 0.3, 0.3, 0.3,
       0.5, 0.1, 0.2, 0.35, 0.29, 0.17, 0.03, 0.04, 0.2, 0.25, 0.24, -0.03)
n <- c(rep(90, 15), 60, 60, 60, 20, 5000, 80, 80, 121, 199, 94, 198, 177, 138, 62, 122)
dat <- data.frame(study = study, es = seq_along(r), yi = atanh(r), vi = 1 / (n - 3))
rho <- 0.5
V <- vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
full <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = "REML", control = fit_control)
ids <- unique(dat$study)
deletions <- lapply(ids, function(s) {
  del <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, subset = study != s, method = "REML",
                control = fit_control)
  if (any(del$sigma2 < 1e-6)) {  # metafor optimises log sigma2: a sigma2 at the boundary only approaches 0
    fixed <- ifelse(del$sigma2 < 1e-6, 0, NA)
    del <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, subset = study != s, method = "REML",
                  sigma2 = fixed, control = fit_control)
  }
  at <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = "REML", sigma2 = del$sigma2,
               control = fit_control)
  diff <- as.vector(full$beta - del$beta)
  list(study = s, estimate = as.vector(del$beta), sigma2 = del$sigma2, loglik = as.numeric(logLik(del)),
       cook = diff^2 / full$vb[1, 1], dfbetas = diff / at$se)
})
stuck <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, subset = study != "S01", method = "REML",
                control = c(fit_control, list(sigma2.init = full$sigma2)))
meta <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string)
out <- list(meta = meta, rho = rho, data = list(yi = dat$yi, vi = dat$vi, study = dat$study),
            full = list(estimate = as.vector(full$beta), se = full$se, sigma2 = full$sigma2),
            deletions = deletions,
            metafor_cook = unname(as.vector(cooks.distance(full, cluster = dat$study))),
            metafor_dfbetas = unname(as.vector(dfbetas(full, cluster = dat$study)[, 1])),
            stuck_S01 = list(sigma2 = stuck$sigma2, estimate = as.vector(stuck$beta),
                             loglik = as.numeric(logLik(stuck))))
write_reference(out, "multilevel_influence_start.json", pretty = FALSE)
