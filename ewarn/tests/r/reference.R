# Reference results from R's surveillance package for ewarn/tests/test_reference_r.py.
#
#   Rscript reference.R MANIFEST.csv OUTDIR
#
# MANIFEST.csv has one case a row: id, series, method, range, params.
#   series  a data set bundled with surveillance (summed over its units) or the path of a CSV file
#           with a `count` column;
#   method  earsC1 | earsC2 | earsC3 | cusum | flexible | farrington;
#   range   "from:to" or "from:" (1-based, inclusive; "from:" runs to the end), "iso:YEAR" (the
#           weeks of an ISO year) or "" (the method's default range);
#   params  "name=value;..." passed in the method's control list ("5,4" becomes c(5, 4)).
# For each case OUTDIR/<id>.csv gets index, observed, upperbound, alarm, expected, statistic, trend;
# for each bundled data set used, OUTDIR/series_<name>.csv gets its counts (and ISO year).
# Series are analysed without dates (epochAsDate = FALSE), so reference periods are t - freq * i.

suppressPackageStartupMessages(library(surveillance))

args <- commandArgs(trailingOnly = TRUE)
manifest <- read.csv(args[1], colClasses = "character")
outdir <- args[2]

bundled <- function(name) {
  env <- new.env()
  data(list = name, package = "surveillance", envir = env)
  x <- get(name, envir = env)
  iso <- NA
  if (inherits(x, "sts")) {
    if (x@epochAsDate) iso <- isoWeekYear(epoch(x))$ISOYear
    counts <- rowSums(observed(x))
    freq <- x@freq
  } else {
    counts <- rowSums(as.matrix(x$observed))
    freq <- x$freq
  }
  list(counts = as.numeric(counts), freq = freq, iso = iso)
}

load_series <- function(spec, freq) {
  if (file.exists(spec)) {
    return(list(counts = as.numeric(read.csv(spec)$count), freq = freq, iso = NA))
  }
  s <- bundled(spec)
  out <- file.path(outdir, paste0("series_", spec, ".csv"))
  if (!file.exists(out)) {
    iso <- if (length(s$iso) == 1 && is.na(s$iso)) rep(NA, length(s$counts)) else s$iso
    write.csv(data.frame(count = s$counts, iso_year = iso), out, row.names = FALSE)
  }
  s
}

parse_params <- function(text) {
  control <- list()
  if (is.na(text) || text == "") return(control)
  for (pair in strsplit(text, ";", fixed = TRUE)[[1]]) {
    kv <- strsplit(pair, "=", fixed = TRUE)[[1]]
    value <- kv[2]
    if (value %in% c("TRUE", "FALSE")) {
      value <- as.logical(value)
    } else if (value == "NULL") {
      value <- NULL
    } else {
      number <- suppressWarnings(as.numeric(strsplit(value, ",", fixed = TRUE)[[1]]))
      if (!anyNA(number)) value <- number
    }
    control[kv[1]] <- list(value)
  }
  control
}

parse_range <- function(text, s) {
  if (is.na(text) || text == "") return(NULL)
  if (startsWith(text, "iso:")) return(which(s$iso == as.numeric(sub("iso:", "", text))))
  bounds <- suppressWarnings(as.numeric(strsplit(text, ":", fixed = TRUE)[[1]]))
  if (length(bounds) < 2 || is.na(bounds[2])) bounds[2] <- length(s$counts)
  bounds[1]:bounds[2]
}

for (i in seq_len(nrow(manifest))) {
  case <- manifest[i, ]
  control <- parse_params(case$params)
  freq <- if (is.null(control$freq)) 52 else control$freq
  control$freq <- NULL
  s <- load_series(case$series, freq)
  y <- s$counts
  x <- sts(observed = y, frequency = s$freq, start = c(2000, 1))
  control$range <- parse_range(case$range, s)
  expected <- statistic <- trend <- NULL
  if (startsWith(case$method, "ears")) {
    control$method <- sub("ears", "", case$method)
    r <- earsC(x, control = control)
    index <- r@control$range
    upper <- as.vector(upperbound(r))
    alarm <- as.vector(alarms(r))
  } else if (case$method == "cusum") {
    r <- algo.cusum(sts2disProg(x), control = control)
    index <- control$range
    upper <- as.vector(r$upperbound)
    alarm <- as.vector(r$alarm)
    statistic <- as.vector(r$cusum)
  } else if (case$method == "flexible") {
    control$glmWarnings <- FALSE
    r <- farringtonFlexible(x, control = control)
    index <- control$range
    upper <- as.vector(upperbound(r))
    alarm <- as.vector(alarms(r))
    expected <- as.vector(r@control$expected)
    statistic <- as.vector(r@control$score)
    trend <- as.vector(r@control$trend)
  } else if (case$method == "farrington") {
    r <- suppressWarnings(algo.farrington(sts2disProg(x), control = control))
    index <- control$range
    upper <- as.vector(r$upperbound)
    alarm <- as.vector(r$alarm)
    trend <- as.vector(r$trend)
  } else {
    stop("unknown method ", case$method)
  }
  blank <- rep(NA, length(index))
  write.csv(
    data.frame(
      index = index, observed = y[index], upperbound = upper, alarm = as.integer(alarm),
      expected = if (is.null(expected)) blank else expected,
      statistic = if (is.null(statistic)) blank else statistic,
      trend = if (is.null(trend)) blank else as.integer(trend)
    ),
    file.path(outdir, paste0(case$id, ".csv")),
    row.names = FALSE
  )
}
cat("done", nrow(manifest), "\n")
