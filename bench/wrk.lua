-- wrk script for bench/run.py: one fixed request per cell, machine-readable summary at the end.
-- BENCH_METHOD (GET/POST), BENCH_BODY (file with the request body), BENCH_HEADERS (file, "Name: value"
-- per line). No response() callback on purpose: with one defined, wrk copies every body into Lua, which
-- would make the load generator the bottleneck. Streams are read to their end by wrk's HTTP parser
-- (chunked terminator), so a latency sample is the whole stream.
wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
end

local header_file = os.getenv("BENCH_HEADERS")
if header_file and header_file ~= "" then
  for line in io.lines(header_file) do
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then wrk.headers[name] = value end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,' ..
    '"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
