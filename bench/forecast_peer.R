# R's forecast package on the same series: thetaf and snaive, h steps, timed.
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
train <- read.csv(args[1], stringsAsFactors = FALSE)
h <- as.integer(args[2])
out <- args[3]
ids <- unique(train$series_id)
run <- function(f) {
  rows <- vector("list", length(ids))
  t0 <- proc.time()[["elapsed"]]
  for (k in seq_along(ids)) {
    y <- ts(train$value[train$series_id == ids[k]], frequency = 12)
    rows[[k]] <- data.frame(series_id = ids[k], step = seq_len(h), mean = as.numeric(f(y)$mean))
  }
  list(time = proc.time()[["elapsed"]] - t0, rows = do.call(rbind, rows))
}
theta <- run(function(y) thetaf(y, h = h))
snaive_r <- run(function(y) snaive(y, h = h))
ets_r <- run(function(y) forecast(ets(y), h = h))
write.csv(theta$rows, paste0(out, "/r_theta.csv"), row.names = FALSE)
write.csv(snaive_r$rows, paste0(out, "/r_snaive.csv"), row.names = FALSE)
write.csv(ets_r$rows, paste0(out, "/r_ets.csv"), row.names = FALSE)
cat(sprintf("r_theta_seconds %.3f\nr_snaive_seconds %.3f\nr_ets_seconds %.3f\n", theta$time, snaive_r$time,
            ets_r$time))
