# Reference values for alliance_meta.models.counts (Mantel-Haenszel, Peto, GLMM "UM.FS"),
# computed with metafor 3.8-1 and lme4. Run from the repository root
# (Rscript tests/reference/counts.R) or from tests/reference (make reference). Writes
# tests/reference/counts.json (committed; the tests need no R).
#
# Data sets (metadat): dat.bcg (no zero cells), dat.nielweise2007 (zero cells and one
# double-zero table), dat.yusuf1985 table 6 (zero cells, three double-zero tables; the row
# without counts is left out); and simulated tables with a zero cell on the same diagonal in every
# table (separation: `separation` in the JSON).
#
# For every data set: rma.mh(measure = "OR") (estimate, RBG se, CMH, Breslow-Day, Tarone,
# Q), rma.peto(), and rma.glmm(measure = "OR", model = "UM.FS") with metafor's default
# nAGQ = 7 and with nAGQ = 1 (Laplace), with predict() for the prediction interval, each
# twice: with glmer's default optimiser ("default") and with bobyqa run to a tiny trust
# radius ("tight"). glmer's default (bobyqa, then Nelder-Mead with FtolAbs = 1e-5) stops
# short of the maximum: on dat.nielweise2007 it warns max|grad| = 0.009 and its estimates
# are ~5e-4 off; "tight" reaches it. To check the likelihood itself, the script evaluates
# lme4's own deviance function (glmer(..., nAGQ, devFunOnly = TRUE), the objective glmer
# minimises) at glmer's estimates and at a point moved away from them. For nAGQ > 1 it is
# -2 log L relative to the saturated model (sum of deviance residuals, lme4's glmerAGQ);
# for nAGQ = 1 it is -2 log L itself (the binomial family's aic, lme4's Laplace()).
suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

num <- function(x) unname(as.numeric(x))
`%||%` <- function(a, b) if (is.null(a)) b else a

tables <- list(
  bcg = with(dat.bcg, data.frame(ai = tpos, bi = tneg, ci = cpos, di = cneg)),
  nielweise2007 = with(dat.nielweise2007, data.frame(ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci)),
  yusuf1985 = with(subset(dat.yusuf1985, table == "6" & !is.na(ai)),
                   data.frame(ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci))
)
descriptions <- c(
  bcg = "dat.bcg: BCG vaccine and tuberculosis (13 trials, no zero cells)",
  nielweise2007 = "dat.nielweise2007: anti-infective catheters (18 trials, zero cells, one double-zero)",
  yusuf1985 = "dat.yusuf1985, table 6: beta blockers (21 trials with counts, zero cells, three double-zero)"
)

# glmer run to convergence: bobyqa in both stages with a tiny final trust radius, and the
# conditional modes (PIRLS) to 1e-10 instead of 1e-7
TIGHT <- list(glmerCtrl = list(optimizer = "bobyqa", tolPwrss = 1e-10,
                               optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e6)))

glmm_entry <- function(tab, nagq, optimiser) {
  control <- if (optimiser == "tight") TIGHT else list()
  fit <- suppressWarnings(rma.glmm(measure = "OR", ai = ai, bi = bi, ci = ci, di = di, data = tab,
                                   model = "UM.FS", nAGQ = nagq, control = control))
  pred <- predict(fit)
  # lme4's deviance function on the same model frame as metafor's glmer() call
  frame <- suppressWarnings(rma.glmm(measure = "OR", ai = ai, bi = bi, ci = ci, di = di, data = tab,
                                     model = "UM.FS", nAGQ = nagq, retdat = TRUE))
  grp <- frame$dat.grp; xfit <- frame$X.fit; study <- frame$study; group <- frame$group
  deviance_function <- lme4::glmer(grp ~ -1 + xfit + study + (group - 1 | study), family = binomial,
                                   nAGQ = nagq, devFunOnly = TRUE)
  # fixed effects at metafor's fit: beta, then the study intercepts glmer estimated
  refit <- suppressWarnings(suppressMessages(
    lme4::glmer(grp ~ -1 + xfit + study + (group - 1 | study), family = binomial, nAGQ = nagq,
                control = do.call(lme4::glmerControl, control$glmerCtrl %||% list()))))
  stopifnot(isTRUE(all.equal(num(lme4::fixef(refit))[1], num(fit$beta), tolerance = 1e-12)))
  theta <- num(lme4::getME(refit, "theta"))
  fixed <- num(lme4::fixef(refit))
  moved <- c(theta * 1.3 + 0.05, fixed[1] + 0.1, fixed[-1] - 0.05)
  # se(beta) from an accurate Hessian of the same deviance at glmer's estimates (numDeriv,
  # Richardson extrapolation) instead of lme4's one-step central differences (delta 1e-4)
  hessian <- numDeriv::hessian(deviance_function, c(theta, fixed))
  se_accurate <- sqrt(2 * solve(hessian)[2, 2])
  z_accurate <- fixed[1] / se_accurate
  list(nagq = nagq, optimiser = optimiser, k = fit$k, estimate = num(fit$beta), se = num(fit$se), zval = num(fit$zval),
       pval = num(fit$pval), ci_lower = num(fit$ci.lb), ci_upper = num(fit$ci.ub),
       pi_lower = num(pred$pi.lb), pi_upper = num(pred$pi.ub), tau2 = num(fit$tau2),
       i2 = num(fit$I2), h2 = num(fit$H2), q_wald = num(fit$QE.Wld), q_wald_p = num(fit$QEp.Wld),
       q_lrt = num(fit$QE.LRT), q_lrt_p = num(fit$QEp.LRT), q_df = num(fit$QE.df),
       se_accurate = se_accurate, zval_accurate = z_accurate,
       pval_accurate = 2 * pnorm(abs(z_accurate), lower.tail = FALSE),
       deviance_points = list(
         list(theta = theta, beta = fixed[1], alpha = fixed[-1],
              deviance = num(deviance_function(c(theta, fixed)))),
         list(theta = moved[1], beta = moved[2], alpha = moved[-(1:2)],
              deviance = num(deviance_function(moved)))))
}

datasets <- lapply(names(tables), function(name) {
  tab <- tables[[name]]
  mh <- suppressWarnings(rma.mh(measure = "OR", ai = ai, bi = bi, ci = ci, di = di, data = tab))
  pt <- suppressWarnings(rma.peto(ai = ai, bi = bi, ci = ci, di = di, data = tab))
  list(
    name = name, description = unname(descriptions[name]),
    ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di,
    mh = list(k = mh$k, k_yi = mh$k.yi, estimate = num(mh$beta), se = num(mh$se), zval = num(mh$zval),
              pval = num(mh$pval), ci_lower = num(mh$ci.lb), ci_upper = num(mh$ci.ub),
              q = num(mh$QE), q_p = num(mh$QEp), i2 = num(mh$I2), h2 = num(mh$H2),
              cmh = num(mh$MH), cmh_p = num(mh$MHp), breslow_day = num(mh$BD), breslow_day_p = num(mh$BDp),
              tarone = num(mh$TA), tarone_p = num(mh$TAp), k_pos = num(mh$k.pos)),
    peto = list(k = pt$k, k_yi = pt$k.yi, estimate = num(pt$beta), se = num(pt$se), zval = num(pt$zval),
                pval = num(pt$pval), ci_lower = num(pt$ci.lb), ci_upper = num(pt$ci.ub),
                q = num(pt$QE), q_p = num(pt$QEp), i2 = num(pt$I2), h2 = num(pt$H2)),
    glmm = list(glmm_entry(tab, 7, "default"), glmm_entry(tab, 7, "tight"),
                glmm_entry(tab, 1, "default"), glmm_entry(tab, 1, "tight"))
  )
})

# Separation: every table has a zero cell on the same diagonal (here no dropout, n12 = 0, in the
# stronger-alliance row of any table; simulated). The MH odds ratio is infinite: rma.mh gives NA for
# the estimate and for Q, I^2 and H^2 (with the CMH test); rma.peto is finite; rma.glmm stops
# ("Cannot fit ML model"). The mirrored tables (rows swapped) give an odds ratio of 0.
separation_entry <- function(tab) {
  mh <- suppressWarnings(rma.mh(measure = "OR", ai = ai, bi = bi, ci = ci, di = di, data = tab))
  pt <- suppressWarnings(rma.peto(ai = ai, bi = bi, ci = ci, di = di, data = tab))
  glmm <- try(suppressWarnings(rma.glmm(measure = "OR", ai = ai, bi = bi, ci = ci, di = di, data = tab,
                                        model = "UM.FS")), silent = TRUE)
  list(ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di,
       mh = list(k = mh$k, k_yi = mh$k.yi, estimate = num(mh$beta), q = num(mh$QE), q_p = num(mh$QEp),
                 i2 = num(mh$I2), h2 = num(mh$H2), cmh = num(mh$MH), cmh_p = num(mh$MHp)),
       peto = list(k = pt$k, estimate = num(pt$beta), se = num(pt$se), ci_lower = num(pt$ci.lb),
                   ci_upper = num(pt$ci.ub), q = num(pt$QE), q_p = num(pt$QEp), i2 = num(pt$I2), h2 = num(pt$H2)),
       glmm_error = if (inherits(glmm, "try-error")) conditionMessage(attr(glmm, "condition")) else NA)
}
same_arm <- data.frame(ai = c(20, 12, 9, 30, 6), bi = 0, ci = c(15, 10, 6, 25, 3), di = c(4, 2, 3, 6, 2))
separation <- list(
  infinite = separation_entry(same_arm),
  zero = separation_entry(with(same_arm, data.frame(ai = ci, bi = di, ci = ai, di = bi)))
)

out <- list(
  generated_by = "tests/reference/counts.R",
  metafor = as.character(packageVersion("metafor")),
  lme4 = as.character(packageVersion("lme4")),
  datasets = datasets,
  separation = separation
)
write_reference(out, "counts.json", pretty = TRUE)
