#!/usr/bin/env bash
# Builds the API reference (`make doc`: LDoc over lua/zlock, config.ld) and checks it: LDoc
# reports nothing, every module has its page, and every public function (those of the table a
# module returns: `function M.x`, `function zlock.x`, `function Client:x`...) is documented in
# it. Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
N=0; FAILED=0
ok()  { N=$((N + 1)); echo "ok $N - $1"; }
nok() { N=$((N + 1)); echo "not ok $N - $1"; FAILED=1; }

rm -rf build/doc
if ldoc . >"$LOG" 2>&1 && [ -s build/doc/index.html ] \
   && ! grep -vE '^(reading configuration from config.ld|output written to .*)$' "$LOG" | grep -q .; then
  ok "make doc writes build/doc/index.html and LDoc reports nothing"
else
  sed 's/^/# /' "$LOG"; nok "make doc writes build/doc/index.html and LDoc reports nothing"
fi

MISSING=$(lua5.4 - <<'LUA'
local missing = {}
local p = io.popen("find lua/zlock -name '*.lua' | sort")
for file in p:lines() do
  local src = assert(io.open(file)):read("*a")
  local kind, name = src:match("\n%-%- @(%w+) ([%w%._]+)")
  local page = ("build/doc/%s/%s.html"):format(kind == "classmod" and "classes" or "modules", tostring(name))
  local f = io.open(page)
  if not f then
    missing[#missing + 1] = file .. " (no page " .. page .. ")"
  else
    local html = f:read("*a")
    f:close()
    -- public: the functions of the table the file returns
    local exported = src:match("\nreturn ([%w_]+)%s*$") or "M"
    for t, fn in src:gmatch("\nfunction ([%w_]+)[%.:]([%w_]+)%(") do
      if t == exported and not fn:match("^_") and not html:find('name = "[%w_.:]*' .. fn .. '"') then
        missing[#missing + 1] = file .. ": " .. fn
      end
    end
  end
end
p:close()
io.write(table.concat(missing, ", "))
LUA
)
if [ -z "$MISSING" ]; then
  ok "every module and public function is in the API reference"
else
  nok "every module and public function is in the API reference: missing $MISSING"
fi
exit "$FAILED"
