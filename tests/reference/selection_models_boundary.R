# Reference values for the standard errors of alliance_meta.analyses.bias.selection_models when tau^2 is
# estimated at (or next to) 0, computed with metafor >= 4.6: since 4.2-0 (NEWS: "selmodel() now treats tau^2
# values below 1e-04 or min(vi/10) effectively as zero before computing the standard errors") selmodel() holds
# tau^2 at its estimate in the Hessian below `tau2tol = min(vi/10, 1e-04)`, and since 4.6 a step-function delta
# below `deltatol = 1e-04`; metafor 3.8-1, which the other scripts use, inverts the whole Hessian, which is
# singular with tau^2 on its boundary ("Error when trying to invert Hessian": no standard errors at all).
#
# Debian has metafor 3.8-1 only: `fetch` wviechtb/metafor, `git archive HEAD` into a folder,
# `R CMD INSTALL -l <lib> <folder>` (needs r-cran-mathjaxr, r-cran-pbapply, r-cran-digest, r-cran-nlme), then
# `R_LIBS=<lib> Rscript tests/reference/selection_models_boundary.R`. With an older metafor the script says so
# and leaves selection_models_boundary.json unchanged. A few minutes.
#
# Data: dat.kalaian1996 (67 standardised mean differences; the ML estimate of tau^2 is 0), every type with
# metafor's defaults and with the tight control of selection_models.R; and dat.baskerville2012's beta model
# (selection_models.R's data; tau^2 about 5e-6), whose whole Hessian is indefinite.
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference
if (packageVersion("metafor") < "4.6") {
  message("selection_models_boundary.R needs metafor >= 4.6 (found ", packageVersion("metafor"),
          "; see the comment at its top): selection_models_boundary.json left unchanged")
  quit(save = "no", status = 0)
}

steps <- c(0.025, 0.10, 0.50, 1)
types <- c("beta", "halfnorm", "negexp", "logistic", "power", "negexppow", "stepfun")
tight <- list(reltol = 1e-12, maxit = 1000, intCtrl = list(rel.tol = 1e-10))
control <- list(threshold = 1e-13, maxiter = 1000)
datasets <- list(
  kalaian1996 = list(data = data.frame(yi = dat.kalaian1996$yi, vi = dat.kalaian1996$vi), method = "ML",
                     types = types),
  baskerville2012 = list(data = data.frame(yi = dat.baskerville2012$smd, vi = dat.baskerville2012$se^2),
                         method = "REML", types = "beta")
)

run <- function(fit, type, ctl) {
  warnings <- character(0)
  res <- withCallingHandlers(
    tryCatch(
      if (type == "stepfun") selmodel(fit, type = type, steps = steps, control = ctl)
      else selmodel(fit, type = type, control = ctl),
      error = function(e) conditionMessage(e)),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  if (is.character(res)) return(list(error = res, warnings = I(warnings)))
  list(estimate = c(res$beta), se = res$se, tau2 = res$tau2, se_tau2 = res$se.tau2, delta = res$delta,
       se_delta = res$se.delta, ll = res$ll, hessian_covers = res$hest, warnings = I(warnings))
}

reference <- list(metafor_version = as.character(packageVersion("metafor")), steps = steps, datasets = list())
for (name in names(datasets)) {
  set <- datasets[[name]]
  dat <- set$data
  fit <- rma(yi, vi, data = dat, method = set$method, control = control)
  entry <- list(yi = dat$yi, vi = dat$vi, method = set$method, tau2 = fit$tau2,
                tau2tol = min(dat$vi / 10, 1e-04), selmodel = list())
  for (type in set$types) {
    message(name, " ", type)
    entry$selmodel[[type]] <- list(default = run(fit, type, list()), tight = run(fit, type, tight))
  }
  reference$datasets[[name]] <- entry
}
write_reference(reference, "selection_models_boundary.json", na = "null", pretty = TRUE)
