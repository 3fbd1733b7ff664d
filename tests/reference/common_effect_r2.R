# Reference values for alliance_meta.models.metareg.pseudo_r2 of common-effect meta-regressions: metafor's
# R^2 of rma.uni(method = "FE" / "EE" / "CE") with moderators, which is
# max(0, 100 * summary(lm(yi ~ X, weights = 1/vi))$adj.r.squared) (rma.uni.r, r2def "1"), not the ratio of
# tau^2 estimates of random-effects fits. Data: metadat's dat.molloy2014 as Fisher z (as moderators.R).
# Run from the repository root (Rscript tests/reference/common_effect_r2.R) or from tests/reference:
# writes common_effect_r2.json next to the script.
suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
formulas <- c("meanage", "design + meanage")
cases <- list()
for (method in c("FE", "EE", "CE")) {
  for (formula in formulas) {
    fit <- rma(yi, vi, mods = as.formula(paste("~", formula)), data = molloy, method = method)
    cases[[length(cases) + 1]] <- list(method = method, formula = formula, r2 = fit$R2, k = fit$k)
  }
}
out <- list(
  metafor = as.character(packageVersion("metafor")),
  data = list(yi = c(molloy$yi), vi = c(molloy$vi), meanage = molloy$meanage, design = as.character(molloy$design)),
  cases = cases
)
write_reference(out, "common_effect_r2.json", pretty = TRUE)
