-- wrk script: GET /v1/recommend/<random user>?n=10 with the API key from $OPSPILOT_KEY.
local users = tonumber(os.getenv("BENCH_USERS") or "10000")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("OPSPILOT_KEY") or "")
math.randomseed(42)
request = function()
  return wrk.format("GET", "/v1/recommend/u" .. math.random(0, users - 1) .. "?n=10")
end
