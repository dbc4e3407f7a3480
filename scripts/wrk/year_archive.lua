-- wrk script for the benchmark: GET /employee/<year>/ with the year cycling through 2000..2025
-- (each thread starting at a different year), and a JSON summary line at the end.
--   wrk -t2 -c32 -d15s --latency -s scripts/wrk/year_archive.lua http://127.0.0.1:8180

local first_year, years = 2000, 26
local threads = {}
local next_offset = 0

function setup(thread)
   thread:set("offset", next_offset)
   next_offset = next_offset + 7
   table.insert(threads, thread)
end

local counter

function init(args)
   counter = offset or 0
end

function request()
   local year = first_year + counter % years
   counter = counter + 1
   return wrk.format("GET", "/employee/" .. year .. "/")
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
