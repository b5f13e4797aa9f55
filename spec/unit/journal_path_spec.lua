-- A journal path that cannot be a journal (a directory) is refused with a JOURNAL error that
-- names it, before any item: not a raw I/O error from inside the journal module.
local bulk = require "zlock.bulk"
local zerror = require "zlock.error"

describe("a journal path that is a directory", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
  end)
  after_each(function() os.execute("rmdir " .. dir) end)

  for _, dry in ipairs{ false, true } do
    it("is refused with a clear JOURNAL error" .. (dry and " (dry run)" or ""), function()
      local ok, err = pcall(bulk.new, {}, { journal = dir, dry_run = dry, sequential = true })
      assert.is_false(ok)
      assert.is_true(zerror.is(err), tostring(err))
      assert.equals("JOURNAL", err.code)
      assert.equals("JOURNAL: cannot read journal " .. dir .. ": Is a directory", tostring(err))
    end)
  end
end)
