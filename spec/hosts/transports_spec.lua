-- Every transport zlock ships passes the same conformance cases (spec/hosts/conformance.lua),
-- each inside its own host: libcurl in this process, nginx cosockets in a real nginx, HAProxy's
-- httpclient in a real HAProxy, lua-http on cqueues in a lua-http server under LuaJIT.
local cjson = require "cjson.safe"
local socket = require "socket"
local web = require "helpers.web"
local hx = require "hosts.haproxy_support"
local ngxs = require "openresty.support"
local conformance = require "hosts.conformance"
local rpc = require "hosts.rpc"

local ENV = _ENV or getfenv(1)

-- Packs a call for hosts.rpc (nil arguments survive as JSON null).
local function request(opts, method, ...)
  local n = select("#", ...)
  local args = { ... }
  for i = 1, n do if args[i] == nil then args[i] = cjson.null end end
  return cjson.encode{ client = opts, method = method, args = args, n = n }
end

-- A host reached over HTTP: POST base_url .. "/rpc".
local function http_host(base_url, stop, tls_codes)
  return {
    tls_codes = tls_codes,
    stop = stop,
    call = function(_, opts, method, ...)
      local r = assert(web.req(base_url, "POST", "/rpc", { body = request(opts, method, ...),
                                                          headers = { ["content-type"] = "application/json" } }))
      assert(r.status == 200 and r.json, "rpc failed: " .. tostring(r.status) .. " " .. tostring(r.body))
      return r.json
    end,
  }
end

conformance("curl", function()
  return { tls_codes = { "TLS" }, stop = function() end,
           call = function(_, opts, method, ...) return cjson.decode(rpc.handle(request(opts, method, ...))) end }
end, ENV)

conformance("haproxy", function()
  local h = hx.start{ config = hx.ROOT .. "/spec/hosts/haproxy_rpc.cfg", env = {
    ZLOCK_HAPROXY_HANDLER = hx.ROOT .. "/spec/hosts/haproxy_rpc.lua",
    LUA_PATH = hx.ROOT .. "/lua/?.lua;" .. hx.ROOT .. "/lua/?/init.lua;" .. hx.ROOT .. "/spec/?.lua;;",
  } }
  -- HAProxy reports a failed TLS handshake like a refused connection (see zlock.haproxy)
  return http_host(h.url, function() h:stop() end, { "TLS", "CONNECT" })
end, ENV)

conformance("cqueues", function()
  local port = web.free_port()
  local p = assert(io.popen("echo $$; LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' " ..
    "LUA_CPATH='build/luajit/?.so;;' exec luajit spec/hosts/cqueues_rpc.lua " .. port .. " 2>&1", "r"))
  local pid = tonumber(p:read("*l"))
  assert(p:read("*l") == "listening", "the lua-http server did not start")
  return http_host("http://127.0.0.1:" .. port, function()
    os.execute("kill " .. pid)
    p:close()
  end, { "TLS" })
end, ENV)

conformance("ngx", function()
  local n = ngxs.start{ extra_server = [[
        location = /rpc {
            content_by_lua_block {
                ngx.req.read_body()
                ngx.say(require("hosts.rpc").handle(ngx.req.get_body_data()))
            }
        }
]] }
  -- nginx finds hosts.rpc in its prefix (lua_package_path has $prefix/?.lua)
  assert(os.execute("mkdir -p " .. n.dir .. "/hosts && cp spec/hosts/rpc.lua " .. n.dir .. "/hosts/rpc.lua"))
  socket.sleep(0)
  return http_host(n.url, function() n:stop() end, { "TLS" })
end, ENV)
