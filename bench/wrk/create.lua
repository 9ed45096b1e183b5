-- bench_http.py's write phases: every request creates something new.
--
--   wrk -s create.lua -H "Authorization: Bearer ..." URL -- KIND PATH BASE RUN EXTRA
--
-- KIND "delegation": POST PATH {"cidr": "<address>/128", "delegated_account_id": EXTRA}
-- KIND "app":        POST PATH {Spectrum app on edge IP <address>, DNS name in zone EXTRA}
-- <address> is BASE:run:thread::hi:lo, BASE the first two groups of an IPv6 /32, run the caller's slice
-- number (>= 1), thread wrk's thread number (>= 1, set in setup()), and hi:lo a per-thread counter
-- (both >= 1): no two requests of one benchmark share an address, and each is already in canonical form.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "report.lua")

local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_no", threads)
end

local kind, path, base, run, extra
local counter = 0

function init(args)
   kind, path, base, run, extra = args[1], args[2], args[3], tonumber(args[4]), args[5]
   if kind ~= "delegation" and kind ~= "app" then
      error("create.lua: KIND must be delegation or app, not " .. tostring(kind))
   end
   wrk.method = "POST"
   wrk.path = path
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local hi, lo = 1 + math.floor(counter / 65535), 1 + counter % 65535
   local address = string.format("%s:%x:%x::%x:%x", base, run, thread_no, hi, lo)
   local body
   if kind == "delegation" then
      body = string.format('{"cidr":"%s/128","delegated_account_id":"%s"}', address, extra)
   else
      body = string.format(
         '{"protocol":"tcp/22","dns":{"type":"ADDRESS","name":"a%x-%x-%x-%x.%s"},'
            .. '"edge_ips":{"type":"static","ips":["%s"]},"origin_direct":["tcp://192.0.2.1:22"]}',
         run, thread_no, hi, lo, extra, address)
   end
   return wrk.format(nil, nil, nil, body)
end
