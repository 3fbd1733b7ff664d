# Reference values for the forest plot's weights under dependence: multilevel
# (alliance_meta.models.multilevel.row_weights): metafor's weights(rma.mv) (type "diagonal": the
# diagonal of W = M^-1, M = V + sigma2_between J + sigma2_within I, in percent), for the CHE model
# (V from vcalc with a common rho) on metadat data sets with several effect sizes per study.
# The fitted sigma2 are written too, so the test evaluates the weights at metafor's own estimates.
# Run from the repository root (Rscript tests/reference/multilevel_weights.R) or from tests/reference
# (make reference): writes multilevel_weights.json next to the script.
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

run_case <- function(name, dat, rho) {
  V <- if (rho == 0) diag(dat$vi) else vcalc(vi, cluster = study, obs = es, rho = rho, data = dat)
  res <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat)
  list(name = name, rho = rho, yi = sprintf("%.17g", dat$yi), vi = sprintf("%.17g", dat$vi),
       study = as.character(dat$study), sigma2 = res$sigma2, weights = unname(weights(res)))
}

konst <- dat.konstantopoulos2011
konst$study <- konst$district
konst$es <- konst$school
assink <- dat.assink2016
assink$es <- assink$esid

cases <- list(
  run_case("konstantopoulos2011", konst, 0),
  run_case("konstantopoulos2011_rho0.6", konst, 0.6),
  run_case("assink2016_rho0.5", assink, 0.5)
)
out <- list(metafor = as.character(packageVersion("metafor")), cases = cases)
write_reference(out, "multilevel_weights.json", pretty = TRUE)
