-- Every engine of this host through the same conformance cases (spec/engines/cases.lua): the
-- C engine on libcurl multi and the sequential one, against zlock-emu over real sockets.
-- nginx's light-thread engine runs the same cases in spec/openresty/conformance_spec.lua.
local cases = require "engines.cases"
local drive = require "engines.drive"

local function exec(_, client_opts, job)
  local zlock = require "zlock"
  require("zlock.bulk").install(zlock.Client)
  local c = assert(zlock.new(client_opts))
  local ok, out = pcall(drive.run, c, job)
  c:close()
  assert(ok, out)
  return out
end

for _, engine in ipairs{ "multi", "sequential" } do
  describe(("the %s engine keeps the engine contract:"):format(engine), function()
    for _, case in ipairs(cases.list) do
      it(case.name, function() cases.run(case, engine, exec) end)
    end
  end)
end
