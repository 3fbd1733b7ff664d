# Reference for the weighted regressions of egger_lm and PET-PEESE on sampling variances spread beyond what one
# scale of double precision holds (alliance_meta.analyses.bias.regression): vi = 10^(7 i - 300), i = 0..85, from
# 1e-300 to 1e295, with SIMULATED effects rnorm(86, 0.3, 1) at set.seed(1). No study, nor a few, holds all but 2^-26
# of the weight (each weight is 1e7 times the next), yet the weights 1/vi span 1e595: weighted, the columns of the
# intercept and of sqrt(vi) (or vi) are linearly dependent in double precision. R's lm gives the slope SE Inf and
# t 0 (`lm_sei`, `lm_vi`; metafor's regtest(model = "lm"), `regtest_lm`, likewise): not a number to match, so
# ours says the regression is not determined (tests/test_bias_dominant_reference.py).
suppressPackageStartupMessages({
  library(metafor)
})
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)

set.seed(1)
yi <- rnorm(86, 0.3, 1)
vi <- 10^(7 * (0:85) - 300)
table <- function(fit) {
  coefs <- summary(fit)$coefficients
  list(estimate = unname(coefs[, 1]), se = unname(coefs[, 2]), t = unname(coefs[, 3]))
}
lm_test <- regtest(yi, vi, model = "lm")
geo <- list(yi = sprintf("%.17g", yi), vi = sprintf("%.17g", vi),
            lm_sei = table(lm(yi ~ sqrt(vi), weights = 1 / vi)), lm_vi = table(lm(yi ~ vi, weights = 1 / vi)),
            regtest_lm = list(statistic = lm_test$zval, estimate = unname(lm_test$est)))
write_reference(list(metafor_version = as.character(packageVersion("metafor")), cases = list(geometric = geo)),
                "bias_extremes.json", pretty = TRUE)
