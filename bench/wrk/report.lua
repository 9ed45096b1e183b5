-- bench_http.py's wrk report: at the end, one line "BENCH_JSON {...}" with the run's counts, wrk's own
-- error counts (status: answers >= 400) and the latency quantiles at 0.1, 0.2, ... 100 percent
-- (microseconds), so that slices of one phase can be merged (wrk 4.1's Lua API offers percentiles, not
-- its histogram). Used as the script of the GET phases as it is, and loaded by create.lua. No response()
-- hook: it would slow wrk down, and wrk counts bad statuses itself.

function done(summary, latency, requests)
   local e = summary.errors
   local q = {}
   if summary.requests > 0 then
      for k = 1, 999 do
         q[k] = string.format("%d", latency:percentile(k / 10))
      end
      q[1000] = string.format("%d", latency.max)  -- percentile(100) asks for a rank past the last sample
   end
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"p50_us":%d,"p99_us":%d,"quantiles_us":[%s]}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), table.concat(q, ",")))
end
