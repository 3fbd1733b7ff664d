# Reference values for alliance_meta.analyses.rve (robust variance estimation), computed with
# robumeta 2.0 (robu, sensitivity) and, for the CR2 tests of univariate models, clubSandwich
# 0.5.8 (coef_test, Wald_test) on metafor rma.uni fits. Run from the repository root
# (Rscript tests/reference/rve.R) or from tests/reference (make reference). Writes
# tests/reference/rve.json (committed; the tests need no R).
#
# Data: robumeta's own examples (corrdat: 172 effect sizes from 39 studies; hierdat: 68 from
# 15 groups), metadat's dat.assink2016 (100 effect sizes, 17 studies), four typed-in studies
# with one effect size each and five typed-in studies, one of which has six of the ten effect
# sizes. For each: robu()
# with correlated (rho = .8 and .5) and hierarchical weights, intercept-only and with
# moderators, small = TRUE and FALSE. The rho sensitivity table: robu() at rho = 0, .2, ...,
# 1 at full precision; robumeta's sensitivity() prints the same numbers to 3-4 significant
# digits, which this script checks (stopifnot, 2e-3 relative) before writing them.
suppressPackageStartupMessages({
  library(robumeta)
  library(metafor)
  library(clubSandwich)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference
num <- function(x) unname(as.numeric(x))

datasets <- list(
  corrdat = list(data = corrdat, y = "effectsize", v = "var", study = "studyid",
                 moderators = c("males", "college", "binge"),
                 description = "robumeta::corrdat (robumeta's correlated-effects example)"),
  hierdat = list(data = hierdat, y = "effectsize", v = "var", study = "studyid",
                 moderators = c("binge", "followup", "sreport", "age"),
                 description = "robumeta::hierdat (robumeta's hierarchical-effects example)"),
  assink2016 = list(data = dat.assink2016, y = "yi", v = "vi", study = "study",
                    moderators = c("year", "pubstatus"),
                    description = "metadat::dat.assink2016 (delinquency, 17 studies)"),
  # one effect size per study: the hierarchical model's omega^2 is not identified (robumeta's
  # moment equations coincide and it divides by ~0; here the quotient is negative, so it
  # reports omega^2 = 0 and the DL-type tau^2, which is what alliance_meta returns)
  single = list(data = data.frame(y = c(0.6, 0.35, 0.7, 0.48), v = c(0.08, 0.059, 0.12, 0.049), s = 1:4),
                y = "y", v = "v", study = "s", moderators = character(0),
                description = "four studies with one effect size each (typed in)"),
  # one study with six of the ten effect sizes, four with one each, and a moderator that separates
  # that study from the rest (one cluster in a level: its CR2 adjustment drops a zero eigenvalue)
  dominant = list(data = data.frame(y = c(0.32, 0.26, 0.29, 0.36, 0.22, 0.31, 0.10, 0.48, 0.05, 0.21),
                                    v = c(rep(0.0085, 6), 0.0175, 0.0238, 0.0051, 0.0120),
                                    s = c(rep(1, 6), 2:5), big = c(rep(1, 6), rep(0, 4))),
                  y = "y", v = "v", study = "s", moderators = "big",
                  description = "one study with six of ten effect sizes (typed in)")
)

fit_entry <- function(spec, moderators, weights, rho, small) {
  d <- spec$data
  rhs <- if (length(moderators)) paste(moderators, collapse = " + ") else "1"
  form <- as.formula(paste(spec$y, "~", rhs))
  d$.study <- d[[spec$study]]
  d$.v <- d[[spec$v]]
  fit <- robu(form, data = d, studynum = .study, var.eff.size = .v, modelweights = weights,
              rho = if (is.na(rho)) 0.8 else rho, small = small)
  tab <- fit$reg_table
  info <- fit$mod_info
  list(weights = weights, rho = if (weights == "CORR") rho else NA, small = small,
       moderators = I(moderators), terms = I(as.character(tab$labels)),
       estimate = num(tab$b.r), se = num(tab$SE), t = num(tab$t), df = num(tab$dfs), p = num(tab$prob),
       ci_lower = num(tab$CI.L), ci_upper = num(tab$CI.U),
       tau2 = num(info$tau.sq), omega2 = if (weights == "HIER") num(info$omega.sq) else NA,
       i2 = if (weights == "CORR") num(info$I.2) else NA)
}

sensitivity_entry <- function(spec, moderators) {
  rows <- lapply(seq(0, 1, 0.2), function(rho) fit_entry(spec, moderators, "CORR", rho, TRUE))
  # robumeta's own table, printed at 3 significant digits, must agree with the full-precision fits
  d <- spec$data
  d$.study <- d[[spec$study]]
  d$.v <- d[[spec$v]]
  rhs <- if (length(moderators)) paste(moderators, collapse = " + ") else "1"
  fit <- robu(as.formula(paste(spec$y, "~", rhs)), data = d, studynum = .study, var.eff.size = .v,
              modelweights = "CORR", rho = 0.8, small = TRUE)
  old_width <- options(width = 10000)
  printed <- capture.output(sensitivity(fit))
  options(old_width)
  body <- printed[-(1:6)]  # title, model, blank, "Sensitivity Analysis", blank, column header
  pattern <- "-?[0-9]+\\.?[0-9]*(e-?[0-9]+)?"
  numbers <- t(sapply(body, function(line) {
    tokens <- regmatches(line, gregexpr(pattern, line))[[1]]
    as.numeric(tail(tokens, length(rows)))
  }, USE.NAMES = FALSE))
  for (i in seq_along(rows)) {
    full <- c(rbind(rows[[i]]$estimate, rows[[i]]$se), rows[[i]]$tau2)
    stopifnot(isTRUE(all.equal(full, numbers[, i], tolerance = 2e-3)))
  }
  list(moderators = I(moderators), fits = rows)
}

out_sets <- lapply(names(datasets), function(name) {
  spec <- datasets[[name]]
  fits <- list()
  for (moderators in unique(list(character(0), spec$moderators))) {
    for (small in c(TRUE, FALSE)) {
      fits[[length(fits) + 1]] <- fit_entry(spec, moderators, "CORR", 0.8, small)
      fits[[length(fits) + 1]] <- fit_entry(spec, moderators, "CORR", 0.5, small)
      fits[[length(fits) + 1]] <- fit_entry(spec, moderators, "HIER", NA, small)
    }
  }
  d <- spec$data
  list(name = name, description = spec$description,
       yi = I(sprintf("%.17g", d[[spec$y]])), vi = I(sprintf("%.17g", d[[spec$v]])),
       study = I(as.character(d[[spec$study]])),
       covariates = lapply(setNames(spec$moderators, spec$moderators), function(m) I(sprintf("%.17g", d[[m]]))),
       fits = fits,
       sensitivity = lapply(unique(list(character(0), spec$moderators)), function(m) sensitivity_entry(spec, m)))
})

# CR2 (clubSandwich) for univariate rma.uni fits, one row per study (dat.bcg, log RR):
# intercept-only and meta-regressions, REML and DL, clustered by trial.
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
cr2_entry <- function(mods, method) {
  fit <- if (is.null(mods)) rma(yi, vi, data = bcg, method = method) else
    rma(yi, vi, mods = mods, data = bcg, method = method)
  tests <- coef_test(fit, vcov = "CR2", cluster = bcg$trial, test = "Satterthwaite")
  vc <- as.matrix(vcovCR(fit, type = "CR2", cluster = bcg$trial))
  entry <- list(method = method, formula = if (is.null(mods)) "~ 1" else deparse(mods),
                terms = I(rownames(fit$beta)), estimate = num(fit$beta), tau2 = num(fit$tau2),
                X = lapply(seq_len(ncol(fit$X)), function(j) I(num(fit$X[, j]))),
                se = num(tests$SE), t = num(tests$tstat), df = num(tests$df_Satt), p = num(tests$p_Satt),
                vcov = lapply(seq_len(nrow(vc)), function(i) I(num(vc[i, ]))))
  if (ncol(fit$X) > 2) {
    wald <- Wald_test(fit, constraints = constrain_zero(2:ncol(fit$X)), vcov = "CR2",
                      cluster = bcg$trial, test = "HTZ")
    entry$wald <- list(f = num(wald$Fstat), df_num = num(wald$df_num), df_denom = num(wald$df_denom),
                       p = num(wald$p_val))
  }
  entry
}
cr2 <- list(
  yi = I(sprintf("%.17g", bcg$yi)), vi = I(sprintf("%.17g", bcg$vi)),
  fits = list(cr2_entry(NULL, "REML"), cr2_entry(NULL, "DL"), cr2_entry(~ ablat, "REML"),
              cr2_entry(~ ablat + year, "REML"), cr2_entry(~ factor(alloc), "DL"))
)

out <- list(generated_by = "tests/reference/rve.R",
            robumeta = as.character(packageVersion("robumeta")),
            clubSandwich = as.character(packageVersion("clubSandwich")),
            metafor = as.character(packageVersion("metafor")),
            datasets = out_sets, cr2 = cr2)
write_reference(out, "rve.json", pretty = TRUE)
