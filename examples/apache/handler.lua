--- Example Apache mod_lua handler: Zoho CRM deal locks behind a small HTTP API (the endpoints
-- of `zlock.webhook`, the same as examples/openresty and examples/haproxy).
--
-- Apache runs each request on a thread of its own, so zlock's libcurl transport simply blocks
-- that thread while a call runs; the other requests go on. The client is built once per Lua
-- state (`LuaScope server` keeps states alive between requests) from the ZOHO_* environment
-- of the Apache process.
local webhook = require "zlock.webhook"

local get_client = webhook.lazy_client{ timeout = 20 }

--- mod_lua's entry point (`LuaMapHandler ... handle`).
function handle(r)   -- a global: mod_lua calls it by name
  local body = ""
  if r.method == "POST" or r.method == "PUT" then body = r:requestbody() or "" end
  local status, doc, headers = webhook.handle(get_client, {
    method = r.method, path = r.uri, query = r.args, content_type = r.headers_in["Content-Type"], body = body,
  })
  r.status = status
  r.content_type = "application/json"
  for k, v in pairs(headers or {}) do r.headers_out[k] = v end
  r:puts(doc, "\n")
  return apache2.OK
end
