-- Mixed traffic for bench/soak.sh. Reads credentials from the file named by
-- SOAK_CREDS (lines: "access TOKEN", "customer TOKEN", "session ID",
-- "basic BASE64"), sends in turn: an access token, an access + customer
-- token pair, a Redis session lookup, and a client-credentials token call.
-- Counts statuses per thread (connections interleave, so a status is not
-- tied to its request kind); done() prints them merged, one line:
-- "statuses 200=N 401=N ...".
local creds = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = io.open(os.getenv("SOAK_CREDS"), "r")
  for line in f:lines() do
    local kind, value = line:match("^(%S+) (%S+)$")
    if kind then creds[kind] = value end
  end
  f:close()
  counts = {}
  n = 0
end

function request()
  n = n + 1
  local k = n % 4
  if k == 0 then
    return wrk.format("GET", "/orders", { ["Authorization"] = "Bearer " .. creds.access })
  elseif k == 1 then
    return wrk.format("GET", "/orders", {
      ["Authorization"] = "Bearer " .. creds.access,
      ["X-Customer-Token"] = creds.customer,
    })
  elseif k == 2 then
    return wrk.format("GET", "/customer-sessions/current", { ["X-Session-Id"] = creds.session })
  else
    return wrk.format("POST", "/oauth/token", {
      ["Authorization"] = "Basic " .. creds.basic,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, "grant_type=client_credentials")
  end
end

function response(status, headers, body)
  local key = tostring(status)
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local keys = {}
  for k in pairs(total) do table.insert(keys, k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do table.insert(parts, k .. "=" .. total[k]) end
  io.write("statuses " .. table.concat(parts, " ") .. "\n")
  io.write(string.format("requests %d errors_connect %d errors_timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.timeout))
end
