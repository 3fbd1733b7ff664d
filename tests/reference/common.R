# The preamble shared by the reference scripts, which each source first (from the folder of the running script, so
# that they run from the repository root or from here):
#   source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
#          chdir = TRUE)
# A helper, not a reference script: `make reference` does not run it.
suppressPackageStartupMessages(library(jsonlite))

script_dir <- getwd()  # this file's folder (source(chdir = TRUE)), where the scripts write their JSON

# Writes x as `file` next to the scripts, doubles at full precision (digits = NA), length-one vectors
# as scalars; `...`: toJSON's other arguments (pretty, na, null).
write_reference <- function(x, file, ...) {
  path <- file.path(script_dir, file)
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, ...), path)
  cat("wrote", path, "\n")
}
