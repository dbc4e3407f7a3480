-- wrk script for the benchmark: POST /accounts/login/ with the right password, as the login
-- form does. BENCH_COOKIE carries the CSRF cookie and BENCH_LOGIN_BODY the form, with the
-- masked token from the page that set it (scripts/bench.sh fetches both). A login answers 302.
--   BENCH_COOKIE=csrftoken=... BENCH_LOGIN_BODY='csrfmiddlewaretoken=...&username=...&password=...' \
--     wrk -t2 -c2 -d8s --latency -s scripts/wrk/login.lua http://127.0.0.1:8180

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "summary.lua")

wrk.method = "POST"
wrk.path = "/accounts/login/"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
