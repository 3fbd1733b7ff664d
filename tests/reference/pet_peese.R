# Reference values for alliance_meta.analyses.bias.regression.pet_peese (bias.csv's pet, peese and
# pet_peese rows): PET = lm(yi ~ sqrt(vi), weights = 1/vi), PEESE = lm(yi ~ vi, weights = 1/vi)
# (Stanley & Doucouliagos 2014), the t test of each intercept on k - 2 df and its confint(), at the
# 95% and 90% levels, with base R's lm on data sets of metadat (those of bias.R).
# PET-PEESE reports PEESE when PET's intercept differs from 0 (one-sided: p / 2 < alpha in the
# direction of the estimate; two-sided: p < alpha), else PET: `chosen` for alpha = 0.05.
# Run from the repository root (Rscript tests/reference/pet_peese.R) or from tests/reference
# (make reference): writes pet_peese.json next to the script (committed; the tests need no R).
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

datasets <- list(
  molloy2014 = escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014),
  mcdaniel1994 = escalc("ZCOR", ri = ri, ni = ni, data = dat.mcdaniel1994),
  hackshaw1998 = dat.hackshaw1998,
  hackshaw1998_reversed = within(dat.hackshaw1998, yi <- -yi),
  bangertdrowns2004 = dat.bangertdrowns2004,
  bcg = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
)

intercept <- function(fit, level) {
  row <- summary(fit)$coefficients[1, ]
  ci <- confint(fit, level = level / 100)[1, ]
  list(estimate = unname(row["Estimate"]), se = unname(row["Std. Error"]), t = unname(row["t value"]),
       p = unname(row["Pr(>|t|)"]), df = fit$df.residual, ci_lower = unname(ci[1]), ci_upper = unname(ci[2]))
}

out <- list(r_version = R.version.string, datasets = list())
for (name in names(datasets)) {
  dat <- datasets[[name]]
  dat <- dat[!is.na(dat$yi) & !is.na(dat$vi), ]
  yi <- as.vector(dat$yi)
  vi <- as.vector(dat$vi)
  pet <- lm(yi ~ sqrt(vi), weights = 1 / vi)
  peese <- lm(yi ~ vi, weights = 1 / vi)
  entry <- list(yi = I(sprintf("%.17g", yi)), vi = I(sprintf("%.17g", vi)), levels = list())
  for (level in c(95, 90)) {
    entry$levels[[as.character(level)]] <- list(pet = intercept(pet, level), peese = intercept(peese, level))
  }
  p <- entry$levels[["95"]]$pet$p
  entry$chosen <- list(one = if (p / 2 < 0.05) "peese" else "pet", two = if (p < 0.05) "peese" else "pet")
  out$datasets[[name]] <- entry
}

write_reference(out, "pet_peese.json", pretty = TRUE)
