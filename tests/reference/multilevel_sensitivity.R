# Reference values for alliance_meta.analyses.sensitivity.multilevel: leave-one-study-out and
# cumulative three-level fits, Cook's distance and DFBETAS by study, with metafor's rma.mv.
# metafor has no leave1out or cumul for rma.mv, so both are loops refitting
# rma.mv(..., subset = ...) with the study (cluster) as the unit; cooks.distance.rma.mv and
# dfbetas.rma.mv with cluster = study are metafor's own.
# Run from the repository root (Rscript tests/reference/multilevel_sensitivity.R) or from
# tests/reference (Rscript multilevel_sensitivity.R, make reference): writes
# multilevel_sensitivity.json next to the script.
#
# Two-study cases (*_k2): each deletion leaves one study, which rma.mv fits with the single-level
# study factor's sigma2 fixed to 0, or, when that study has one effect size, not at all
# ("Processing terminated since k <= 1."): fitted = FALSE, and cooks.distance / dfbetas give NA.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

script_dir <- local({
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else "tests/reference"
})

# The same optimiser settings as multilevel.R (optim BFGS to a relative tolerance of 1e-15).
fit_control <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)

i2_total <- function(res, V) {
  W <- solve(V)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  typical <- (res$k - res$p) / sum(diag(P))
  100 * sum(res$sigma2) / (sum(res$sigma2) + typical)
}

fit_subset <- function(dat, V, sub, method) {
  res <- tryCatch(suppressWarnings(rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = method,
                                          subset = sub, control = fit_control)),
                  error = function(e) NULL)
  if (is.null(res)) return(list(fitted = FALSE, k = sum(sub)))
  list(fitted = TRUE, k = res$k, estimate = as.vector(res$beta), se = res$se, ci_lower = res$ci.lb,
       ci_upper = res$ci.ub, p = res$pval, sigma2 = res$sigma2, tau2 = sum(res$sigma2),
       i2 = i2_total(res, V[sub, sub, drop = FALSE]), qe = res$QE, qe_p = res$QEp)
}

run_case <- function(name, dat, method, rho = 0) {
  V <- if (rho == 0) diag(dat$vi) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  res <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = method, control = fit_control)
  ids <- unique(dat$study)
  leave_one_out <- lapply(ids, function(s) c(list(study = s), fit_subset(dat, V, dat$study != s, method)))
  cook <- cooks.distance(res, cluster = dat$study)
  dfb <- dfbetas(res, cluster = dat$study)
  # cumulative: studies by their earliest year, ties in order of first appearance
  study_year <- tapply(dat$year, factor(dat$study, levels = ids), min)
  ordered <- ids[order(study_year)]
  cumulative <- lapply(seq_along(ordered), function(j) {
    c(list(study = ordered[j]), fit_subset(dat, V, dat$study %in% ordered[1:j], method))
  })
  list(name = name, method = method, rho = rho,
       data = list(yi = dat$yi, vi = dat$vi, study = dat$study, year = dat$year),
       full = list(estimate = as.vector(res$beta), se = res$se, sigma2 = res$sigma2),
       leave_one_out = leave_one_out, cook = unname(as.vector(cook)), dfbetas = unname(as.vector(dfb[, 1])),
       cumulative = cumulative)
}

assink <- dat.assink2016
assink <- data.frame(study = assink$study, es = assink$esid, yi = assink$yi, vi = assink$vi,
                     year = assink$year)

konst <- dat.konstantopoulos2011
konst <- data.frame(study = konst$district, es = konst$school, yi = konst$yi, vi = konst$vi,
                    year = konst$year)

cases <- list(
  run_case("konstantopoulos_reml", konst, "REML"),
  run_case("konstantopoulos_ml", konst, "ML"),
  run_case("assink_reml", assink, "REML"),
  run_case("assink_che_reml", assink, "REML", rho = 0.6),
  # two studies: districts 11 and 12 (4 schools each); assink studies 1 (6 effect sizes) and
  # 4 (one, and the earlier year: the first cumulative step is not fitted); studies 1 and 3, CHE
  run_case("konstantopoulos_k2_reml", konst[konst$study %in% c(11, 12), ], "REML"),
  run_case("konstantopoulos_k2_ml", konst[konst$study %in% c(11, 12), ], "ML"),
  run_case("assink_k2_reml", assink[assink$study %in% c(1, 4), ], "REML"),
  run_case("assink_k2_che_reml", assink[assink$study %in% c(1, 3), ], "REML", rho = 0.6)
)

meta <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string)
writeLines(toJSON(list(meta = meta, cases = cases), digits = NA, auto_unbox = TRUE, pretty = FALSE),
           file.path(script_dir, "multilevel_sensitivity.json"))
