-- nginx's light-thread engine (zlock.ngx.engine) through the engine conformance cases
-- (spec/engines/cases.lua), the same the C and sequential engines run under Lua 5.4: each job
-- runs inside nginx (spec/engines/ngx_exec.lua), the checks here look at what came back and
-- at the emulator's state.
local cases = require "engines.cases"
local ngxs = require "openresty.support"

describe("the ngx engine keeps the engine contract:", function()
  local n

  lazy_setup(function()
    local spec_dir = ngxs.ROOT .. "/spec/"
    n = ngxs.start{ extra_server = ([[
        location = /conformance {
            content_by_lua_block {
                package.path = "%s?.lua;" .. package.path
                require("engines.ngx_exec").handle()
            }
        }
]]):format(spec_dir) }
  end)

  lazy_teardown(function()
    if n then n:stop() end
  end)

  local function exec(_, client_opts, job)
    local r = assert(n:req("POST", "/conformance", { json = { client = client_opts, job = job } }))
    assert(r.status == 200, r.body)
    return r.json
  end

  for _, case in ipairs(cases.list) do
    it(case.name, function() cases.run(case, "ngx", exec) end)
  end
end)
