# zlock-emu build fragment (included by the top Makefile).
#   make emu   -> build/zlock-emu, objects in build/obj/emu/
#   every test/emu_*_test.c -> build/tests/emu_*_test, linked with the emulator objects but main.o
EMU_PKGS    := libmicrohttpd jansson
EMU_CFLAGS  := $(shell pkg-config --cflags $(EMU_PKGS)) -pthread
EMU_LIBS    := $(shell pkg-config --libs $(EMU_PKGS)) -pthread
EMU_SRCS    := $(wildcard emu/*.c)
EMU_OBJDIR  := $(BUILD)/obj/emu
EMU_OBJS    := $(patsubst emu/%.c,$(EMU_OBJDIR)/%.o,$(EMU_SRCS))
EMU_LIBOBJS := $(filter-out $(EMU_OBJDIR)/main.o,$(EMU_OBJS))
EMU_TESTS   := $(patsubst test/%.c,$(BUILD)/tests/%,$(wildcard test/emu_*_test.c))

.PHONY: emu emu-tests
emu: $(BUILD)/zlock-emu emu-tests
emu-tests: $(EMU_TESTS)

$(BUILD)/zlock-emu: $(EMU_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(EMU_LIBS)

$(EMU_OBJDIR)/%.o: emu/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(EMU_CFLAGS) -MMD -MP -Iemu -c -o $@ $<

$(BUILD)/tests/emu_%_test: test/emu_%_test.c $(EMU_LIBOBJS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(EMU_CFLAGS) -Iemu -o $@ $< $(EMU_LIBOBJS) $(EMU_LIBS)

-include $(wildcard $(EMU_OBJDIR)/*.d)

# For `luarocks make` (the rockspec installs build/rock-bin/zlock-emu next to `zlock`): the
# emulator when libmicrohttpd and jansson are there, else a script that says what is missing,
# so zlock installs either way and zlock.testing explains why no emulator starts.
EMU_DEPS_OK := $(shell pkg-config --exists $(EMU_PKGS) 2>/dev/null && echo yes)
EMU_MISSING := zlock-emu was not built: the development files of libmicrohttpd and jansson were \
not found by pkg-config when zlock was installed (Debian: apt-get install libmicrohttpd-dev \
libjansson-dev pkg-config), then install zlock again
.PHONY: $(BUILD)/rock-bin/zlock-emu
ifeq ($(EMU_DEPS_OK),yes)
$(BUILD)/rock-bin/zlock-emu: $(BUILD)/zlock-emu
	@mkdir -p $(@D)
	cp $< $@
else
$(BUILD)/rock-bin/zlock-emu:
	@mkdir -p $(@D)
	@echo "WARNING: $(EMU_MISSING)" >&2
	printf '#!/bin/sh\necho "%s" >&2\nexit 1\n' "$(EMU_MISSING)" > $@
	chmod +x $@
endif
