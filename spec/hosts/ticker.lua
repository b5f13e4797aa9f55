-- For the cqueues host scripts: a coroutine on controller `cq` that sleeps 10 ms at a time
-- while `busy()` is true and keeps in `out.late_ms` the most the loop was late to wake it,
-- the measure of a blocked event loop.
local cqueues = require "cqueues"

return function(cq, out, busy)
  out.late_ms = out.late_ms or 0
  cq:wrap(function()
    while busy() do
      local t0 = cqueues.monotime()
      cqueues.sleep(0.01)
      local late = (cqueues.monotime() - t0 - 0.01) * 1000
      if late > out.late_ms then out.late_ms = late end
    end
  end)
end
