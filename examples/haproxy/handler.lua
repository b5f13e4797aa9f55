--- Example HAProxy handler: Zoho CRM deal locks behind a small HTTP API (the endpoints of
-- `zlock.webhook`, the same as examples/openresty).
--
-- Loaded by haproxy.cfg (`lua-load`); registers two HTTP services:
--   lua.zlock        POST/GET/PUT/DELETE /deals/{id}/lock, GET /locks
--   lua.zlock_ping   GET /ping -> "ok" (shows that zlock calls never stall HAProxy)
--
-- The zlock client is built once per Lua state, on first use (inside a service, where HAProxy
-- lets Lua yield), from the ZOHO_* environment. Inside HAProxy `zlock.new` picks the
-- `zlock.haproxy` transport: every call goes out through HAProxy's own non-blocking HTTP
-- client. With `lua-load` every thread shares this state, so one client and one access token
-- serve them all; with `lua-load-per-thread` or several HAProxy processes, ZLOCK_REDIS_URL
-- makes them share one token (`zlock.haproxy_token`).
local webhook = require "zlock.webhook"

local get_client = webhook.lazy_client{ timeout = 20 }

local function first(headers, name)
  local v = headers[name]
  if type(v) == "table" then return v[0] or v[1] end
  return v
end

core.register_service("zlock", "http", function(applet)
  local body = ""
  if applet.method ~= "GET" and applet.method ~= "DELETE" then body = applet:receive() or "" end
  local status, doc, headers = webhook.handle(get_client, {
    method = applet.method, path = applet.path, query = applet.qs,
    content_type = first(applet.headers, "content-type"), body = body,
  })
  applet:set_status(status)
  applet:add_header("content-type", "application/json")
  for k, v in pairs(headers or {}) do applet:add_header(k, v) end
  applet:add_header("content-length", tostring(#doc + 1))
  applet:start_response()
  applet:send(doc .. "\n")
end)

core.register_service("zlock_ping", "http", function(applet)
  applet:set_status(200)
  applet:add_header("content-length", "3")
  applet:start_response()
  applet:send("ok\n")
end)
