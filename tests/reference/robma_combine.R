# Combine per-set outputs of robma.R (run in parallel, one data set each) into
# tests/reference/robma.json, as one run of robma.R would have written it.
# Run: Rscript tests/reference/robma_combine.R /tmp/robma   (reads <dir>/{molloy,molloy6,bcg}.json)
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "/tmp/robma"
path <- if (length(args) >= 2) args[2] else "tests/reference/robma.json"
out <- list()
versions <- NULL
for (name in c("molloy", "molloy6", "bcg")) {
  file <- file.path(dir, paste0(name, ".json"))
  if (!file.exists(file)) next
  one <- fromJSON(file, simplifyVector = FALSE)
  out[[name]] <- one[[name]]
  if (!is.null(versions) && !identical(versions, one$versions)) stop("the sets were run with different versions")
  versions <- one$versions
}
out$versions <- versions
write_json(out, path, digits = NA, auto_unbox = TRUE, pretty = TRUE)
