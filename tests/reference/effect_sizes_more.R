# Reference values for the input kinds of alliance_meta.inputs.effect_sizes that effect_sizes.R does not cover
# (each used by the demo sheet): Fisher z as reported, log OR with its SE (as log OR, as Hedges' g and as Fisher z)
# and a chi-square as Hedges' g; with metafor's escalc where it has the conversion, by the cited formula in plain R
# arithmetic where it has not. Same case layout as effect_sizes.json (tests/test_effect_sizes.py reads both).
# Run from the repository root (Rscript tests/reference/effect_sizes_more.R) or from tests/reference
# (make reference): writes effect_sizes_more.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

cases <- list()
add_case <- function(name, source, family, metric, input_kind, sheet, yi, vi) {
  cases[[name]] <<- list(source = source, family = family, metric = metric, input_kind = input_kind,
                         sheet = as.list(sheet), yi = as.numeric(yi), vi = as.numeric(vi))
}

# Fisher z as reported: metafor's ZCOR of dat.molloy2014 typed in as z with n
mol <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add_case("z_as_reported", "metafor escalc ZCOR of dat.molloy2014, its z typed in with n", "outcome", "z", "fisher_z",
         data.frame(fisher_z = as.numeric(mol$yi), n = mol$ni), mol$yi, mol$vi)

# log OR with SE: the 2x2 tables of dat.bcg and dat.nielweise2007 (as effect_sizes.R), metafor's OR and OR2DL
bcg <- dat.bcg
niel <- dat.nielweise2007
tables <- data.frame(n11 = c(bcg$tpos, niel$ai), n12 = c(bcg$tneg, niel$n1i - niel$ai),
                     n21 = c(bcg$cpos, niel$ci), n22 = c(bcg$cneg, niel$n2i - niel$ci))
tables[] <- lapply(tables, as.numeric)
lor <- escalc(measure = "OR", ai = n11, bi = n12, ci = n21, di = n22, data = tables)
or2d <- escalc(measure = "OR2DL", ai = n11, bi = n12, ci = n21, di = n22, data = tables)
sheet <- data.frame(log_or = as.numeric(lor$yi), log_or_se = sqrt(as.numeric(lor$vi)))
add_case("log_or_se_as_log_or", "metafor escalc OR of dat.bcg/dat.nielweise2007 typed in as log OR and SE",
         "dropout", "log_or", "log_or_se", sheet, lor$yi, lor$vi)
add_case("smd_from_log_or_se", "metafor escalc OR2DL (d = log OR sqrt(3)/pi, v = v_logOR 3/pi^2) of the same tables",
         "dropout", "smd", "log_or_se", sheet, or2d$yi, or2d$vi)
d <- lor$yi * sqrt(3) / pi
var_d <- lor$vi * 3 / pi^2
r <- d / sqrt(d^2 + 4)
var_r <- 16 * var_d / (d^2 + 4)^3
add_case("z_from_log_or_se_delta_by_hand", "log OR -> d -> r (a = 4) -> z; v = Var(r)/(1-r^2)^2, Var(r) = 16 Var(d)/(d^2+4)^3",
         "outcome", "z", "log_or_se", sheet, 0.5 * log((1 + r) / (1 - r)), var_r / (1 - r^2)^2)

# chi-square as Hedges' g: chisq.test(correct = FALSE) of the dat.bcg tables; phi from the cells; d = 2 phi /
# sqrt(1 - phi^2) with two groups of n/2; g = J(n - 2) d with the exact J; v = 1/n1 + 1/n2 + g^2/(2(n1 + n2))
chi <- sapply(seq_len(nrow(bcg)), function(i)
  suppressWarnings(chisq.test(matrix(c(bcg$tpos[i], bcg$cpos[i], bcg$tneg[i], bcg$cneg[i]), 2),
                              correct = FALSE)$statistic))
phi <- (bcg$tpos * bcg$cneg - bcg$tneg * bcg$cpos) /
  sqrt(as.numeric(bcg$tpos + bcg$tneg) * (bcg$cpos + bcg$cneg) * (bcg$tpos + bcg$cpos) * (bcg$tneg + bcg$cneg))
n <- bcg$tpos + bcg$tneg + bcg$cpos + bcg$cneg
m <- n - 2
J <- exp(lgamma(m / 2) - log(sqrt(m / 2)) - lgamma((m - 1) / 2))
g <- J * 2 * phi / sqrt(1 - phi^2)
add_case("smd_from_chi2_by_hand", "chisq.test(correct = FALSE) of dat.bcg; phi -> d = 2 phi/sqrt(1-phi^2) -> g (exact J), v by hand",
         "dropout", "smd", "chi2",
         data.frame(chi2 = unname(chi), n = n, direction = ifelse(phi >= 0, "positive", "negative")),
         g, 2 / (n / 2) + g^2 / (2 * n))

write_reference(list(metafor = as.character(packageVersion("metafor")), cases = cases), "effect_sizes_more.json",
                na = "null", pretty = FALSE)
