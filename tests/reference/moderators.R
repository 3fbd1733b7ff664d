# Reference values for alliance_meta.models.metareg / moderators / permutation: metafor's
# rma.uni with moderators, Knapp-Hartung tests (and their ad hoc variant), subgroup fits and exact
# permutest on metadat's dat.mcdaniel1994, dat.molloy2014, dat.bcg, dat.raudenbush1985 and
# dat.konstantopoulos2011.
# Run from the repository root (Rscript tests/reference/moderators.R) or from tests/reference
# (Rscript moderators.R, make reference): writes moderators.json next to the script.
suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

mcdaniel <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.mcdaniel1994)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
molloy$grp <- ifelse(seq_len(nrow(molloy)) == 1, "solo", molloy$a_measure)
molloy$meanage_centred <- molloy$meanage - mean(molloy$meanage)

summarise_fit <- function(fit, knha) {
  list(
    k = fit$k, tau2 = fit$tau2, columns = rownames(fit$beta),
    beta = c(fit$beta), se = fit$se, zval = fit$zval, pval = fit$pval,
    ci_lb = fit$ci.lb, ci_ub = fit$ci.ub, qm = fit$QM, qm_df = fit$QMdf[1], qm_p = fit$QMp,
    se_knha = knha$se, tval = knha$zval, pval_knha = knha$pval,
    ci_lb_knha = knha$ci.lb, ci_ub_knha = knha$ci.ub,
    f = knha$QM, f_df1 = knha$QMdf[1], f_df2 = knha$QMdf[2], f_p = knha$QMp,
    qe = fit$QE, qe_p = fit$QEp, i2 = fit$I2, h2 = fit$H2,
    r2 = if (is.null(fit$R2)) NA else fit$R2
  )
}

# Each model: data set, formula (R), our formula, reference levels (R's first level), centring.
models <- list(
  list(name = "mcdaniel_type", data = "mcdaniel", mods = ~ type, formula = "type"),
  list(name = "mcdaniel_struct", data = "mcdaniel", mods = ~ struct, formula = "struct"),
  list(name = "mcdaniel_type_struct", data = "mcdaniel", mods = ~ type + struct, formula = "type + struct"),
  list(name = "mcdaniel_type_x_struct", data = "mcdaniel", mods = ~ type * struct, formula = "type * struct"),
  list(name = "molloy_meanage", data = "molloy", mods = ~ meanage, formula = "meanage"),
  list(name = "molloy_meanage_centred", data = "molloy", mods = ~ meanage_centred, formula = "meanage", centre = TRUE),
  list(name = "molloy_controls_design", data = "molloy", mods = ~ controls + design, formula = "controls + design"),
  list(name = "molloy_ameasure_meanage", data = "molloy", mods = ~ a_measure + meanage, formula = "a_measure + meanage"),
  list(name = "molloy_design_x_meanage", data = "molloy", mods = ~ design * meanage, formula = "design * meanage"),
  # without intercept: one slope (QM tests it alone), and one mean per level (QM tests that all are 0)
  list(name = "molloy_meanage_no_intercept", data = "molloy", mods = ~ meanage - 1, formula = "meanage - 1"),
  list(name = "molloy_design_no_intercept", data = "molloy", mods = ~ design - 1, formula = "design - 1")
)
methods <- c("REML", "ML", "DL", "HE", "SJ", "PM", "PMM", "EB", "HS", "HSk")

data_sets <- list(mcdaniel = mcdaniel, molloy = molloy)
out <- list(data = list(
  mcdaniel = list(yi = c(mcdaniel$yi), vi = c(mcdaniel$vi), type = mcdaniel$type, struct = mcdaniel$struct),
  molloy = list(yi = c(molloy$yi), vi = c(molloy$vi), controls = molloy$controls, design = molloy$design,
                a_measure = molloy$a_measure, meanage = molloy$meanage, grp = molloy$grp)
))

out$models <- list()
for (model in models) {
  dat <- data_sets[[model$data]]
  for (method in methods) {
    fit <- rma(yi, vi, mods = model$mods, data = dat, method = method)
    knha <- rma(yi, vi, mods = model$mods, data = dat, method = method, test = "knha")
    entry <- summarise_fit(fit, knha)
    entry$name <- model$name
    entry$data <- model$data
    entry$formula <- model$formula
    entry$centre <- isTRUE(model$centre)
    entry$method <- method
    variables <- all.vars(model$mods)
    entry$reference_levels <- lapply(dat[variables][sapply(dat[variables], is.character)],
                                     function(x) sort(unique(na.omit(x)))[1])
    out$models[[length(out$models) + 1]] <- entry
  }
}

# Subgroups: REML within each level (Wald z), and the test of differences between
# levels with a separate tau^2 per level (fixed-effects model on the level estimates).
subgroup_cases <- list(
  list(name = "mcdaniel_type", data = "mcdaniel", moderator = "type"),
  list(name = "molloy_grp", data = "molloy", moderator = "grp"),
  list(name = "molloy_controls", data = "molloy", moderator = "controls")
)
out$subgroups <- list()
for (case in subgroup_cases) {
  dat <- data_sets[[case$data]]
  dat <- dat[!is.na(dat[[case$moderator]]), ]
  levels <- sort(unique(dat[[case$moderator]]))
  rows <- lapply(levels, function(level) {
    fit <- rma(yi, vi, data = dat[dat[[case$moderator]] == level, ], method = "REML")
    list(level = level, k = fit$k, estimate = c(fit$beta), se = fit$se, ci_lb = fit$ci.lb,
         ci_ub = fit$ci.ub, tau2 = fit$tau2, i2 = fit$I2)
  })
  estimates <- sapply(rows, `[[`, "estimate")
  ses <- sapply(rows, `[[`, "se")
  between <- rma(estimates, sei = ses, method = "FE")
  mixed <- rma(yi, vi, mods = as.formula(paste("~", case$moderator)), data = dat, method = "REML")
  out$subgroups[[length(out$subgroups) + 1]] <- list(
    name = case$name, data = case$data, moderator = case$moderator, levels = rows,
    q_between_separate = between$QE, q_between_separate_df = between$k - 1,
    q_between_separate_p = between$QEp, qm_common = mixed$QM, qm_common_p = mixed$QMp,
    tau2_common = mixed$tau2)
}

# Exact permutation tests (every distinct permutation of the model matrix rows).
permutation_cases <- list(
  list(name = "molloy10_design_z", rows = 1:10, mods = ~ design, formula = "design", test = "z"),
  list(name = "molloy10_design_knha", rows = 1:10, mods = ~ design, formula = "design", test = "knha"),
  list(name = "molloy_controls_knha", rows = 1:16, mods = ~ controls, formula = "controls", test = "knha"),
  list(name = "molloy6_meanage_z", rows = 1:6, mods = ~ meanage, formula = "meanage", test = "z")
)
out$permutations <- list()
for (case in permutation_cases) {
  fit <- rma(yi, vi, mods = case$mods, data = molloy[case$rows, ], method = "REML", test = case$test)
  perm <- permutest(fit, exact = TRUE, progbar = FALSE)
  out$permutations[[length(out$permutations) + 1]] <- list(
    name = case$name, rows = case$rows, formula = case$formula, test = case$test,
    iterations = nrow(perm$zval.perm), pval = perm$pval, qm_p = perm$QMp,
    qm = fit$QM, statistic = c(fit$zval))
}

# The ad hoc Knapp-Hartung variant (test = "adhoc": s2w not below 1; pooling.knha_adhoc) of meta-regressions
# whose knha scale s2w is below 1, so that the floor changes something: the coefficients' t tests, the F test,
# predict() at each level (newmods) and an exact permutest; metadat's dat.bcg (log risk ratios),
# dat.raudenbush1985 (weeks capped at 3, as in metafor's examples) and dat.konstantopoulos2011.
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
raudenbush <- dat.raudenbush1985
raudenbush$weeks_capped <- ifelse(raudenbush$weeks > 3, 3, raudenbush$weeks)
konstantopoulos <- dat.konstantopoulos2011
out$data$bcg <- list(yi = c(bcg$yi), vi = c(bcg$vi), alloc = bcg$alloc, year = bcg$year,
                     study_id = as.character(bcg$trial))
out$data$raudenbush <- list(yi = raudenbush$yi, vi = raudenbush$vi, weeks_capped = raudenbush$weeks_capped)
out$data$konstantopoulos <- list(yi = konstantopoulos$yi, vi = konstantopoulos$vi, year = konstantopoulos$year)
adhoc_data <- list(bcg = bcg, raudenbush = raudenbush, konstantopoulos = konstantopoulos)
adhoc_models <- list(
  list(name = "bcg_alloc", data = "bcg", mods = ~ alloc, formula = "alloc"),
  list(name = "bcg_alloc_year", data = "bcg", mods = ~ alloc + year, formula = "alloc + year"),
  list(name = "raudenbush_weeks", data = "raudenbush", mods = ~ weeks_capped, formula = "weeks_capped"),
  list(name = "konstantopoulos_year", data = "konstantopoulos", mods = ~ year, formula = "year")
)
out$adhoc <- list()
for (model in adhoc_models) {
  dat <- adhoc_data[[model$data]]
  for (method in c("REML", "DL")) {
    knha <- rma(yi, vi, mods = model$mods, data = dat, method = method, test = "knha")
    adhoc <- rma(yi, vi, mods = model$mods, data = dat, method = method, test = "adhoc")
    newmods <- unique(model.matrix(adhoc)[, -1, drop = FALSE])  # one row per level (or value) observed
    predicted <- predict(adhoc, newmods = newmods)
    variables <- all.vars(model$mods)
    out$adhoc[[length(out$adhoc) + 1]] <- list(
      name = model$name, data = model$data, formula = model$formula, method = method,
      reference_levels = lapply(dat[variables][sapply(dat[variables], is.character)],
                                function(x) sort(unique(na.omit(x)))[1]),
      k = adhoc$k, tau2 = adhoc$tau2, s2w_knha = knha$s2w, s2w = adhoc$s2w, beta = c(adhoc$beta),
      se = adhoc$se, tval = adhoc$zval, pval = adhoc$pval, ci_lb = adhoc$ci.lb, ci_ub = adhoc$ci.ub,
      f = adhoc$QM, f_df1 = adhoc$QMdf[1], f_df2 = adhoc$QMdf[2], f_p = adhoc$QMp, f_knha = knha$QM,
      newmods = unname(newmods), pred = c(predicted$pred), pred_se = c(predicted$se),
      pred_ci_lb = c(predicted$ci.lb), pred_ci_ub = c(predicted$ci.ub),
      pred_pi_lb = c(predicted$pi.lb), pred_pi_ub = c(predicted$pi.ub))
  }
}
# exact permutest of an adhoc model: each permutation refitted with test = "adhoc" (rows 2-10 of dat.bcg: 252)
bcg_rows <- 2:10
adhoc <- rma(yi, vi, mods = ~ alloc, data = bcg[bcg_rows, ], method = "REML", test = "adhoc")
knha <- rma(yi, vi, mods = ~ alloc, data = bcg[bcg_rows, ], method = "REML", test = "knha")
perm <- permutest(adhoc, exact = TRUE, progbar = FALSE)
perm_knha <- permutest(knha, exact = TRUE, progbar = FALSE)
out$adhoc_permutation <- list(rows = bcg_rows, formula = "alloc", s2w_knha = knha$s2w,
                              iterations = nrow(perm$zval.perm), pval = perm$pval, f_p = perm$QMp,
                              pval_knha = perm_knha$pval, f_p_knha = perm_knha$QMp)

write_reference(out, "moderators.json", na = "null", pretty = TRUE)
