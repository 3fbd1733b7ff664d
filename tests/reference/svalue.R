# Reference values for alliance_meta.analyses.bias.svalue: S-values for publication bias
# (Mathur & VanderWeele 2020) from the R package PublicationBias 2.4.0 (robust model, q = 0 and 0.1).
# Run from the repository root (Rscript tests/reference/svalue.R) or from tests/reference
# (Rscript svalue.R, make reference): writes svalue.json next to the script
# (committed; the tests need no R).
#
# PublicationBias is not on Debian: fetch the CRAN mirrors cran/metabias (0.1.1) and
# cran/PublicationBias (2.4.0), `R CMD INSTALL --no-docs -l <lib> <folder>` each, and run with
# R_LIBS=<lib>. Without the package this script leaves svalue.json as it is.
#
# pubbias_svalue() finds the S-values with optimize() over [1, 200] (tolerance ~1e-4); the
# `tight` values solve pubbias_meta()'s estimate (or lower limit) = q with uniroot(tol = 1e-13).
if (!requireNamespace("PublicationBias", quietly = TRUE) ||
    packageVersion("PublicationBias") != "2.4.0") {
  message("PublicationBias 2.4.0 is not installed: svalue.json left unchanged")
  quit(status = 0)
}
suppressPackageStartupMessages({
  library(metafor)
  library(PublicationBias)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

datasets <- list(
  # the package's example: bias assumed to favour negative log risk ratios
  bcg = as.data.frame(escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))[, c("yi", "vi")],
  hackshaw1998 = data.frame(yi = dat.hackshaw1998$yi, vi = dat.hackshaw1998$vi),
  hackshaw1998_negated = data.frame(yi = -dat.hackshaw1998$yi, vi = dat.hackshaw1998$vi),
  lehmann2018 = data.frame(yi = dat.lehmann2018$yi, vi = dat.lehmann2018$vi),
  baskerville2012 = data.frame(yi = dat.baskerville2012$smd, vi = dat.baskerville2012$se^2),
  molloy2014 = as.data.frame(escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014))[, c("yi", "vi")],
  bangertdrowns2004 = data.frame(yi = dat.bangertdrowns2004$yi, vi = dat.bangertdrowns2004$vi)
)
# q = 0 except (name = q): a non-null value to shift to
targets <- list(lehmann2018_q0.1 = list(data = "lehmann2018", q = 0.1),
                molloy2014_q0.1 = list(data = "molloy2014", q = 0.1))

as_value <- function(x) if (is.numeric(x)) x else as.character(x)

reference <- list(PublicationBias_version = as.character(packageVersion("PublicationBias")),
                  robumeta_version = as.character(packageVersion("robumeta")), datasets = list())
cases <- c(lapply(setNames(names(datasets), names(datasets)), function(n) list(data = n, q = 0)), targets)
for (name in names(cases)) {
  dat <- datasets[[cases[[name]]$data]]
  q <- cases[[name]]$q
  favor <- c(rma(yi, vi, data = dat, method = "FE")$beta) > 0
  meta <- function(eta) pubbias_meta(yi = dat$yi, vi = dat$vi, selection_ratio = eta, model_type = "robust",
                                     favor_positive = favor)
  corrected <- lapply(c(1, 4, 30), function(eta) {
    m <- meta(eta)
    c(as.list(m$stats[c("estimate", "se", "ci_lower", "ci_upper", "p_value")]),
      list(eta = eta, df = m$fits$robust$reg_table$dfs))
  })
  sv <- pubbias_svalue(yi = dat$yi, vi = dat$vi, q = q, model_type = "robust", favor_positive = favor,
                       return_worst_meta = TRUE)
  worst <- sv$fits$meta_worst
  worst_stats <- if (is.null(worst)) NULL else
    c(as.list(metabias::robu_ci(worst)[c("estimate", "se", "ci_lower", "ci_upper", "p_value")]),
      list(df = worst$reg_table$dfs))
  # the S-values to full precision: roots of the (flipped) corrected estimate or lower limit
  sign <- if (favor) 1 else -1
  root <- function(stat, upper) {
    f <- function(eta) {
      s <- meta(eta)$stats
      sign * ((if (stat == "estimate") s$estimate else if (favor) s$ci_lower else s$ci_upper) - q)
    }
    if (f(1) > 0 && f(upper) < 0) uniroot(f, c(1, upper), tol = 1e-13)$root else NA
  }
  reference$datasets[[name]] <- list(
    yi = dat$yi, vi = dat$vi, q = q, favor_positive = favor, corrected = corrected,
    svalue = list(sval_est = as_value(sv$stats$sval_est), sval_ci = as_value(sv$stats$sval_ci),
                  k_affirmative = sv$values$k_affirmative, k_nonaffirmative = sv$values$k_nonaffirmative,
                  worst = worst_stats),
    tight = list(sval_est = root("estimate", 1e6), sval_ci = root("ci_lower", 200))
  )
}

write_reference(reference, "svalue.json", na = "null", pretty = TRUE)
