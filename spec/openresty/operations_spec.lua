-- The example OpenResty API (examples/openresty/) in a real nginx in front of zlock-emu: the
-- webhook cases every host passes (spec/helpers/webhook_cases.lua).
local ngxs = require "openresty.support"

require("helpers.webhook_cases")("examples/openresty in nginx", function(env)
  return ngxs.start{ env = env }
end, _ENV or getfenv(1))
