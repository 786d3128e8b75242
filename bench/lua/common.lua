-- Shared by every wrk script of the harness (bench/load.py prepends it to the script it runs).
--
-- wrk gives each thread its own Lua state; the main state only sees the threads through
-- setup(), so per-thread counters are read back with thread:get() in done(). A response
-- counts as failed unless its status is 2xx and its body matches the script's `success`
-- pattern: the restaurant API answers most refusals with HTTP 200 and "success": false, which
-- wrk's own non-2xx count would never see.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

failures = 0
first_failure = nil
success = nil

function response(status, headers, body)
  if status < 200 or status > 299 or (success and not string.find(body, success)) then
    failures = failures + 1
    if first_failure == nil then
      first_failure = tostring(status) .. " " .. string.sub(body or "", 1, 400)
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local failed, first = 0, nil
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("failures") or 0)
    first = first or thread:get("first_failure")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests": %d, "duration_us": %d, "failed": %d, "http_errors": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "first_failure": %s}\n',
    summary.requests, summary.duration, failed, e.status, e.connect + e.read + e.write,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, first and json_string(first) or "null"))
end

-- Loads the parameters bench/load.py wrote for this run (a Lua file returning a table).
function load_params(args)
  local params = dofile(args[1])
  success = params.success
  return params
end
