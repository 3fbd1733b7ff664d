# Reference values for alliance_meta.analyses.psychometric from psychmeta (Dahlke & Wiernik 2019).
#
# psychmeta is not packaged by Debian: it was installed from its source repository
# (github.com/psychmeta/psychmeta, version 2.7.0) with `R CMD INSTALL --no-docs <folder>`
# after the Debian packages r-cran-metafor, r-cran-dplyr, r-cran-tidyr, r-cran-tibble,
# r-cran-purrr, r-cran-rlang, r-cran-progress, r-cran-ggplot2, r-cran-boot, r-cran-curl.
# Without it this script says so and leaves psychometric.json as it is.
# Run from the repository root (Rscript tests/reference/psychometric.R) or from tests/reference
# (Rscript psychometric.R, make reference): writes psychometric.json next to the script: the
# data sets (so the tests need no R) and, for each case, psychmeta's meta-analysis table
# translated to psychometric.csv's columns.
#
# Data sets (real, shipped with psychmeta):
#   data_r_gonzalezmule_2014: Gonzalez-Mule, Mount & Oh (2014, J Appl Psychol 99(6)),
#     general mental ability and citizenship behaviour, 43 samples with rxx, ryy and ux
#     (the worked example of Schmidt & Hunter 2015, ch. 3-4, as used in psychmeta's examples);
#   data_r_roth_2015: Roth et al. (2015, Intelligence 53), intelligence and school grades,
#     240 samples, rxx on 161 and ux on 61 of them (sporadic artifacts), no ryy;
#   data_r_mcleod_2007: McLeod, Weisz & Wood (2007, Clin Psychol Rev 27), parenting and
#     childhood depression, 45 samples without artifacts;
#   data_r_uvdrr: psychmeta's hypothetical example of direct range restriction, 50 samples with
#     rxx, ryy and ux all varying (for the Case II and IV artifact distributions).
# It also pools psychmeta's individually corrected correlations with metafor's rma, the reference
# of the multiverse's `correction: individual` specifications (tests/test_multiverse_correction.py).
if (!requireNamespace("psychmeta", quietly = TRUE)) {
  message("psychmeta is not installed: psychometric.json left unchanged")
  quit(status = 0)
}
suppressPackageStartupMessages({
  library(psychmeta)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

options(psychmeta.show_progress = FALSE)
stopifnot(packageVersion("psychmeta") >= "2.6.0")

columns <- c("k", "n", "r_bar", "var_r", "var_e", "var_res", "sd_res", "rho", "var_rho", "sd_rho", "se",
             "ci_lower", "ci_upper", "cr_lower", "cr_upper", "percent_artifact_variance")

# psychmeta's tables in psychometric.csv's columns (percentages from psychmeta's heterogeneity()).
translate <- function(table, method, percent) {
  t <- as.list(as.data.frame(table))
  ci <- grep("^CI_", names(t), value = TRUE)
  cr <- grep("^CR_", names(t), value = TRUE)
  if (method == "bare_bones") {
    out <- list(t$k, t$N, t$mean_r, t$var_r, t$var_e, t$var_res, t$sd_res, t$mean_r, t$var_res, t$sd_res,
                t$se_r, t[[ci[1]]], t[[ci[2]]], t[[cr[1]]], t[[cr[2]]], percent)
  } else {
    out <- list(t$k, t$N, t$mean_r, t$var_r, t$var_e, t$var_res, t$sd_res, t$mean_rho, t$var_rho, t$sd_rho,
                t$se_r_c, t[[ci[1]]], t[[ci[2]]], t[[cr[1]]], t[[cr[2]]], percent)
  }
  setNames(lapply(out, as.numeric), columns)
}

percent_total <- function(ma, method) {
  h <- heterogeneity(ma)$heterogeneity[[1]]
  part <- switch(method, bare_bones = h$barebones, individual = h$individual_correction$true_score,
                 artifact_distribution = h$artifact_distribution$true_score)
  as.numeric(part$percent_var_accounted["total"])
}

cases <- list()
add_case <- function(name, data, method, options, ma, rows = "all", description = "", table = NULL, ryy = NULL) {
  if (is.null(table)) {
    table <- switch(method, bare_bones = ma$meta_tables[[1]]$barebones,
                    individual = ma$meta_tables[[1]]$individual_correction$true_score,
                    artifact_distribution = ma$meta_tables[[1]]$artifact_distribution$true_score)
  }
  cases[[length(cases) + 1]] <<- list(name = name, data = data, method = method, rows = rows,
                                      options = options, description = description,
                                      expected = translate(table, method, percent_total(ma, method)))
  # a constant ryy given to every row of the data set (as psychometric.outcome_reliability does)
  if (!is.null(ryy)) cases[[length(cases)]]$ryy <<- ryy
}

# ---------------------------------------------------------------------------------------------
# Gonzalez-Mule et al. (2014): every artifact on every row
# ---------------------------------------------------------------------------------------------
gm <- as.data.frame(data_r_gonzalezmule_2014)
gm_data <- list(r = gm$rxyi, n = gm$n, rxx = gm$rxxi, ryy = gm$ryyi, ux = gm$ux,
                rating_source = gm$`Rating source`, sample = gm$Study)

ma <- ma_r_bb(r = rxyi, n = n, data = gm)
add_case("gm_bb_default", "gonzalezmule_2014", "bare_bones", list(), ma,
         description = "ma_r_bb with psychmeta's defaults")
ma <- ma_r_bb(r = rxyi, n = n, correct_bias = FALSE, conf_method = "norm", cred_method = "norm", data = gm)
add_case("gm_bb_textbook", "gonzalezmule_2014", "bare_bones",
         list(correct_bias = FALSE, intervals = "normal"), ma,
         description = "psychmeta's example replicating the text: correct_bias = FALSE, normal intervals")
ma <- ma_r_bb(r = rxyi, n = n, hs_override = TRUE, data = gm)
add_case("gm_bb_hs", "gonzalezmule_2014", "bare_bones", list(hunter_schmidt = TRUE), ma,
         description = "hs_override = TRUE")

ma <- ma_r_ic(rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, correct_rr_x = FALSE, correct_rr_y = FALSE, data = gm)
add_case("gm_ic_meas", "gonzalezmule_2014", "individual", list(correction_method = "meas"), ma,
         description = "unreliability in x and y")
gm_ic_meas <- ma
ma <- ma_r_ic(rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, ux = ux, indirect_rr_x = TRUE, correct_rr_y = FALSE,
              data = gm)
add_case("gm_ic_uvirr", "gonzalezmule_2014", "individual", list(correction_method = "uvirr"), ma,
         description = "Case IV: indirect range restriction in x")
gm_ic_uvirr <- ma
ma <- ma_r_ic(rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, ux = ux, indirect_rr_x = FALSE, correct_rr_y = FALSE,
              data = gm)
add_case("gm_ic_uvdrr", "gonzalezmule_2014", "individual", list(correction_method = "uvdrr"), ma,
         description = "Case II: direct range restriction in x")
ma <- ma_r_ic(rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, ux = ux, indirect_rr_x = TRUE, correct_rr_y = FALSE,
              hs_override = TRUE, data = gm)
add_case("gm_ic_uvirr_hs", "gonzalezmule_2014", "individual",
         list(correction_method = "uvirr", hunter_schmidt = TRUE), ma,
         description = "Case IV with hs_override = TRUE (psychmeta's published example)")

ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi,
           correct_rr_x = FALSE, correct_rr_y = FALSE, data = gm)
add_case("gm_ad_meas", "gonzalezmule_2014", "artifact_distribution", list(correction_method = "meas"), ma,
         description = "interactive artifact distributions of rxx and ryy")
gm_ad <- ma
ad_summary <- function(ad) {
  s <- attributes(ad)$summary
  list(k = s["qxi_irr", "k"], n = s["qxi_irr", "N"], mean_q = s["qxi_irr", "mean"], sd_q = s["qxi_irr", "sd"],
       sd_e_q = s["qxi_irr", "sd_e"], sd_res_q = s["qxi_irr", "sd_res"], mean_reliability = s["rxxi_irr", "mean"],
       sd_reliability = s["rxxi_irr", "sd"])
}
u_summary <- function(ad) {
  s <- attributes(ad)$summary
  list(k = s["ut", "k"], n = s["ut", "N"], mean_q = s["ut", "mean"], sd_q = s["ut", "sd"], sd_e_q = s["ut", "sd_e"],
       sd_res_q = s["ut", "sd_res"])
}

# Indirect range restriction (Case IV) in the interactive artifact distributions (ma_r_ad.int_uvirr):
# distributions of qx, qy and ut = estimate_ut(ux, mean rxxi). Here without rounding the artifacts
# (decimals = Inf): every ux of this data set is 0.63, but inside ma_r two of them (the samples of
# n = 117 and 215) become 0.62999999999999989, so with the default decimals = 2 the ut distribution
# has two distinct values, is rounded and becomes 0.60 instead of 0.5998; docs/psychometric.md.
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, ux = ux,
           correct_rr_y = FALSE, indirect_rr_x = TRUE, control = control_psychmeta(decimals = Inf), data = gm)
add_case("gm_ad_uvirr", "gonzalezmule_2014", "artifact_distribution", list(correction_method = "uvirr", decimals = NA),
         ma, description = "interactive artifact distributions of rxx, ryy and ut (Case IV), no rounding")
gm_distributions <- list(rxx = ad_summary(gm_ad$ad[[1]]$ad$ad_x), ryy = ad_summary(gm_ad$ad[[1]]$ad$ad_y),
                         ut = u_summary(ma$ad[[1]]$ad$ad_x))
# Direct range restriction (Case II) in the artifact distributions (ma_r_ad.int_uvdrr): q_xa from rxxi
# and the mean ux, and the distribution of ux; again without rounding.
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, ux = ux,
           correction_method = "uvdrr", correct_rr_y = FALSE, indirect_rr_x = FALSE,
           control = control_psychmeta(decimals = Inf), data = gm)
add_case("gm_ad_uvdrr", "gonzalezmule_2014", "artifact_distribution", list(correction_method = "uvdrr", decimals = NA),
         ma, description = "interactive artifact distributions of q_xa, ryy and ux (Case II), no rounding")

# Per-study individual corrections (Case IV): the forest plot's values.
escalc <- gm_ic_uvirr$escalc[[1]]$individual_correction$true_score
gm_studies <- list(rho = escalc$yi, var_e_c = escalc$vi, weight = escalc$weight, A = escalc$A, a = escalc$a)

# Multiverse `correction: individual`: psychmeta's individually corrected correlations and their
# corrected sampling-error variances (escalc of ma_r_ic), pooled by metafor's rma like any other
# specification (one row per sample, so no aggregation).
pool_corrected <- function(escalc) {
  fits <- list(common_z = list("FE", "z"), DL_z = list("DL", "z"), REML_knha = list("REML", "knha"))
  lapply(fits, function(f) {
    fit <- metafor::rma(yi = escalc$yi, vi = escalc$vi, method = f[[1]], test = f[[2]])
    list(estimate = as.numeric(fit$b), se = fit$se, ci_lower = fit$ci.lb, ci_upper = fit$ci.ub, p = fit$pval,
         tau2 = fit$tau2)
  })
}
gm_multiverse <- list(
  uvirr = pool_corrected(escalc),
  meas = pool_corrected(gm_ic_meas$escalc[[1]]$individual_correction$true_score))

# Moderator (rating source): each level separately; artifact distributions from all rows.
moderator_cases <- list()
add_moderator_cases <- function(ma, method, options, data = "gonzalezmule_2014", moderator = "Rating source",
                                column = "rating_source") {
  tables <- ma$meta_tables
  for (i in seq_len(nrow(ma))) {
    if (ma$analysis_type[i] != "Simple Moderator") next
    table <- switch(method, bare_bones = tables[[i]]$barebones,
                    individual = tables[[i]]$individual_correction$true_score,
                    artifact_distribution = tables[[i]]$artifact_distribution$true_score)
    level <- as.character(ma[[moderator]][i])
    if (is.na(level)) next  # alliance_meta leaves rows without a value of the moderator out
    expected <- translate(table, method, NA)
    expected$percent_artifact_variance <- NULL
    moderator_cases[[length(moderator_cases) + 1]] <<- list(
      data = data, moderator = column, level = level, method = method,
      options = options, expected = expected)
  }
}
ma <- ma_r(ma_method = "ic", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, correct_rr_x = FALSE,
           correct_rr_y = FALSE, moderators = "Rating source", data = gm)
add_moderator_cases(ma, "bare_bones", list())
add_moderator_cases(ma, "individual", list(correction_method = "meas"))
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, correct_rr_x = FALSE,
           correct_rr_y = FALSE, moderators = "Rating source", data = gm)
add_moderator_cases(ma, "artifact_distribution", list(correction_method = "meas"))
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, ux = ux, correct_rr_y = FALSE,
           indirect_rr_x = TRUE, moderators = "Rating source", control = control_psychmeta(decimals = Inf), data = gm)
add_moderator_cases(ma, "artifact_distribution", list(correction_method = "uvirr", decimals = NA))

# ---------------------------------------------------------------------------------------------
# Roth et al. (2015): sporadic artifacts (rxx on 161 of 240 samples, ux on 61), no ryy
# ---------------------------------------------------------------------------------------------
roth <- as.data.frame(data_r_roth_2015)
roth_data <- list(r = roth$rxyi, n = roth$n, rxx = roth$rxxi, ux = roth$ux, sample = roth$`Author (year)`,
                  test_type = roth$`Type of intelligence test`)
has_rxx <- !is.na(roth$rxxi)

ma <- ma_r_bb(r = rxyi, n = n, data = roth)
add_case("roth_bb", "roth_2015", "bare_bones", list(), ma)
ma <- ma_r_ic(rxyi = rxyi, n = n, rxx = rxxi, correct_rr_x = FALSE, correct_rr_y = FALSE, data = roth[has_rxx, ])
add_case("roth_ic_drop", "roth_2015", "individual", list(correction_method = "meas"), ma, rows = "rxx",
         description = "the 161 samples that report rxx")
ma <- ma_r_ic(rxyi = rxyi, n = n, rxx = rxxi, correct_rr_x = FALSE, correct_rr_y = FALSE,
              impute_method = "wt_mean_full", data = roth)
add_case("roth_ic_mean", "roth_2015", "individual", list(correction_method = "meas", missing_artifacts = "mean"),
         ma, description = "missing rxx imputed by the n-weighted mean (impute_method = wt_mean_full)")
ma <- ma_r_ic(rxyi = rxyi, n = n, rxx = rxxi, correct_rr_x = FALSE, correct_rr_y = FALSE,
              impute_method = "replace_unity", data = roth)
add_case("roth_ic_unity", "roth_2015", "individual", list(correction_method = "meas", missing_artifacts = "unity"),
         ma, description = "missing rxx set to 1 (impute_method = replace_unity)")
roth_u <- roth[has_rxx, ]
roth_u$ux[is.na(roth_u$ux)] <- 1  # alliance_meta: a row without ux is unrestricted
ma <- ma_r_ic(rxyi = rxyi, n = n, rxx = rxxi, ux = ux, indirect_rr_x = TRUE, correct_rr_y = FALSE, data = roth_u)
add_case("roth_ic_drop_uvirr", "roth_2015", "individual", list(correction_method = "uvirr"), ma, rows = "rxx",
         description = "Case IV on the samples with rxx; ux missing = 1")
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, correct_rr_x = FALSE,
           correct_rr_y = FALSE, data = roth)
add_case("roth_ad_meas", "roth_2015", "artifact_distribution", list(correction_method = "meas"), ma,
         description = "interactive artifact distribution of the 161 rxx values, applied to all 240 samples")
roth_distributions <- list(rxx = ad_summary(ma$ad[[1]]$ad$ad_x))
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ux = ux, correct_rr_y = FALSE,
           indirect_rr_x = TRUE, data = roth)
add_case("roth_ad_uvirr", "roth_2015", "artifact_distribution", list(correction_method = "uvirr"), ma,
         description = "Case IV artifact distributions: rxx on 161, ux on 61 of 240 samples (psychmeta's defaults)")
roth_distributions$ut <- u_summary(ma$ad[[1]]$ad$ad_x)

# Samples of one publication treated as dependent: averaged within `Author (year)`
# (collapse_method = "average"), r and artifacts weighted by n, n = sum(n^2) / sum(n).
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, correct_rr_x = FALSE,
           correct_rr_y = FALSE, sample_id = `Author (year)`, collapse_method = "average", data = roth)
add_case("roth_collapsed_bb", "roth_2015", "bare_bones", list(), ma, rows = "collapse",
         description = "collapsed within Author (year)")
add_case("roth_collapsed_ad", "roth_2015", "artifact_distribution", list(correction_method = "meas"), ma,
         rows = "collapse", description = "collapsed within Author (year)")
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ux = ux, correct_rr_y = FALSE,
           indirect_rr_x = TRUE, sample_id = `Author (year)`, collapse_method = "average", data = roth)
add_case("roth_collapsed_ad_uvirr", "roth_2015", "artifact_distribution", list(correction_method = "uvirr"), ma,
         rows = "collapse", description = "Case IV artifact distributions, collapsed within Author (year)")

# Individual corrections of samples collapsed within `Author (year)` when only some rows give rxx or ux
# (32 of the 162 publications have several rows; "Anonymous" has 12 rows, 11 with rxx, one without;
# 43 publications, 11 of them with several rows, give no rxx at all). psychmeta's ma_r collapses the rows
# first (collapse_method = "average": n-weighted means of the artifacts given, NA ignored, so a row
# without rxx takes its publication's mean), then ma_r_ic imputes the publications without any rxx
# from the collapsed publications (impute_method = "wt_mean_full": n-weighted mean with
# n = sum(n^2) / sum(n); "replace_unity": 1). Without ryy, ma_r's row-level cleaning and imputation
# before collapsing (impute_artifacts_wrapper) does nothing (every row counts as missing a reliability);
# docs/psychometric.md says when it does and how psychmeta then differs.
#: alliance_meta's missing_artifacts -> psychmeta's impute_method
impute_methods <- c(mean = "wt_mean_full", unity = "replace_unity")
for (missing in names(impute_methods)) {
  ma <- ma_r(ma_method = "ic", rxyi = rxyi, n = n, rxx = rxxi, correct_rr_x = FALSE, correct_rr_y = FALSE,
             sample_id = `Author (year)`, collapse_method = "average", impute_method = impute_methods[[missing]],
             data = roth)
  add_case(paste0("roth_collapsed_ic_", missing), "roth_2015", "individual",
           list(correction_method = "meas", missing_artifacts = missing), ma, rows = "collapse",
           description = paste0("collapsed within Author (year), then missing rxx = ", impute_methods[[missing]]))
}
# missing_artifacts = drop: psychmeta on the publications that give rxx on at least one row (all their rows)
gives_rxx <- ave(!is.na(roth$rxxi), roth$`Author (year)`, FUN = any)
ma <- ma_r(ma_method = "ic", rxyi = rxyi, n = n, rxx = rxxi, correct_rr_x = FALSE, correct_rr_y = FALSE,
           sample_id = `Author (year)`, collapse_method = "average", data = roth[gives_rxx, ])
add_case("roth_collapsed_ic_drop", "roth_2015", "individual", list(correction_method = "meas", missing_artifacts = "drop"),
         ma, rows = "collapse", description = "collapsed within Author (year): the publications with rxx on some row")
# Case IV with ux: a publication without any ux is unrestricted in alliance_meta (psychmeta would impute
# it), so it gets ux = 1 here; a row without ux in a publication that gives one keeps NA (collapsed away).
roth_u <- roth
roth_u$ux[ave(is.na(roth$ux), roth$`Author (year)`, FUN = all)] <- 1
ma <- ma_r(ma_method = "ic", rxyi = rxyi, n = n, rxx = rxxi, ux = ux, indirect_rr_x = TRUE, correct_rr_y = FALSE,
           sample_id = `Author (year)`, collapse_method = "average", impute_method = "wt_mean_full", data = roth_u)
add_case("roth_collapsed_ic_mean_uvirr", "roth_2015", "individual",
         list(correction_method = "uvirr", missing_artifacts = "mean"), ma, rows = "collapse",
         description = "Case IV, collapsed within Author (year), missing rxx = wt_mean_full, publications without ux = 1")
# The same with ryy = 0.8 on every row (a constant outcome reliability, as psychometric.outcome_reliability
# gives; not in the data set): ma_r's row-level cleaning and imputation before collapsing would now run
# (unweighted means within publications), so it is turned off (clean_artifacts = FALSE,
# impute_artifacts = FALSE), which is what alliance_meta mirrors; docs/psychometric.md.
roth_y <- roth
roth_y$ryy <- 0.8
for (missing in names(impute_methods)) {
  ma <- ma_r(ma_method = "ic", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryy, correct_rr_x = FALSE, correct_rr_y = FALSE,
             sample_id = `Author (year)`, collapse_method = "average", impute_method = impute_methods[[missing]],
             clean_artifacts = FALSE, impute_artifacts = FALSE, data = roth_y)
  add_case(paste0("roth_ryy_collapsed_ic_", missing), "roth_2015", "individual",
           list(correction_method = "meas", missing_artifacts = missing), ma, rows = "collapse", ryy = 0.8,
           description = paste0("ryy = 0.8 on every row, collapsed, ", impute_methods[[missing]],
                                "; clean_artifacts = impute_artifacts = FALSE"))
}
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryy, correct_rr_x = FALSE,
           correct_rr_y = FALSE, sample_id = `Author (year)`, collapse_method = "average", clean_artifacts = FALSE,
           data = roth_y)
add_case("roth_ryy_collapsed_ad", "roth_2015", "artifact_distribution", list(correction_method = "meas"), ma,
         rows = "collapse", ryy = 0.8, description = "ryy = 0.8 on every row, collapsed; clean_artifacts = FALSE")

# Moderator levels with missing rxx (type of intelligence test; rows without a type are not a level):
# psychmeta imputes over all samples, then analyses each level (impute_method = "wt_mean_full" /
# "replace_unity"; the default "bootstrap_mod" would draw within levels, at random).
for (method in c("wt_mean_full", "replace_unity")) {
  ma <- ma_r(ma_method = "ic", rxyi = rxyi, n = n, rxx = rxxi, correct_rr_x = FALSE, correct_rr_y = FALSE,
             impute_method = method, moderators = "Type of intelligence test", data = roth)
  add_moderator_cases(ma, "individual",
                      list(correction_method = "meas", missing_artifacts = if (method == "wt_mean_full") "mean" else "unity"),
                      data = "roth_2015", moderator = "Type of intelligence test", column = "test_type")
}

# ---------------------------------------------------------------------------------------------
# psychmeta's data_r_uvdrr: 50 hypothetical samples with rxx, ryy and ux varying (psychmeta's own
# example data for direct range restriction; its rxxi_type column is not used: reliabilities are
# taken as alpha, as alliance_meta does). Case II artifact distributions with psychmeta's defaults.
uv <- as.data.frame(data_r_uvdrr)
uv_data <- list(r = uv$rxyi, n = uv$n, rxx = uv$rxxi, ryy = uv$ryyi, ux = uv$ux)
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, ux = ux,
           correction_method = "uvdrr", correct_rr_y = FALSE, indirect_rr_x = FALSE, data = uv)
add_case("uvdrr_ad_uvdrr", "psychmeta_uvdrr", "artifact_distribution", list(correction_method = "uvdrr"), ma,
         description = "Case II artifact distributions, every artifact varying (decimals = 2)")
s <- attributes(ma$ad[[1]]$ad$ad_x)$summary
uv_direct <- lapply(c(qxa = "qxa_drr", ux = "ux"), function(row)
  list(k = s[row, "k"], n = s[row, "N"], mean_q = s[row, "mean"], sd_q = s[row, "sd"], sd_e_q = s[row, "sd_e"],
       sd_res_q = s[row, "sd_res"]))
ma <- ma_r(ma_method = "ad", ad_type = "int", rxyi = rxyi, n = n, rxx = rxxi, ryy = ryyi, ux = ux,
           correct_rr_y = FALSE, indirect_rr_x = TRUE, data = uv)
add_case("uvdrr_ad_uvirr", "psychmeta_uvdrr", "artifact_distribution", list(correction_method = "uvirr"), ma,
         description = "the same samples with Case IV artifact distributions (decimals = 2)")

# ---------------------------------------------------------------------------------------------
# McLeod et al. (2007): no artifacts (bare-bones only)
# ---------------------------------------------------------------------------------------------
mcleod <- as.data.frame(data_r_mcleod_2007)
mcleod_data <- list(r = mcleod$r, n = mcleod$N)
ma <- ma_r_bb(r = r, n = N, data = mcleod)
add_case("mcleod_bb", "mcleod_2007", "bare_bones", list(), ma)
ma <- ma_r_bb(r = r, n = N, hs_override = TRUE, data = mcleod)
add_case("mcleod_bb_hs", "mcleod_2007", "bare_bones", list(hunter_schmidt = TRUE), ma)

out <- list(
  source = paste0("psychmeta ", packageVersion("psychmeta"), " (", R.version.string, "); ",
                  "tests/reference/psychometric.R"),
  datasets = list(gonzalezmule_2014 = gm_data, roth_2015 = roth_data, mcleod_2007 = mcleod_data,
                  psychmeta_uvdrr = uv_data),
  cases = cases,
  moderator_cases = moderator_cases,
  distributions = list(gonzalezmule_2014 = gm_distributions, roth_2015 = roth_distributions),
  studies = list(gonzalezmule_2014_uvirr = gm_studies),
  direct_distributions = list(psychmeta_uvdrr = uv_direct),
  multiverse_individual = list(gonzalezmule_2014 = gm_multiverse)
)
path <- file.path(script_dir, "psychometric.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), path)
cat("wrote", path, "-", length(cases), "cases,", length(moderator_cases), "moderator cases\n")
