# Reference values for alliance_meta.models.univariate / heterogeneity, computed with metafor.
# Run from the repository root (Rscript tests/reference/pooling.R) or from
# tests/reference (make reference). Writes tests/reference/pooling.json (committed;
# the tests need no R).
#
# For every data set, estimator (EE = our "common", DL, HE, HS, HSk, SJ, ML, REML, EB,
# PM, PMM, GENQ) and test (z, knha, adhoc): rma(), predict() and confint() results.
# GENQ uses weights 1/sqrt(vi) (Jackson 2013). Where metafor stops with an error (e.g.
# confint() of an EE model or of a k = 1 model) the figures are NA and the error is stored.
#
# CompQuadForm shim: confint() of a GENQ fit computes the generalised-Q interval of
# tau^2 with CompQuadForm::farebrother(). CompQuadForm is not installable here (CRAN
# unreachable, no Debian package), so shims/CompQuadForm, a tiny package with the same
# farebrother() signature and return value (list(Qq = P[Q > q], ifault)) written in
# base R (Imhof's 1961 integral on a rotated path, integrate(rel.tol = 1e-12); see
# shims/CompQuadForm/R/farebrother.R), is installed into a temporary library and put
# first on .libPaths(). The real farebrother() (Farebrother's AS 204, eps = 1e-10) and
# the shim agree to ~1e-10 in probability; the interval bounds are uniroot iterates at
# tolerance eps^0.25, so a different but equally accurate P[Q > q] moves them by far
# less than 1e-6 relative. The shim replaces an installed CompQuadForm too, so the
# numbers do not depend on the machine.
suppressPackageStartupMessages({
  library(metafor)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference
shim_lib <- file.path(tempdir(), "shim-library")
dir.create(shim_lib, showWarnings = FALSE)
install.packages(file.path(script_dir, "shims", "CompQuadForm"), repos = NULL, type = "source",
                 lib = shim_lib, quiet = TRUE)
.libPaths(c(shim_lib, .libPaths()))
stopifnot(identical(dirname(find.package("CompQuadForm")), normalizePath(shim_lib)))

zcor <- function(ri, ni) escalc(measure = "ZCOR", ri = ri, ni = ni)

datasets <- list()
add <- function(name, description, es) {
  es <- es[!is.na(es$yi) & !is.na(es$vi), ]
  datasets[[name]] <<- list(name = name, description = description,
                            # inputs as text at 17 significant digits: exact doubles
                            yi = I(sprintf("%.17g", es$yi)), vi = I(sprintf("%.17g", es$vi)))
}

add("molloy2014", "dat.molloy2014: conscientiousness and medication adherence (ZCOR)",
    with(dat.molloy2014, zcor(ri, ni)))
add("mcdaniel1994", "dat.mcdaniel1994: employment interview validity (ZCOR, k = 160)",
    with(dat.mcdaniel1994, zcor(ri, ni)))
add("craft2003", "dat.craft2003: anxiety and sport performance, all rows as independent (ZCOR)",
    with(dat.craft2003, zcor(ri, ni)))
add("aloe2013", "dat.aloe2013: partial correlations from regression t values (ZPCOR)",
    with(dat.aloe2013, escalc(measure = "ZPCOR", ti = tval, ni = n, mi = preds)))
add("normand1999", "dat.normand1999: length of stay, specialist vs routine care (SMD)",
    with(dat.normand1999, escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                                 m2i = m2i, sd2i = sd2i, n2i = n2i)))
add("bangertdrowns2004", "dat.bangertdrowns2004: writing-to-learn interventions (SMD)",
    dat.bangertdrowns2004)
add("edge_k2", "k = 2", zcor(c(0.20, 0.45), c(60, 120)))
add("edge_tau2_zero", "homogeneous correlations: tau^2 truncated at 0",
    zcor(c(0.25, 0.27, 0.24, 0.26, 0.25, 0.28), c(80, 120, 60, 150, 90, 110)))
add("edge_one_large", "one study a hundred times larger than the rest",
    zcor(c(0.31, 0.12, 0.25, 0.40, 0.18, 0.22, 0.35, 0.05, 0.28, 0.21),
         c(80, 60, 95, 70, 85, 75, 90, 65, 100, 8000)))
add("edge_all_equal", "all effects equal (r = .30)",
    zcor(rep(0.30, 6), c(40, 55, 70, 90, 120, 200)))
add("edge_r_0999", "one study with r = .999",
    zcor(c(0.20, 0.30, 0.25, 0.999, 0.10), c(50, 60, 40, 30, 80)))
add("edge_k1", "k = 1", zcor(0.30, 50))

methods <- c("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
tests <- c("z", "knha", "adhoc")
fields <- c("estimate", "se", "statistic", "p", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
            "tau2", "tau2_ci_lower", "tau2_ci_upper", "i2", "i2_ci_lower", "i2_ci_upper",
            "h2", "h2_ci_lower", "h2_ci_upper", "q", "q_df", "q_p")

fit_one <- function(yi, vi, method, test) {
  out <- setNames(as.list(rep(NA_real_, length(fields))), fields)
  out$method <- method
  out$test <- test
  out$error <- NA_character_
  out$confint_error <- NA_character_
  args <- list(yi = yi, vi = vi, method = method, test = test)
  if (method == "GENQ") args$weights <- 1 / sqrt(vi)
  res <- tryCatch(suppressWarnings(do.call(rma, args)), error = function(e) conditionMessage(e))
  if (is.character(res)) {
    out$error <- res
    return(out)
  }
  pred <- predict(res)
  out$estimate <- c(res$beta); out$se <- res$se; out$statistic <- res$zval; out$p <- res$pval
  out$ci_lower <- res$ci.lb; out$ci_upper <- res$ci.ub
  # predict() of an EE model has no prediction interval: it equals the CI (tau^2 = 0).
  out$pi_lower <- if (is.null(pred$pi.lb)) pred$ci.lb else pred$pi.lb
  out$pi_upper <- if (is.null(pred$pi.ub)) pred$ci.ub else pred$pi.ub
  out$tau2 <- res$tau2; out$i2 <- res$I2; out$h2 <- res$H2
  out$q <- res$QE; out$q_df <- res$k - res$p; out$q_p <- res$QEp
  ci <- tryCatch(suppressWarnings(confint(res)), error = function(e) conditionMessage(e))
  if (is.character(ci)) {
    out$confint_error <- ci
  } else {
    r <- ci$random
    out$tau2_ci_lower <- r["tau^2", "ci.lb"]; out$tau2_ci_upper <- r["tau^2", "ci.ub"]
    out$i2_ci_lower <- r["I^2(%)", "ci.lb"]; out$i2_ci_upper <- r["I^2(%)", "ci.ub"]
    out$h2_ci_lower <- r["H^2", "ci.lb"]; out$h2_ci_upper <- r["H^2", "ci.ub"]
  }
  out
}

for (name in names(datasets)) {
  d <- datasets[[name]]
  fits <- list()
  yi <- as.numeric(d$yi); vi <- as.numeric(d$vi)
  for (method in methods) for (test in tests) fits[[length(fits) + 1]] <- fit_one(yi, vi, method, test)
  datasets[[name]]$fits <- fits
}

out <- list(metafor_version = as.character(packageVersion("metafor")),
            compquadform = "shims/CompQuadForm (base-R Imhof stand-in for CompQuadForm::farebrother)",
            r_version = R.version.string, level = 95,
            datasets = unname(datasets))
write_reference(out, "pooling.json", na = "string", pretty = TRUE)
