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
