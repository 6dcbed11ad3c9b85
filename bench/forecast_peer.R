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
# auto.arima is slow: only the first n_arima series (argument 4).
n_arima <- if (length(args) >= 4) as.integer(args[4]) else 0
arima_time <- 0
if (n_arima > 0) {
  ids_all <- ids
  ids <- head(ids_all, n_arima)
  arima_r <- run(function(y) forecast(auto.arima(y), h = h))
  write.csv(arima_r$rows, paste0(out, "/r_arima.csv"), row.names = FALSE)
  arima_time <- arima_r$time
  ids <- ids_all
}
cat(sprintf("r_arima_seconds %.3f\n", arima_time))
cat(sprintf("r_theta_seconds %.3f\nr_snaive_seconds %.3f\nr_ets_seconds %.3f\n", theta$time, snaive_r$time,
            ets_r$time))
