# Reference values for src/alliance_meta/effect_sizes.py and dependence.py, computed with
# metafor on real rows of metadat where metafor has the conversion, and by the cited
# formula in plain R arithmetic where it has not.
# Run from the repository root (Rscript tests/reference/effect_sizes.R) or from tests/reference
# (Rscript effect_sizes.R, make reference): writes effect_sizes.json next to the script (committed).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

cases <- list()
add_case <- function(name, source, family, metric, input_kind, sheet, yi, vi, extra = list()) {
  cases[[name]] <<- c(list(source = source, family = family, metric = metric,
                           input_kind = input_kind, sheet = as.list(sheet),
                           yi = as.numeric(yi), vi = as.numeric(vi)), extra)
}

# --- correlations -------------------------------------------------------------------------
mol <- dat.molloy2014
es <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = mol)
add_case("zcor_r", "metafor escalc ZCOR on dat.molloy2014", "outcome", "z", "r",
         data.frame(r = mol$ri, n = mol$ni), es$yi, es$vi)

# t of a correlation (df = n - 2), F = t^2 and two-sided p from R's pt: round trips to ZCOR
t_of_r <- mol$ri * sqrt(mol$ni - 2) / sqrt(1 - mol$ri^2)
add_case("t_df_round_trip", "t = r sqrt(n-2)/sqrt(1-r^2) of dat.molloy2014; expected metafor ZCOR",
         "outcome", "z", "t_df", data.frame(t = t_of_r, df = mol$ni - 2), es$yi, es$vi)
direction <- ifelse(mol$ri >= 0, "positive", "negative")
add_case("f_df_round_trip", "F = t^2 of dat.molloy2014 with direction; expected metafor ZCOR",
         "outcome", "z", "f_df", data.frame(f = t_of_r^2, df = mol$ni - 2, direction = direction),
         es$yi, es$vi)
add_case("p_n_round_trip", "two-sided p = 2 pt(-|t|, n-2) of dat.molloy2014; expected metafor ZCOR",
         "outcome", "z", "p_n",
         data.frame(p = 2 * pt(-abs(t_of_r), mol$ni - 2), n = mol$ni, direction = direction),
         es$yi, es$vi)

# Spearman rho (Rupinski & Dunlap 1996) and t with arbitrary df: the cited formula by hand
rho <- c(-0.45, -0.12, 0, 0.08, 0.31, 0.52, 0.77, 0.93)
n_rho <- c(25, 40, 61, 88, 120, 33, 210, 18)
add_case("spearman_by_hand", "r = 2 sin(pi rho/6), z = atanh(r) = log((1+r)/(1-r))/2, v = 1/(n-3)",
         "outcome", "z", "rho", data.frame(rho = rho, n = n_rho),
         0.5 * log((1 + 2 * sin(pi * rho / 6)) / (1 - 2 * sin(pi * rho / 6))), 1 / (n_rho - 3))
# Kendall's tau (r = sin(pi tau/2); Kendall 1970) of real data: datasets::swiss (n = 47), the
# tau of Fertility with every other column; the cited formula by hand
sw <- datasets::swiss
tau_swiss <- sapply(names(sw)[-1], function(v) cor(sw$Fertility, sw[[v]], method = "kendall"))
r_tau <- sin(pi * tau_swiss / 2)
add_case("kendall_by_hand", "Kendall tau of Fertility with each column of datasets::swiss; r = sin(pi tau/2), z = atanh(r), v = 1/(n-3)",
         "outcome", "z", "kendall_tau", data.frame(kendall_tau = unname(tau_swiss), n = nrow(sw)),
         0.5 * log((1 + r_tau) / (1 - r_tau)), rep(1 / (nrow(sw) - 3), length(r_tau)))

# Standardized regression coefficients (Peterson & Brown 2005: r = beta + .05 [beta >= 0]) of real
# data: lm of scaled Fertility on the scaled other columns of datasets::swiss, and a model
# with Education alone (|beta| > .5, outside the validated range); the cited formula by hand
full <- lm(scale(Fertility) ~ scale(Agriculture) + scale(Examination) + scale(Education) +
             scale(Catholic) + scale(Infant.Mortality), data = sw)
single <- lm(scale(Fertility) ~ scale(Education), data = sw)
beta_swiss <- c(unname(coef(full)[-1]), unname(coef(single)[2]))
r_beta <- beta_swiss + 0.05 * (beta_swiss >= 0)
add_case("beta_by_hand", "standardized betas of lm on datasets::swiss; r = beta + .05 (beta >= 0), z = atanh(r), v = 1/(n-3)",
         "outcome", "z", "beta", data.frame(beta = beta_swiss, n = nrow(sw)),
         0.5 * log((1 + r_beta) / (1 - r_beta)), rep(1 / (nrow(sw) - 3), length(r_beta)))

# Two-level (HLM) slopes: nlme::lme of MathAch on student SES with a random intercept per
# school (Raudenbush & Bryk 2002's High School and Beyond data, nlme::MathAchieve); the slope's
# t and df as the paper would report them; r = t/sqrt(t^2 + df), n = df + 2, by hand
hsb <- nlme::MathAchieve
hlm <- function(rows) {
  fit <- nlme::lme(MathAch ~ SES, random = ~ 1 | School, data = hsb[rows, ], method = "REML")
  summary(fit)$tTable["SES", c("t-value", "DF")]
}
slopes <- rbind(hlm(TRUE), hlm(hsb$Minority == "Yes"), hlm(hsb$Sex == "Female"),
                hlm(hsb$MEANSES < -0.5))
r_hlm <- slopes[, 1] / sqrt(slopes[, 1]^2 + slopes[, 2])
add_case("hlm_slope_by_hand", "t and df of the SES slope of nlme::lme(MathAch ~ SES, random = ~1|School) on nlme::MathAchieve and subsets; r = t/sqrt(t^2+df), v = 1/(df-1)",
         "outcome", "z", "t_df", data.frame(t = unname(slopes[, 1]), df = unname(slopes[, 2])),
         0.5 * log((1 + r_hlm) / (1 - r_hlm)), 1 / (slopes[, 2] - 1))

t_values <- c(-3.2, -0.4, 0, 1.1, 2.05, 4.8)
df_values <- c(30, 12, 57, 100, 45, 250)
r_t <- t_values / sqrt(t_values^2 + df_values)
add_case("t_df_by_hand", "r = t/sqrt(t^2+df), n = df + 2", "outcome", "z", "t_df",
         data.frame(t = t_values, df = df_values),
         0.5 * log((1 + r_t) / (1 - r_t)), 1 / (df_values - 1))

# partial correlations of dat.aloe2013: yi from metafor ZPCOR (mi = predictors = covariates + 1)
alo <- dat.aloe2013
ez <- escalc(measure = "ZPCOR", ti = tval, ni = n, mi = preds, data = alo)
partial_r <- alo$tval / sqrt(alo$tval^2 + alo$n - alo$preds - 1)
add_case("zpcor_partial_r", paste("metafor escalc ZPCOR on dat.aloe2013 (yi); vi = 1/(n - q - 3),",
                                  "q = preds - 1 covariates (Fisher 1924); metafor 3.8's vi kept as metafor_vi"),
         "outcome", "z", "partial_r",
         data.frame(partial_r = partial_r, n = alo$n, n_covariates = alo$preds - 1),
         ez$yi, 1 / (alo$n - (alo$preds - 1) - 3), list(metafor_vi = as.numeric(ez$vi)))

# --- standardized mean differences --------------------------------------------------------
nor <- dat.normand1999
smd <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nor)
add_case("smd_means", "metafor escalc SMD (vtype LS) on dat.normand1999", "dropout", "smd", "means_sds",
         data.frame(m1 = nor$m1i, sd1 = nor$sd1i, n1 = nor$n1i, m2 = nor$m2i, sd2 = nor$sd2i, n2 = nor$n2i),
         smd$yi, smd$vi)
pooled_sd <- sqrt(((nor$n1i - 1) * nor$sd1i^2 + (nor$n2i - 1) * nor$sd2i^2) / (nor$n1i + nor$n2i - 2))
d_nor <- (nor$m1i - nor$m2i) / pooled_sd
smd_d <- escalc(measure = "SMD", di = d_nor, n1i = nor$n1i, n2i = nor$n2i)
add_case("smd_d", "metafor escalc SMD with di = d of dat.normand1999", "dropout", "smd", "d",
         data.frame(d = d_nor, n1 = nor$n1i, n2 = nor$n2i), smd_d$yi, smd_d$vi)
t_nor <- d_nor / sqrt(1 / nor$n1i + 1 / nor$n2i)
smd_t <- escalc(measure = "SMD", ti = t_nor, n1i = nor$n1i, n2i = nor$n2i)
add_case("smd_t_groups", "metafor escalc SMD with ti = t of dat.normand1999", "dropout", "smd", "t_groups",
         data.frame(t = t_nor, n1 = nor$n1i, n2 = nor$n2i), smd_t$yi, smd_t$vi)
dir_nor <- ifelse(t_nor >= 0, "positive", "negative")
add_case("smd_f_groups", "F = t^2 with direction; expected metafor escalc SMD with ti", "dropout", "smd",
         "f_groups", data.frame(f = t_nor^2, n1 = nor$n1i, n2 = nor$n2i, direction = dir_nor),
         smd_t$yi, smd_t$vi)
add_case("smd_p_groups", "p = 2 pt(-|t|, n1+n2-2) with direction; expected metafor escalc SMD with ti",
         "dropout", "smd", "p_groups",
         data.frame(p = 2 * pt(-abs(t_nor), nor$n1i + nor$n2i - 2), n1 = nor$n1i, n2 = nor$n2i,
                    direction = dir_nor), smd_t$yi, smd_t$vi)
add_case("smd_g_as_reported", "g = metafor SMD yi of dat.normand1999; vi = metafor SMD vi", "dropout", "smd", "g",
         data.frame(g = smd$yi, n1 = nor$n1i, n2 = nor$n2i), smd$yi, smd$vi)
# r -> d = 2r/sqrt(1-r^2) (Borenstein eq. 7.6, n/2 per group) -> metafor SMD with di
r_mol <- mol$ri
n_even <- 2 * round(mol$ni / 2)
d_from_r <- 2 * r_mol / sqrt(1 - r_mol^2)
smd_r <- escalc(measure = "SMD", di = d_from_r, n1i = n_even / 2, n2i = n_even / 2)
add_case("smd_from_r", "d = 2r/sqrt(1-r^2) of dat.molloy2014, then metafor SMD with di, n1 = n2 = n/2",
         "dropout", "smd", "r", data.frame(r = r_mol, n = n_even), smd_r$yi, smd_r$vi)

# means -> log OR (metafor D2ORL), r -> d -> log OR (D2ORL with m1 = d, m2 = 0, sd = 1)
d2or <- escalc(measure = "D2ORL", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nor)
add_case("log_or_from_means", "metafor escalc D2ORL on dat.normand1999", "dropout", "log_or", "means_sds",
         data.frame(m1 = nor$m1i, sd1 = nor$sd1i, n1 = nor$n1i, m2 = nor$m2i, sd2 = nor$sd2i, n2 = nor$n2i),
         d2or$yi, d2or$vi)
ones <- rep(1, length(d_from_r))
d2or_r <- escalc(measure = "D2ORL", m1i = d_from_r, m2i = 0 * ones, sd1i = ones, sd2i = ones,
                 n1i = n_even / 2, n2i = n_even / 2)
add_case("log_or_from_r", "d = 2r/sqrt(1-r^2) of dat.molloy2014, then metafor D2ORL, n1 = n2 = n/2",
         "dropout", "log_or", "r", data.frame(r = r_mol, n = n_even), d2or_r$yi, d2or_r$vi)

# z from d (Borenstein eq. 7.5) by hand
a_nor <- (nor$n1i + nor$n2i)^2 / (nor$n1i * nor$n2i)
r_pb <- d_nor / sqrt(d_nor^2 + a_nor)
add_case("z_from_d_by_hand", "r = d/sqrt(d^2 + (n1+n2)^2/(n1 n2)), z = atanh(r), v = 1/(n1+n2-3)",
         "outcome", "z", "d", data.frame(d = d_nor, n1 = nor$n1i, n2 = nor$n2i),
         0.5 * log((1 + r_pb) / (1 - r_pb)), 1 / (nor$n1i + nor$n2i - 3))

# --- 2x2 tables ---------------------------------------------------------------------------
bcg <- dat.bcg
bcg[c("tpos", "tneg", "cpos", "cneg")] <- lapply(bcg[c("tpos", "tneg", "cpos", "cneg")], as.numeric)
niel <- dat.nielweise2007  # has zero cells: escalc adds 1/2 to those tables only
tables <- data.frame(n11 = c(bcg$tpos, niel$ai), n12 = c(bcg$tneg, niel$n1i - niel$ai),
                     n21 = c(bcg$cpos, niel$ci), n22 = c(bcg$cneg, niel$n2i - niel$ci))
tables[] <- lapply(tables, as.numeric)  # products of counts overflow R's integers
lor <- escalc(measure = "OR", ai = n11, bi = n12, ci = n21, di = n22, data = tables)
add_case("log_or_counts", "metafor escalc OR (add = 1/2, to = only0) on dat.bcg and dat.nielweise2007",
         "dropout", "log_or", "counts", tables, lor$yi, lor$vi)
or2d <- escalc(measure = "OR2DL", ai = n11, bi = n12, ci = n21, di = n22, data = tables)
add_case("smd_from_counts", "metafor escalc OR2DL on dat.bcg and dat.nielweise2007", "dropout", "smd",
         "counts", tables, or2d$yi, or2d$vi)
ci_half <- qnorm(0.975) * sqrt(lor$vi)
add_case("log_or_from_ci", "OR and 95% Wald CI from metafor OR of dat.bcg/dat.nielweise2007; expected the same yi, vi",
         "dropout", "log_or", "or_ci",
         data.frame(odds_ratio = exp(lor$yi), or_ci_lower = exp(lor$yi - ci_half),
                    or_ci_upper = exp(lor$yi + ci_half)), lor$yi, lor$vi)
# z from counts by hand: log OR -> d -> r (a from the row totals) -> z, v = 1/(N - 3)
cell <- tables + ifelse(apply(tables == 0, 1, any), 0.5, 0)
log_or_hand <- log((cell$n11 * cell$n22) / (cell$n12 * cell$n21))
d_or <- log_or_hand * sqrt(3) / pi
g1 <- tables$n11 + tables$n12
g2 <- tables$n21 + tables$n22
r_or <- d_or / sqrt(d_or^2 + (g1 + g2)^2 / (g1 * g2))
add_case("z_from_counts_by_hand", "log OR -> d = log OR sqrt(3)/pi -> r (eq. 7.5) -> z, v = 1/(N-3)",
         "outcome", "z", "counts", tables, 0.5 * log((1 + r_or) / (1 - r_or)), 1 / (g1 + g2 - 3))
# z from an OR with CI and no n: delta method by hand
se_or <- sqrt(lor$vi)
d_ci <- lor$yi * sqrt(3) / pi
var_d <- se_or^2 * 3 / pi^2
r_ci <- d_ci / sqrt(d_ci^2 + 4)
var_r <- 16 * var_d / (d_ci^2 + 4)^3
add_case("z_from_or_ci_delta_by_hand", "OR CI -> d -> r (a = 4) -> z; v = Var(r)/(1-r^2)^2, Var(r) = 16 Var(d)/(d^2+4)^3",
         "outcome", "z", "or_ci",
         data.frame(odds_ratio = exp(lor$yi), or_ci_lower = exp(lor$yi - ci_half),
                    or_ci_upper = exp(lor$yi + ci_half)),
         0.5 * log((1 + r_ci) / (1 - r_ci)), var_r / (1 - r_ci^2)^2)
# chi-square of the bcg tables (no continuity correction): phi from the cell formula by hand
chi <- sapply(seq_len(nrow(bcg)), function(i)
  suppressWarnings(chisq.test(matrix(c(bcg$tpos[i], bcg$cpos[i], bcg$tneg[i], bcg$cneg[i]), 2),
                              correct = FALSE)$statistic))
phi <- (bcg$tpos * bcg$cneg - bcg$tneg * bcg$cpos) /
  sqrt((bcg$tpos + bcg$tneg) * (bcg$cpos + bcg$cneg) * (bcg$tpos + bcg$cpos) * (bcg$tneg + bcg$cneg))
n_bcg <- bcg$tpos + bcg$tneg + bcg$cpos + bcg$cneg
add_case("chi2_phi_by_hand", "chisq.test(correct = FALSE) of dat.bcg; phi = (ad-bc)/sqrt(row and column totals)",
         "outcome", "z", "chi2",
         data.frame(chi2 = unname(chi), n = n_bcg, direction = ifelse(phi >= 0, "positive", "negative")),
         0.5 * log((1 + phi) / (1 - phi)), 1 / (n_bcg - 3))

# --- aggregation of dependent effect sizes ------------------------------------------------
aggregations <- list()
add_aggregation <- function(name, source, data, cluster, rho, weighted) {
  x <- escalc(yi = yi, vi = vi, data = data.frame(yi = data$yi, vi = data$vi, study_id = as.character(cluster)))
  agg <- aggregate(x, cluster = x$study_id, struct = "CS", rho = rho, weighted = weighted)
  aggregations[[name]] <<- list(source = source, rho = rho, method = if (weighted) "gls" else "mean",
                                rows = list(study_id = as.character(cluster), yi = data$yi, vi = data$vi),
                                study_id = as.character(agg$study_id), yi = as.numeric(agg$yi),
                                vi = as.numeric(agg$vi))
}
add_aggregation("assink2016_gls_0.5", "aggregate.escalc(struct = CS, rho = 0.5) on dat.assink2016",
                dat.assink2016, dat.assink2016$study, 0.5, TRUE)
add_aggregation("assink2016_gls_0.8", "aggregate.escalc(struct = CS, rho = 0.8) on dat.assink2016",
                dat.assink2016, dat.assink2016$study, 0.8, TRUE)
add_aggregation("assink2016_mean_0.5", "aggregate.escalc(struct = CS, rho = 0.5, weighted = FALSE) on dat.assink2016",
                dat.assink2016, dat.assink2016$study, 0.5, FALSE)
add_aggregation("konstantopoulos2011_gls_0.3", "aggregate.escalc(struct = CS, rho = 0.3), clusters = districts",
                dat.konstantopoulos2011, dat.konstantopoulos2011$district, 0.3, TRUE)

write_reference(list(metafor = as.character(packageVersion("metafor")), cases = cases, aggregations = aggregations),
                "effect_sizes.json", na = "null", pretty = FALSE)
