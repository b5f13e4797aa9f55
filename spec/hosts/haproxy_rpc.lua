-- The conformance RPC (hosts.rpc) as an HAProxy service: POST /rpc.
local rpc = require "hosts.rpc"

core.register_service("zlock_rpc", "http", function(applet)
  local out = rpc.handle(applet:receive() or "")
  applet:set_status(200)
  applet:add_header("content-type", "application/json")
  applet:add_header("content-length", tostring(#out))
  applet:start_response()
  applet:send(out)
end)
