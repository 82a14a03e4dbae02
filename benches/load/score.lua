-- wrk script: POST /api/score-company with a lead whose name varies per request (so every
-- request is a new company: a lead upsert, a score and an event each). No `response` function:
-- wrk then hands no response to Lua (measured: ~10 % of wrk's CPU a request);
-- its own summary counts the non-2xx answers.
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"company_name": "Load %d-%d", "employee_count": 120, "industry": "SaaS", "tech_stack": ["Zapier"], "recent_job_posts": ["Head of Operations"]}',
    math.random(1, 1000000000), counter)
  return wrk.format("POST", "/api/score-company?model=balanced", {["Content-Type"] = "application/json"}, body)
end

done = function(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, requests %d, non-2xx+errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
