# libFuzzer harnesses (included by the top Makefile; clang only).
#   make fuzz-build           -> build/fuzz/<name>_fuzz, objects in build/fuzz/obj/
#   make fuzz [FUZZ_TIME=60]  -> each harness for FUZZ_TIME seconds (scripts/fuzz.sh: seeds
#                                from fuzz/corpus/<name>/, new inputs in build/fuzz/found/<name>/)
# The project's sources are built again with clang, ASan, UBSan and the fuzzer's coverage.
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN)
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_CORE   := response token_reply request scrub
FUZZ_EMU    := criteria coql dispatch state
FUZZ_CBINS  := $(patsubst %,$(FUZZ_DIR)/%_fuzz,$(FUZZ_CORE))
FUZZ_EBINS  := $(patsubst %,$(FUZZ_DIR)/%_fuzz,$(FUZZ_EMU))
FUZZ_COBJS  := $(addprefix $(FUZZ_DIR)/obj/core/,$(addsuffix .o,$(CORE_PURE)))
FUZZ_EOBJS  := $(patsubst emu/%.c,$(FUZZ_DIR)/obj/emu/%.o,$(filter-out emu/main.c,$(EMU_SRCS)))
FUZZ_HDRS   := fuzz/fuzz_input.h fuzz/emu_query_fuzz.h

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_CBINS) $(FUZZ_EBINS)

fuzz:
	@scripts/fuzz.sh $(FUZZ_TIME)

$(FUZZ_DIR)/obj/core/%.o: csrc/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(WARN) -Icsrc $(CORE_DEP_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/emu/%.o: emu/%.c $(wildcard emu/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(WARN) $(EMU_CFLAGS) -Iemu -c $< -o $@

$(FUZZ_CBINS): $(FUZZ_DIR)/%: fuzz/%.c $(FUZZ_HDRS) $(FUZZ_COBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(WARN) -Icsrc $(CORE_DEP_CFLAGS) $< $(FUZZ_COBJS) -o $@ \
	  $(shell pkg-config --libs jansson hiredis) -lpthread

$(FUZZ_EBINS): $(FUZZ_DIR)/%: fuzz/%.c $(FUZZ_HDRS) $(FUZZ_EOBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(WARN) $(EMU_CFLAGS) -Iemu $< $(FUZZ_EOBJS) -o $@ $(EMU_LIBS)
