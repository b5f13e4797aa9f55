-- The conformance RPC (hosts.rpc) in a lua-http server on cqueues (LuaJIT): each request runs
-- in its own coroutine of the server's controller, so zlock picks the cqueues transport.
--   luajit spec/hosts/cqueues_rpc.lua PORT
local server = require "http.server"
local headers = require "http.headers"
local rpc = require "hosts.rpc"

local s = assert(server.listen{
  host = "127.0.0.1", port = tonumber(arg[1]),
  onstream = function(_, stream)
    assert(stream:get_headers())
    local out = rpc.handle(stream:get_body_as_string())
    local h = headers.new()
    h:append(":status", "200")
    h:append("content-type", "application/json")
    assert(stream:write_headers(h, false))
    assert(stream:write_chunk(out, true))
  end,
})
assert(s:listen())
io.stdout:write("listening\n")
io.stdout:flush()
assert(s:loop())
