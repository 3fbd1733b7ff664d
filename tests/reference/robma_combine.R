# Combine per-set outputs of robma.R (run in parallel, one data set each) into robma.json next to
# this script, as one run of robma.R would have written it:
#   mkdir -p /tmp/robma
#   Rscript tests/reference/robma.R molloy /tmp/robma/molloy.json   (and molloy6, bcg)
#   Rscript tests/reference/robma_combine.R /tmp/robma   (reads <dir>/{molloy,molloy6,bcg}.json)
# A helper, not a reference script: `make reference` does not run it. It stops without writing
# unless all three per-set files are there (a partial robma.json would drop the other sets).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)  # script_dir, write_reference

args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "/tmp/robma"
path <- if (length(args) >= 2) args[2] else file.path(script_dir, "robma.json")
sets <- c("molloy", "molloy6", "bcg")
files <- setNames(file.path(dir, paste0(sets, ".json")), sets)
if (!all(file.exists(files))) {
  stop("missing per-set output(s) of robma.R: ", paste(files[!file.exists(files)], collapse = ", "),
       "; nothing written")
}
out <- list()
versions <- NULL
for (name in names(files)) {
  one <- fromJSON(files[[name]], simplifyVector = FALSE)
  out[[name]] <- one[[name]]
  if (!is.null(versions) && !identical(versions, one$versions)) stop("the sets were run with different versions")
  versions <- one$versions
}
out$versions <- versions
write_json(out, path, digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", path, "\n")
