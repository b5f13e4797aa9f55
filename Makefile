# zlock: top-level build. `make` builds the emulator and the C module for $(LUA);
# `make test` and `make demo` are the README's two commands (they install missing
# Debian packages themselves when run as root).
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
BUILD   := build
# SANITIZE=1: everything built with ASan + UBSan into build-san/ (build/ is left alone);
# `make test SANITIZE=1` runs the C tests and the core and bulk specs on that build.
ifeq ($(SANITIZE),1)
BUILD   := build-san
override CFLAGS += -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
LUA     ?= lua5.4
LUAS    := lua5.4 lua5.3 lua5.1 luajit

.PHONY: all deps test demo clean lint all-luas cli-docs man doc soak

all: emu core

# One fragment per component, owned by that component (rock.mk first: it names LuaRocks' build dir).
include rock.mk
include emu/emu.mk
include csrc/core.mk
include fuzz/fuzz.mk

all-luas:
	@for l in $(LUAS); do $(MAKE) --no-print-directory core LUA=$$l || exit 1; done

deps:
	@scripts/deps.sh

test:
	@SANITIZE=$(SANITIZE) scripts/test.sh

demo:
	@scripts/demo.sh

# The zlock command's man page and shell completions, made from its table of commands.
cli-docs:
	@mkdir -p man completions
	lua5.4 scripts/cli-docs.lua man > man/zlock.1
	lua5.4 scripts/cli-docs.lua bash > completions/zlock.bash
	lua5.4 scripts/cli-docs.lua zsh > completions/_zlock

man: cli-docs

# The API reference (LDoc, config.ld): build/doc/index.html. scripts/check-doc.sh also checks it.
doc:
	@scripts/check-doc.sh

soak:
	@scripts/soak.sh

lint:
	luacheck lua spec bin examples bench

clean:
	rm -rf $(BUILD) build-san
