# Reference values for src/alliance_meta/analyses/agreement.py: Cohen's kappa and ICC(2,1) from
# R's irr (kappa2; icc(model = "twoway", type = "agreement", unit = "single")) and Gwet's AC1
# from irrCAC (gwet.ac1.raw, by Gwet himself), on the real rating data the packages ship and on
# the simulated demo's two coders.
# irr: apt-get install r-cran-lpsolve, then R CMD INSTALL the CRAN source of irr 0.84.1;
# irrCAC 1.0: R CMD INSTALL its CRAN source (neither is packaged by Debian).
# Without them this script says so and leaves agreement.json as it is.
# Run from the repository root (Rscript tests/reference/agreement.R) or from tests/reference
# (Rscript agreement.R, make reference): writes agreement.json next to the script (committed).
if (!requireNamespace("irr", quietly = TRUE) || !requireNamespace("irrCAC", quietly = TRUE)) {
  message("irr and irrCAC are not both installed: agreement.json left unchanged")
  quit(status = 0)
}
suppressPackageStartupMessages({
  library(irr)
  library(irrCAC)
})

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

data(diagnoses, package = "irr")
data(anxiety, package = "irr")
data(video, package = "irr")

text <- function(x) as.character(x)
dx <- data.frame(lapply(diagnoses, text), stringsAsFactors = FALSE)
dx_categories <- sort(unique(unlist(dx)))

kappa_cases <- list()
add_kappa <- function(name, source, a, b) {
  value <- kappa2(data.frame(a, b), weight = "unweighted")$value
  conger <- conger.kappa.raw(data.frame(a, b))$est  # Conger's kappa is Cohen's for two raters
  stopifnot(isTRUE(all.equal(value, (conger$pa - conger$pe) / (1 - conger$pe))))
  kappa_cases[[name]] <<- list(source = source, first = text(a), second = text(b), kappa = value)
}
add_kappa("diagnoses_1_2", "irr::diagnoses (Fleiss 1971), psychiatrists 1 and 2", dx$rater1, dx$rater2)
add_kappa("diagnoses_1_3", "irr::diagnoses, psychiatrists 1 and 3", dx$rater1, dx$rater3)
add_kappa("diagnoses_2_6", "irr::diagnoses, psychiatrists 2 and 6", dx$rater2, dx$rater6)
add_kappa("video_2_3", "irr::video (credibility ratings 1-5 as categories), raters 2 and 3", video$rater2, video$rater3)

ac1_cases <- list()
add_ac1 <- function(name, source, ratings, categories = NULL) {
  est <- gwet.ac1.raw(ratings, categ.labels = categories)$est
  ac1_cases[[name]] <<- list(source = source, ratings = lapply(as.list(ratings), text),
                             categories = if (is.null(categories)) NULL else text(categories),
                             pa = est$pa, pe = est$pe, ac1 = (est$pa - est$pe) / (1 - est$pe))
}
add_ac1("diagnoses_1_2_all_categories", "irrCAC::gwet.ac1.raw, irr::diagnoses psychiatrists 1 and 2, the 5 diagnoses",
        dx[, 1:2], dx_categories)
add_ac1("diagnoses_2_6_all_categories", "irrCAC::gwet.ac1.raw, irr::diagnoses psychiatrists 2 and 6, the 5 diagnoses",
        dx[, c(2, 6)], dx_categories)
add_ac1("diagnoses_six_raters", "irrCAC::gwet.ac1.raw, irr::diagnoses all 6 psychiatrists, categories used",
        dx, NULL)
bg <- cac.ben.gerry[cac.ben.gerry$Gerry != "", c("Ben", "Gerry")]
add_ac1("ben_gerry_complete", "irrCAC::gwet.ac1.raw, irrCAC::cac.ben.gerry (Gwet 2014 example) units both rated",
        bg, NULL)

icc_cases <- list()
add_icc <- function(name, source, ratings, published = NULL) {
  value <- icc(ratings, model = "twoway", type = "agreement", unit = "single")$value
  icc_cases[[name]] <<- c(list(source = source, ratings = lapply(as.list(as.data.frame(ratings)), as.numeric),
                               icc = value), if (is.null(published)) list() else list(published = published))
}
add_icc("anxiety_three_raters", "irr::icc on irr::anxiety (3 raters)", anxiety)
add_icc("anxiety_1_2", "irr::icc on irr::anxiety raters 1 and 2", anxiety[, 1:2])
add_icc("video_four_raters", "irr::icc on irr::video (4 raters)", video)
add_icc("video_2_4", "irr::icc on irr::video raters 2 and 4 (negative)", video[, c(2, 4)])
shrout_fleiss <- data.frame(judge1 = c(9, 6, 8, 7, 10, 6), judge2 = c(2, 1, 4, 1, 5, 2),
                            judge3 = c(5, 3, 6, 2, 6, 4), judge4 = c(8, 2, 8, 6, 9, 7))
add_icc("shrout_fleiss_1979", "Shrout & Fleiss (1979) Table 2, 6 targets x 4 judges; published ICC(2,1) = .29",
        shrout_fleiss, published = 0.29)

# --- the simulated demo's two coders (data/raw/studies.csv, studies_coder2.csv) ------------------
raw <- file.path(script_dir, "..", "..", "data", "raw")
first <- read.csv(file.path(raw, "studies.csv"), colClasses = "character", na.strings = "")
second <- read.csv(file.path(raw, "studies_coder2.csv"), colClasses = "character", na.strings = "")
both <- merge(first, second, by = c("study_id", "es_id"), suffixes = c(".1", ".2"))
synonyms <- c(client = "patient", "cognitive-behavioral" = "CBT")  # the synonyms the second coder used
canonical <- function(x) ifelse(x %in% names(synonyms), synonyms[x], x)
vocabularies <- list(rater = c("patient", "therapist", "observer"),
                     modality = c("CBT", "psychodynamic", "humanistic", "interpersonal", "integrative", "other"),
                     measure = c("WAI", "CALPAS", "HAq", "VTAS", "Penn", "TARS", "other"),
                     timing = c("early", "mid", "late", "averaged"))
demo <- list()
for (column in names(vocabularies)) {
  a <- canonical(both[[paste0(column, ".1")]])
  b <- canonical(both[[paste0(column, ".2")]])
  keep <- !is.na(a) & !is.na(b)
  est <- gwet.ac1.raw(data.frame(a[keep], b[keep]), categ.labels = vocabularies[[column]])$est
  demo[[column]] <- list(kind = "categorical", n_compared = sum(keep), percent_agreement = 100 * mean(a[keep] == b[keep]),
                         kappa = kappa2(data.frame(a[keep], b[keep]))$value,
                         ac1 = (est$pa - est$pe) / (1 - est$pe))
}
for (column in c("r", "n", "year")) {
  a <- as.numeric(both[[paste0(column, ".1")]])
  b <- as.numeric(both[[paste0(column, ".2")]])
  keep <- !is.na(a) & !is.na(b)
  demo[[column]] <- list(kind = "numeric", n_compared = sum(keep), percent_agreement = 100 * mean(a[keep] == b[keep]),
                         n_one_coder = sum(xor(is.na(a), is.na(b))),
                         icc = icc(cbind(a[keep], b[keep]), model = "twoway", type = "agreement", unit = "single")$value)
}

write_reference(list(irr = as.character(packageVersion("irr")), irrCAC = as.character(packageVersion("irrCAC")),
                     kappa = kappa_cases, ac1 = ac1_cases, icc = icc_cases,
                     demo = list(n_matched = nrow(both), columns = demo)),
                "agreement.json", na = "null", pretty = FALSE, null = "null")
