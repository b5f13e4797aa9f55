--- Test helper: fires many HTTP requests at the same time, each from its own `curl`
-- process (started together from one shell, then waited for). Used to push the emulator
-- past its concurrency limit and to observe dropped connections.
--
--   local many = require "helpers.http_many"
--   local results = many.run(e.url, { {method="GET", path="/crm/v8/...", token=tok}, ... })
--   -- results[i] = { status = 200 | 429 | ... | 0 (no reply), body = "...", json = {...}|nil }
local cjson = require "cjson.safe"

local M = {}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(name)
  local f = io.open(name, "rb")
  if not f then return "" end
  local s = f:read("a"); f:close()
  return s
end

--- Runs every request in `reqs` concurrently against `base_url` and waits for all.
-- Each request: `method`, `path`, optional `token` (Zoho-oauthtoken), `body` (string),
-- `max_time` (seconds, default 20).
-- @return list of `{status, body, json}`; status 0 means curl got no HTTP reply.
function M.run(base_url, reqs)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. q(dir)))
  local lines = {}
  for i, r in ipairs(reqs) do
    local cmd = { "curl", "-s", "-o", q(dir .. "/body" .. i), "-w", q("%{http_code}"),
                  "--max-time", tostring(r.max_time or 20), "-X", q(r.method or "GET") }
    if r.token then
      cmd[#cmd + 1] = "-H"; cmd[#cmd + 1] = q("Authorization: Zoho-oauthtoken " .. r.token)
    end
    if r.body then
      local bf = dir .. "/req" .. i
      local f = assert(io.open(bf, "wb")); f:write(r.body); f:close()
      cmd[#cmd + 1] = "-H"; cmd[#cmd + 1] = q("Content-Type: application/json")
      cmd[#cmd + 1] = "--data-binary"; cmd[#cmd + 1] = q("@" .. bf)
    end
    cmd[#cmd + 1] = q(base_url .. r.path)
    lines[#lines + 1] = "(" .. table.concat(cmd, " ") .. " >" .. q(dir .. "/code" .. i) .. ") &"
  end
  lines[#lines + 1] = "wait"
  local sh = assert(io.popen("sh -c " .. q(table.concat(lines, "\n")), "r"))
  sh:read("a"); sh:close()
  local out = {}
  for i = 1, #reqs do
    local body = slurp(dir .. "/body" .. i)
    local code = tonumber(slurp(dir .. "/code" .. i):match("%d+")) or 0
    out[i] = { status = code, body = body, json = body ~= "" and cjson.decode(body) or nil }
  end
  os.execute("rm -rf " .. q(dir))
  return out
end

--- Counts results by HTTP status: returns a table status -> count.
function M.count(results)
  local c = {}
  for _, r in ipairs(results) do c[r.status] = (c[r.status] or 0) + 1 end
  return c
end

--- Formats a count table from `count` as "200=3 429=5" (for failure messages).
function M.show(counts)
  local keys, parts = {}, {}
  for k in pairs(counts) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. counts[k] end
  return table.concat(parts, " ")
end

return M
