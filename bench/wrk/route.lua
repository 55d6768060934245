-- One Coffer route under wrk, described by the environment (bench/load.py sets it):
--   BENCH_TOKEN       bearer token sent with every request (absent: no Authorization header)
--   BENCH_METHOD      GET (default) or POST
--   BENCH_PATH        request target
--   BENCH_BODY_BYTES  size of the request body (default 0)
--   BENCH_CONTENT_TYPE content type of the body
--   BENCH_UNIQUE      when set, "<thread>-<n>" is appended to the target, so every upload is a
--                     new path
-- done() prints one line "BENCH_JSON {...}" with the counts and latency percentiles (µs).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)  -- a global in the thread's state
  table.insert(threads, thread)
end

local function header_table()
  local headers = {}
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  local content_type = os.getenv("BENCH_CONTENT_TYPE")
  if content_type and content_type ~= "" then headers["Content-Type"] = content_type end
  return headers
end

local method = os.getenv("BENCH_METHOD") or "GET"
local target = os.getenv("BENCH_PATH") or "/healthz"
local unique = os.getenv("BENCH_UNIQUE")
local body = string.rep("b", tonumber(os.getenv("BENCH_BODY_BYTES") or "0"))
if #body == 0 then body = nil end
local headers = header_table()
local fixed = nil

function init(args)
  if not unique then fixed = wrk.format(method, target, headers, body) end
end

function request()
  if fixed then return fixed end
  counter = counter + 1
  return wrk.format(method, target .. thread_id .. "-" .. counter, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non_2xx": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
    math.floor(latency:percentile(99)), math.floor(latency.max)))
end
