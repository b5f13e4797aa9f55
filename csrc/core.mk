# C core build fragment (included by the top Makefile).
#   make core LUA=lua5.4|lua5.3|lua5.1|luajit  ->  build/<lua>/zlock/core.so
#   (objects under build/obj/core/<lua>/; the pure-core C tests under build/tests/)
# The module links libcurl and jansson, never liblua (the interpreter provides it).
# LuaRocks: `make rock LUA=rock LUA_INCDIR=...` (rock.mk: one build/rock/<incdir>/ per Lua ABI)
# (LUA_INCDIR wins over pkg-config; -fPIC etc. live in CORE_MUST, not in CFLAGS).
.PHONY: core ctest-core

CORE_PURE   := buf error request response retry dc auth client call call_phase outcome token sha256 token_share \
               token_file token_redis redis_conn redis_link budget budget_script budget_client $(if $(wildcard csrc/window.c),window) $(if $(wildcard csrc/op_copy.c),op_copy)
CORE_IO     := curl_lazy transport_curl auth_code bulk bulk_item bulk_end bulk_io bulk_done bulk_fleet
CORE_BIND   := binding/lua_core binding/lua_client binding/lua_call binding/lua_json binding/lua_op binding/lua_signal \
               binding/lua_file binding/lua_env binding/lua_auth binding/lua_store \
               $(if $(wildcard csrc/binding/lua_engine.c),binding/lua_engine)
CORE_TESTS  := $(patsubst test/%.c,%,$(wildcard test/core_*_test.c))

LIBFLAG     ?= -shared
CORE_MUST   := -fPIC -fvisibility=hidden -Icsrc
CORE_LUA_PC := $(LUA)
CORE_LUA_CFLAGS := $(if $(LUA_INCDIR),-I$(LUA_INCDIR),$(shell pkg-config --cflags $(CORE_LUA_PC) 2>/dev/null))
CORE_DEP_CFLAGS := $(shell pkg-config --cflags libcurl jansson hiredis)
CORE_DEP_LIBS   := $(shell pkg-config --libs jansson hiredis) -lpthread -ldl   # libcurl: dlopen'ed (curl_lazy.c)
CORE_OBJDIR := $(BUILD)/obj/core/$(LUA)
CORE_SO     := $(BUILD)/$(LUA)/zlock/core.so
CORE_HDRS   := $(wildcard csrc/*.h csrc/binding/*.h)
CORE_OBJS   := $(addprefix $(CORE_OBJDIR)/,$(addsuffix .o,$(CORE_PURE) $(CORE_IO) $(CORE_BIND)))

core: $(CORE_SO) $(addprefix $(BUILD)/tests/,$(CORE_TESTS))

$(CORE_OBJDIR)/%.o: csrc/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(CORE_MUST) $(CORE_LUA_CFLAGS) $(CORE_DEP_CFLAGS) -c $< -o $@

$(CORE_SO): $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIBFLAG) -o $@ $(CORE_OBJS) $(CORE_DEP_LIBS)

# Pure-core objects for the C tests (no Lua, no libcurl).
CORE_TOBJDIR := $(BUILD)/obj/core/pure
CORE_TOBJS   := $(addprefix $(CORE_TOBJDIR)/,$(addsuffix .o,$(CORE_PURE)))
.SECONDARY: $(CORE_TOBJS)

$(CORE_TOBJDIR)/%.o: csrc/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Icsrc $(shell pkg-config --cflags jansson libcurl hiredis) -c $< -o $@

$(BUILD)/tests/core_%_test: test/core_%_test.c test/tap.h $(CORE_TOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Icsrc -Itest $< $(CORE_TOBJS) -o $@ $(shell pkg-config --libs jansson hiredis) -lpthread

# The C bulk engine's test drives real transfers: it also links the libcurl transport (dlopen'ed).
CORE_TIO := $(addprefix $(CORE_TOBJDIR)/,curl_lazy.o transport_curl.o bulk.o bulk_item.o bulk_end.o bulk_io.o bulk_done.o bulk_fleet.o)
.SECONDARY: $(CORE_TIO)
$(BUILD)/tests/core_bulk_test: test/core_bulk_test.c test/tap.h $(CORE_TOBJS) $(CORE_TIO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Icsrc -Itest $(shell pkg-config --cflags libcurl) $< $(CORE_TOBJS) $(CORE_TIO) -o $@ \
	  $(shell pkg-config --libs jansson hiredis) -lpthread -ldl

ctest-core: $(addprefix $(BUILD)/tests/,$(CORE_TESTS))
	@for t in $^; do $$t || exit 1; done
