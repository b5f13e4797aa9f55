# LuaRocks build fragment (included by the top Makefile, before csrc/core.mk).
# `luarocks make` runs `make rock LUA=rock LUA_INCDIR=...`, then `make rock-install LIBDIR=...`.
# Each Lua (each LUA_INCDIR: 5.1, 5.3, 5.4, LuaJIT, OpenResty's LuaJIT) gets its own objects and
# module under build/rock/<LUA_INCDIR with / as _>/, so installs for several Luas from one
# checkout never reuse another ABI's core.so. Users' builds get no -Werror (the project's do).
.PHONY: rock rock-install

ifeq ($(LUA),rock)
ifeq ($(strip $(LUA_INCDIR)),)
$(error LuaRocks builds need LUA_INCDIR (the headers of the Lua being installed for))
endif
ROCK_INCDIR := $(or $(realpath $(LUA_INCDIR)),$(LUA_INCDIR))
override LUA := rock/$(subst /,_,$(patsubst /%,%,$(ROCK_INCDIR)))
WARN := $(filter-out -Werror,$(WARN))

rock: $(BUILD)/$(LUA)/zlock/core.so

rock-install: $(BUILD)/$(LUA)/zlock/core.so
	@test -n "$(LIBDIR)" || { echo "rock-install needs LIBDIR" >&2; exit 1; }
	mkdir -p "$(LIBDIR)/zlock"
	cp $< "$(LIBDIR)/zlock/core.so"
endif
