--- Test helper: HTTP against a local server under test (nginx, HAProxy, ...) and the
-- emulator-side facts the webhook specs compare with.
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson.safe"

local M = {}

--- A free TCP port on 127.0.0.1.
function M.free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

--- Deal ids of the emulator's org that hold no lock (sorted; taken from its state).
-- @param e the emulator (`helpers.emu`)
-- @tparam integer n how many
function M.unlocked_deals(e, n)
  local st = e:state()
  local locked = {}
  for _, l in ipairs(st.locks) do
    if l.module == "Deals" then locked[l.record_id] = true end
  end
  local ids = {}
  for id, is_locked in pairs(st.records.Deals) do
    if not is_locked and not locked[id] then ids[#ids + 1] = id end
  end
  table.sort(ids)
  assert(#ids >= n, "the org has fewer than " .. n .. " unlocked deals")
  return { (table.unpack or unpack)(ids, 1, n) }
end

--- The emulator's lock on a deal (its state's form), or nil.
function M.emu_lock(e, record_id)
  for _, l in ipairs(e:state().locks) do
    if l.module == "Deals" and l.record_id == record_id then return l end
  end
  return nil
end

--- One HTTP request.
-- @tparam string base_url e.g. "http://127.0.0.1:8080"
-- @tparam string method
-- @tparam string path
-- @tparam[opt] table o `json` (table: JSON body), `form` (table: urlencoded body), `body`, `headers`
-- @return `{status, body, json, headers}` or nil, err
function M.req(base_url, method, path, o)
  o = o or {}
  local headers, body = {}, o.body
  if o.json then
    body = assert(cjson.encode(o.json))
    headers["content-type"] = "application/json"
  elseif o.form then
    local parts = {}
    for k, v in pairs(o.form) do
      parts[#parts + 1] = k .. "=" .. tostring(v):gsub("[^%w%-_%.~]", function(ch)
        return string.format("%%%02X", ch:byte())
      end)
    end
    body = table.concat(parts, "&")
    headers["content-type"] = "application/x-www-form-urlencoded"
  end
  if body then headers["content-length"] = tostring(#body) end
  for k, v in pairs(o.headers or {}) do headers[k:lower()] = v end
  local chunks = {}
  local ok, status, rh = http.request{
    url = base_url .. path, method = method, headers = headers,
    source = body and ltn12.source.string(body) or nil, sink = ltn12.sink.table(chunks),
  }
  if not ok then return nil, status end
  local raw = table.concat(chunks)
  return { status = status, body = raw, json = cjson.decode(raw), headers = rh }
end

--- Runs requests at once (one connection each, non-blocking LuaSocket driven by
-- `socket.select`, so the client side adds next to no time) and waits for all replies.
-- @tparam integer port on 127.0.0.1
-- @tparam table reqs array of `{method=, path=, body=, content_type=, port=}` (`port`: another
--   server than `port`'s)
-- @treturn table results `{status=, worker=, body=, latency=}` in order (latency: seconds
--   from that request's send to its reply's end)
-- @treturn number wall-clock seconds for the whole batch
function M.parallel(port, reqs, timeout)
  local deadline = socket.gettime() + (timeout or 30)
  local t0 = socket.gettime()
  local conns, out = {}, {}
  for i, r in ipairs(reqs) do
    local c = assert(socket.tcp())
    c:settimeout(5)
    assert(c:connect("127.0.0.1", r.port or port))
    c:settimeout(0)
    local body = r.body or ""
    local req = (r.method or "GET") .. " " .. r.path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n" ..
      "Connection: close\r\nContent-Type: " .. (r.content_type or "application/json") .. "\r\n" ..
      "Content-Length: " .. #body .. "\r\n\r\n" .. body
    local sent = 1
    while sent <= #req do
      local n, err, last = c:send(req, sent)
      sent = (n or last or sent - 1) + 1
      if err and err ~= "timeout" then error("send: " .. err) end
    end
    conns[c] = { i = i, parts = {}, sent_at = socket.gettime() }
  end
  local open = {}
  for c in pairs(conns) do open[#open + 1] = c end
  while #open > 0 do
    assert(socket.gettime() < deadline, "parallel requests timed out")
    local ready = socket.select(open, nil, 1)
    for _, c in ipairs(ready) do
      local st = conns[c]
      local data, err, partial = c:receive(65536)
      data = data or partial
      if data and #data > 0 then st.parts[#st.parts + 1] = data end
      if err == "closed" then
        c:close()
        local raw = table.concat(st.parts)
        out[st.i] = { status = tonumber(raw:match("^HTTP/%S+ (%d+)")),
                      latency = socket.gettime() - st.sent_at,
                      worker = raw:match("\r\n[Xx]%-[Ww]orker%-[Pp]id: (%d+)"),
                      body = raw:match("\r\n\r\n(.*)$") }
        for k, o in ipairs(open) do
          if o == c then table.remove(open, k); break end
        end
      end
    end
  end
  return out, socket.gettime() - t0
end

return M
