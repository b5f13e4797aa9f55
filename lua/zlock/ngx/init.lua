--- zlock inside nginx (OpenResty or nginx with the Lua module): picks the transport.
--
-- `zlock.new{}` asks this module whether it can run: inside nginx, in a phase where
-- cosockets exist (`rewrite`, `access`, `content`, `timer`, `ssl_cert`, `ssl_session_fetch`,
-- ...), the client drives the core's calls with `zlock.ngx.transport` (non-blocking). In
-- `init`, `init_worker`, `set`, `header_filter`, `body_filter`, `log` and `balancer` there are
-- no cosockets: the client falls back to libcurl, which blocks; fine in `init` (before any
-- request), wrong anywhere else; start a `ngx.timer.at(0, ...)` from those phases instead.
-- @module zlock.ngx
local M = {}

--- Phases with cosockets (lua-nginx-module's documentation of `ngx.socket.tcp`); every other
-- phase (`init`, `init_worker`, `set`, `header_filter`, `body_filter`, `log`, `balancer`,
-- `ssl_session_store`, `exit_worker`) has none.
M.COSOCKET_PHASES = {
  rewrite = true, access = true, content = true, timer = true, ssl_cert = true,
  ssl_session_fetch = true, ssl_client_hello = true,
}

--- Whether the nginx transport can run here (inside nginx, in a phase with cosockets).
-- @treturn boolean
function M.usable()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" or not ngx.socket then return false end
  local phase = ngx.get_phase()
  return M.COSOCKET_PHASES[phase] == true
end

--- Creates the nginx transport (see `zlock.ngx.transport` for the options it reads).
-- @tparam[opt] table opts `zlock.new`'s options
-- @return the transport; raises when it cannot be built (e.g. an unknown `shared_dict`)
function M.transport(opts)
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or not ngx.socket then
    error("bad argument #1 to 'new' (transport 'ngx' needs nginx's Lua module: run inside OpenResty / nginx)", 4)
  end
  local t, err = require("zlock.ngx.transport").new(opts)
  if not t then error("bad argument #1 to 'new' (" .. err .. ")", 4) end
  return t
end

return M
