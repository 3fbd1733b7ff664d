# Reference values for alliance_meta.analyses.bias.multilevel.egger_row (bias.csv's egger_multilevel row under
# dependence: multilevel): Egger's regression in the three-level model, rma.mv(yi, V, mods = ~ sqrt(vi),
# random = ~ 1 | study / es) with V = diag(vi) or vcalc(rho) (CHE), and clubSandwich's CR2 coef_test
# (Satterthwaite) of the slope and conf_int of the intercept (Rodgers & Pustejovsky 2021), on metadat's
# dat.assink2016 and dat.konstantopoulos2011. Optimiser settings as multilevel.R (optim BFGS to 1e-15).
# Run from the repository root (Rscript tests/reference/egger_multilevel.R) or from tests/reference
# (make reference): writes egger_multilevel.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

fit_control <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)

run_case <- function(name, dat, method, rho, level = 95) {
  V <- if (rho == 0) diag(dat$vi) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  res <- rma.mv(yi, V, mods = ~ sqrt(vi), random = ~ 1 | study / es, data = dat, method = method,
                control = fit_control)
  vc <- vcovCR(res, cluster = dat$study, type = "CR2")
  ct <- coef_test(res, vcov = vc, test = "Satterthwaite")
  ci <- conf_int(res, vcov = vc, level = level / 100, test = "Satterthwaite")
  list(name = name, method = method, rho = rho, level = level,
       data = list(yi = I(sprintf("%.17g", dat$yi)), vi = I(sprintf("%.17g", dat$vi)),
                   study = I(as.character(dat$study))),
       sigma2 = unname(res$sigma2), beta = unname(as.vector(res$beta)),
       se = unname(ct$SE), t = unname(ct$tstat), df = unname(ct$df_Satt), p = unname(ct$p_Satt),
       ci_lower = unname(ci$CI_L), ci_upper = unname(ci$CI_U))
}

assink <- dat.assink2016
assink <- data.frame(study = assink$study, es = assink$esid, yi = assink$yi, vi = assink$vi)
konst <- dat.konstantopoulos2011
konst <- data.frame(study = konst$district, es = konst$school, yi = konst$yi, vi = konst$vi)

cases <- list(
  run_case("assink_reml", assink, "REML", 0),
  run_case("assink_ml", assink, "ML", 0),
  run_case("assink_che_reml", assink, "REML", 0.6),
  run_case("assink_che_reml_90", assink, "REML", 0.6, level = 90),
  run_case("konstantopoulos_reml", konst, "REML", 0),
  run_case("konstantopoulos_che_ml", konst, "ML", 0.5)
)
meta <- list(metafor = as.character(packageVersion("metafor")),
             clubSandwich = as.character(packageVersion("clubSandwich")), R = R.version.string)
write_reference(list(meta = meta, cases = cases), "egger_multilevel.json", pretty = TRUE)
