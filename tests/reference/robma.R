# Reference values for robust Bayesian meta-analysis (RoBMA-PSMA, RoBMA 3.6.1,
# BayesTools 0.2.22, JAGS 4), not packaged by Debian: without RoBMA (or JAGS) this script says so
# and leaves robma.json as it is.
# Run from the repository root (Rscript tests/reference/robma.R) or from tests/reference
# (Rscript robma.R, make reference): writes robma.json next to the script
# (about 20 minutes per data set on this shared machine).
# Per-set runs are combined by robma_combine.R. The committed robma.json came from the version
# before the per-model columns were fixed (BayesTools names them prior_prob / marglik /
# post_prob), so its "models" entries hold the labels only.
#      Rscript tests/reference/robma.R molloy6 /tmp/robma/molloy6.json   (one data set, to run
#      them in parallel; the per-set JSON objects are the entries of robma.json)
#
# Data sets
#  molloy:  dat.molloy2014 (metafor/metadat; correlations, k = 16), Fisher z with
#           se = 1/sqrt(n - 3), passed as z = , se = : priors on Cohen's d (RoBMA default).
#  molloy6: its first 6 studies (a small sheet where the evidence is equivocal).
#  bcg:     dat.bcg log risk ratios (k = 13) passed as y = , se = (priors on the analysis scale).
if (!requireNamespace("RoBMA", quietly = TRUE)) {
  message("RoBMA (with JAGS) is not installed: robma.json left unchanged")
  quit(status = 0)
}
suppressPackageStartupMessages({library(RoBMA); library(metafor)})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

run <- function(name, args) {
  t0 <- Sys.time()
  fit <- do.call(RoBMA, c(args, list(seed = 1, parallel = FALSE)))
  secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  s  <- summary(fit)
  sc <- summary(fit, conditional = TRUE)
  sm <- summary(fit, type = "models")$summary
  diag <- as.data.frame(summary(fit, type = "diagnostics")$diagnostics)
  comp <- as.data.frame(s$components)
  est  <- as.data.frame(s$estimates)
  cest <- as.data.frame(sc$estimates_conditional)
  list(
    name = name, seconds = secs,
    components = list(names = rownames(comp), prior_prob = comp$prior_prob,
                      post_prob = comp$post_prob, inclusion_bf = comp$inclusion_BF),
    # ensemble_estimates_table has no Monte Carlo error column: sd / sqrt(ESS) of the mixed draws
    estimates = list(names = rownames(est), mean = est$Mean, median = est$Median,
                     lower = est$`0.025`, upper = est$`0.975`,
                     mcmc_error = sapply(rownames(est), function(p) tryCatch({
                       x <- as.numeric(fit$RoBMA$posteriors[[p]])
                       sd(x) / sqrt(coda::effectiveSize(x))
                     }, error = function(e) NA))),
    conditional = list(names = rownames(cest), mean = cest$Mean, median = cest$Median,
                       lower = cest$`0.025`, upper = cest$`0.975`),
    models = list(effect = as.character(sm$Effect), heterogeneity = as.character(sm$Heterogeneity),
                  bias = as.character(sm$Bias), prior_prob = sm$prior_prob,
                  log_marglik = sm$marglik, post_prob = sm$post_prob,
                  bridge_cv = sapply(fit$models, function(m) tryCatch(
                    bridgesampling::error_measures(m$marglik)$cv, error = function(e) NA))),
    diagnostics = diag,
    mu_samples_sd = sd(fit$RoBMA$posteriors$mu), tau_samples_sd = sd(fit$RoBMA$posteriors$tau),
    n_samples = length(fit$RoBMA$posteriors$mu)
  )
}

m <- dat.molloy2014
zi <- atanh(m$ri); sei <- 1 / sqrt(m$ni - 3)
b <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

sets <- list(
  molloy  = function() c(run("molloy",  list(z = zi, se = sei)), list(yi = zi, sei = sei, scale = "cohens_d")),
  molloy6 = function() c(run("molloy6", list(z = zi[1:6], se = sei[1:6])), list(yi = zi[1:6], sei = sei[1:6], scale = "cohens_d")),
  bcg     = function() c(run("bcg",     list(y = b$yi, se = sqrt(b$vi))), list(yi = as.numeric(b$yi), sei = sqrt(b$vi), scale = "analysis"))
)
args <- commandArgs(trailingOnly = TRUE)
chosen <- if (length(args) >= 1) args[1] else names(sets)
path <- if (length(args) >= 2) args[2] else file.path(script_dir, "robma.json")
out <- lapply(sets[chosen], function(f) f())
out$versions <- list(RoBMA = as.character(packageVersion("RoBMA")), BayesTools = as.character(packageVersion("BayesTools")))
write_json(out, path, digits = NA, auto_unbox = TRUE, pretty = TRUE)
