-- wrk script for the benchmark: GET /employee/<year>/ with the year cycling through 2000..2025
-- (each thread starting at a different year), and a JSON summary line at the end. With
-- BENCH_COOKIE set, every request sends it as its Cookie header (a logged-in session).
--   wrk -t2 -c32 -d15s --latency -s scripts/wrk/year_archive.lua http://127.0.0.1:8180

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "summary.lua")

local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
   wrk.headers["Cookie"] = cookie
end

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
