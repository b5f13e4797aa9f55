-- Rewrites the option tables of README.md from lua/zlock/options.lua (the one table of options):
--   LUA_CPATH="build/lua5.4/?.so;;" lua5.4 scripts/readme_options.lua
-- Each table sits between `<!-- options:SECTION -->` and `<!-- /options:SECTION -->`;
-- spec/unit/options_spec.lua fails when README.md and the table differ.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local options = require "zlock.options"

local f = assert(io.open("README.md", "rb"))
local text = f:read("*a")
f:close()
local n = 0
text = text:gsub("(<!%-%- options:(%w+) %-%->\n).-(<!%-%- /options:%w+ %-%->)", function(open, section, close)
  n = n + 1
  return open .. options.markdown(section) .. close
end)
assert(n > 0, "README.md has no <!-- options:SECTION --> markers")
f = assert(io.open("README.md", "wb"))
f:write(text)
f:close()
print(("README.md: %d option tables written"):format(n))
