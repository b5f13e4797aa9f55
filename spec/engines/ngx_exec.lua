--- Inside nginx (content handler of spec/openresty/conformance_spec.lua's `/conformance`
-- location): runs a conformance job (`{client = zlock.new options, job = drive.run's job}`)
-- through nginx's light-thread engine and answers what came back, as JSON.
-- (Not a spec: no `_spec` suffix.)
local ngx = ngx   -- luacheck: globals ngx
local cjson = require "cjson"
local zlock = require "zlock"
local drive = require "engines.drive"

local M = {}

local function body()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then return data end
  local f = assert(io.open(assert(ngx.req.get_body_file(), "no request body"), "rb"))
  data = f:read("*a")
  f:close()
  return data
end

--- Handles one request.
function M.handle()
  local req = cjson.decode(body())
  require("zlock.bulk").install(zlock.Client)
  local c = assert(zlock.new(req.client))
  local ok, out = pcall(drive.run, c, req.job)
  c:close()
  if not ok then
    ngx.status = 500
    ngx.say(cjson.encode{ error = tostring(out) })
    return
  end
  ngx.say(cjson.encode(out))
end

return M
