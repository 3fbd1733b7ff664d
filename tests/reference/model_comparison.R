# Reference values for alliance_meta.analyses.model_comparison: metafor's anova(full, reduced,
# refit = TRUE) (likelihood-ratio tests of nested meta-regressions on ML refits, with each
# model's fit statistics, tau^2, QE and the pseudo-R^2), vif() (per coefficient and generalised
# VIFs of coefficient sets) and predict(fit, newmods = ...) at marginal rows (each level of a
# categorical moderator, or mean -+ SD of a continuous one, the other moderators averaged over
# the rows), Wald and Knapp-Hartung, on metadat's dat.bcg, dat.molloy2014 and dat.mcdaniel1994.
# Run from the repository root (Rscript tests/reference/model_comparison.R) or from tests/reference
# (Rscript model_comparison.R, make reference): writes model_comparison.json next to the script.
suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
molloy$meanage_c <- molloy$meanage - mean(molloy$meanage)
mcdaniel <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.mcdaniel1994)
data_sets <- list(bcg = bcg, molloy = molloy, mcdaniel = mcdaniel)
columns <- list(bcg = c("ablat", "year", "alloc"), molloy = c("meanage", "a_measure", "design", "controls"),
                mcdaniel = c("type", "struct"))
continuous <- c("ablat", "year", "meanage")

formula_text <- function(f) if (identical(f, ~ 1)) "1" else paste(deparse(f[[2]]), collapse = "")
rows_of <- function(dat, formulas) {
  variables <- unique(unlist(lapply(formulas, all.vars)))
  dat[complete.cases(dat[c("yi", "vi", variables)]), ]
}
references <- function(dat, formula) {
  variables <- all.vars(formula)
  variables <- variables[!(variables %in% c(continuous, "meanage_c"))]
  lapply(dat[variables], function(x) sort(unique(x))[1])
}

out <- list(data = lapply(names(data_sets), function(name) {
  dat <- data_sets[[name]]
  c(list(yi = c(dat$yi), vi = c(dat$vi)), lapply(dat[columns[[name]]], function(x) x))
}))
names(out$data) <- names(data_sets)
out$continuous <- continuous

# --- likelihood-ratio tests ----------------------------------------------------------------
comparisons <- list(
  list(data = "bcg", full = ~ ablat + year, reduced = ~ ablat),
  list(data = "bcg", full = ~ ablat, reduced = ~ 1),
  list(data = "bcg", full = ~ alloc + ablat, reduced = ~ ablat),
  list(data = "molloy", full = ~ a_measure + meanage, reduced = ~ meanage),
  list(data = "molloy", full = ~ design * meanage, reduced = ~ design + meanage),
  list(data = "mcdaniel", full = ~ type + struct, reduced = ~ type),
  list(data = "mcdaniel", full = ~ type * struct, reduced = ~ type + struct),
  list(data = "mcdaniel", full = ~ type * struct, reduced = ~ 1)
)
stats_ml <- function(s) setNames(as.list(s), names(s))
out$comparisons <- list()
for (case in comparisons) {  # at top level: anova's refit (update) evaluates the model calls here
  dat <- rows_of(data_sets[[case$data]], list(case$full, case$reduced))
  full_mods <- case$full
  reduced_mods <- case$reduced
  full <- rma(yi, vi, mods = full_mods, data = dat)  # REML, refitted by ML in anova
  reduced <- rma(yi, vi, mods = reduced_mods, data = dat)
  res <- anova(full, reduced, refit = TRUE)
  out$comparisons[[length(out$comparisons) + 1]] <- list(data = case$data, rows = as.integer(rownames(dat)), full = formula_text(case$full),
       reduced = formula_text(case$reduced), reference_levels = references(dat, case$full),
       k = full$k, parms_full = res$parms.f, parms_reduced = res$parms.r,
       stats_full = stats_ml(res$fit.stats.f), stats_reduced = stats_ml(res$fit.stats.r),
       lrt = res$LRT, pval = res$pval, qe_full = res$QE.f, qe_reduced = res$QE.r,
       tau2_full = res$tau2.f, tau2_reduced = res$tau2.r, r2 = res$R2, method = res$method)
}

# --- variance inflation factors -------------------------------------------------------------
vif_cases <- list(
  list(data = "bcg", mods = ~ ablat + year + alloc, groups = list(ablat = 2, year = 3, alloc = 4:5)),
  list(data = "molloy", mods = ~ a_measure + meanage + design + controls,
       groups = list(a_measure = 2, meanage = 3, design = 4, controls = 5)),
  list(data = "mcdaniel", mods = ~ type * struct, groups = list(type = 2:3, struct = 4, "type:struct" = 5))  # types:structu is redundant
)
out$vif <- lapply(vif_cases, function(case) {
  dat <- rows_of(data_sets[[case$data]], list(case$mods))
  fit <- rma(yi, vi, mods = case$mods, data = dat)
  single <- vif(fit)
  grouped <- vif(fit, btt = unname(case$groups))
  list(data = case$data, rows = as.integer(rownames(dat)), formula = formula_text(case$mods),
       reference_levels = references(dat, case$mods), columns = rownames(fit$beta),
       vif = unname(single$vifs), groups = lapply(case$groups, function(g) g - 1),  # 0-based
       gvif = unname(sapply(grouped$vif, function(x) x$vif)), gsif = unname(sapply(grouped$vif, function(x) x$sif)))
})

# --- predictions at marginal rows -----------------------------------------------------------
# The marginal row of `value` of `variable`: the mean model-matrix row over the data with that
# variable set to the value (factors keep all their levels), without the intercept.
marginal <- function(mods, dat, variable, value) {
  d2 <- dat
  for (v in all.vars(mods)) if (is.character(d2[[v]])) d2[[v]] <- factor(d2[[v]], levels = sort(unique(dat[[v]])))
  d2[[variable]] <- if (is.factor(d2[[variable]])) factor(rep(value, nrow(d2)), levels = levels(d2[[variable]])) else value
  colMeans(model.matrix(mods, data = d2))[-1]
}
prediction_cases <- list(
  list(data = "bcg", mods = ~ alloc + ablat, formula = "alloc + ablat", centre = FALSE),
  list(data = "mcdaniel", mods = ~ type * struct, formula = "type * struct", centre = FALSE),
  list(data = "molloy", mods = ~ meanage, formula = "meanage", centre = FALSE),
  list(data = "molloy", mods = ~ a_measure + meanage_c, formula = "a_measure + meanage", centre = TRUE)
)
out$predictions <- lapply(prediction_cases, function(case) {
  dat <- rows_of(data_sets[[case$data]], list(case$mods))
  fits <- list(z = rma(yi, vi, mods = case$mods, data = dat),
               knha = rma(yi, vi, mods = case$mods, data = dat, test = "knha"))
  grid <- list()
  for (v in all.vars(case$mods)) {
    original <- if (v == "meanage_c") "meanage" else v
    if (original %in% continuous) {
      x <- dat[[original]]; values <- c(mean(x) - sd(x), mean(x), mean(x) + sd(x))
      shift <- if (v == "meanage_c") mean(x) else 0
      for (value in values) grid[[length(grid) + 1]] <- list(variable = original, value = value,
                                                               row = marginal(case$mods, dat, v, value - shift))
    } else {
      for (value in sort(unique(dat[[v]]))) grid[[length(grid) + 1]] <- list(variable = v, value = value,
                                                                              row = marginal(case$mods, dat, v, value))
    }
  }
  newmods <- do.call(rbind, lapply(grid, function(g) g$row))
  tests <- lapply(fits, function(fit) {
    p <- predict(fit, newmods = newmods[, !fit$coef.na[-1], drop = FALSE])  # redundant columns dropped
    list(pred = p$pred, se = p$se, ci_lb = p$ci.lb, ci_ub = p$ci.ub, pi_lb = p$pi.lb, pi_ub = p$pi.ub, tau2 = fit$tau2)
  })
  list(data = case$data, rows = as.integer(rownames(dat)), formula = case$formula, centre = case$centre,
       reference_levels = references(dat, case$mods),
       variables = sapply(grid, function(g) g$variable), values = lapply(grid, function(g) g$value),
       tests = tests)
})

write_reference(out, "model_comparison.json", null = "null", na = "null", pretty = FALSE)
