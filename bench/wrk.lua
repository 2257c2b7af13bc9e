-- wrk script of `make bench`: bearer token, optional JSON body, random paths from a file,
-- and a done() that prints the figures as one JSON line (latencies in microseconds).
local token = os.getenv("WRK_TOKEN") or ""
local method = os.getenv("WRK_METHOD") or "GET"
local body = nil
local body_file = os.getenv("WRK_BODY_FILE")
if body_file and #body_file > 0 then
  local f = io.open(body_file, "r")
  body = f:read("*a")
  f:close()
end
local paths = {}
local paths_file = os.getenv("WRK_PATHS_FILE")
if paths_file and #paths_file > 0 then
  for line in io.lines(paths_file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
end
local headers = {["Accept"] = "application/json"}
if body then headers["Content-Type"] = "application/json" end
if #token > 0 then headers["Authorization"] = "Bearer " .. token end

local seeded = false
request = function()
  if not seeded then
    math.randomseed(os.time() + math.floor(os.clock() * 1000000))
    seeded = true
  end
  local path = wrk.path
  if #paths > 0 then path = paths[math.random(#paths)] end
  return wrk.format(method, path, headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors_status": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
