/* lua_engine.c - the C bulk engine userdata (zlock_bulk.h) for Lua, no callbacks into Lua.
 *   core.engine(client, opts) -> engine | nil, err
 *       opts: concurrency (max in flight, default 10), initial, decrease, probe, capacity,
 *             throttle_budget (seconds), throttle_pause (seconds),
 *             lean (true: a lock/update/unlock result is {outcome=, id=, reconciled=true}: no body)
 *   :submit(tag, kind, module, record_id, lock_id, reason [, params [, rerun]]) -> true, due | false (full)
 *        (due: false when no finished item waits for a poll, see zl_bulk_due)
 *       kind: "get_one" | "list" | "lock" | "update" | "unlock"; tag: any Lua value (not nil)
 *   :poll(timeout_ms) -> array of {tag=, result={outcome, status, body, lock_id, reconciled,
 *                        ambiguous, attempts, error}} (error: an already_ outcome's why)
 *                        or {tag=, err={code, message, http_status, retryable, details}}
 *   :inflight() -> n     :stats() -> table     :close() (idempotent; __gc; __close)
 * The tags of items in flight live in a table referenced from the registry (per Lua state). */
#include <string.h>
#include "lua_binding.h"
#include "zlock_bulk.h"

#define ZLB_ENGINE "zlock.core.engine"
#define POLL_BATCH 32

typedef struct {
    zl_bulk *b;
    int pending;         /* registry ref of {tag number -> Lua tag value} */
    uint64_t next_tag;
    bool lean;           /* no reply body for lock/update/unlock results */
} zlb_engine;

static zlb_engine *check_engine(lua_State *L) {
    zlb_engine *u = luaL_checkudata(L, 1, ZLB_ENGINE);
    if (!u->b) luaL_error(L, "zlock engine is closed");
    return u;
}

static int l_new(lua_State *L) {
    zlb_client *cu = luaL_checkudata(L, 1, ZLB_CLIENT);
    if (!cu->c) return luaL_error(L, "zlock client is closed");
    zl_bulk_opts o;
    zl_bulk_opts_init(&o);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        o.concurrency = (int)zlb_opt_num(L, 2, "concurrency", o.concurrency);
        o.initial = (int)zlb_opt_num(L, 2, "initial", o.initial);
        o.decrease = zlb_opt_num(L, 2, "decrease", o.decrease);
        o.probe = (int)zlb_opt_num(L, 2, "probe", o.probe);
        o.capacity = (int)zlb_opt_num(L, 2, "capacity", o.capacity);
        o.throttle_budget_ms = (long)(zlb_opt_num(L, 2, "throttle_budget", o.throttle_budget_ms / 1000.0) * 1000);
        o.throttle_pause_ms = (long)(zlb_opt_num(L, 2, "throttle_pause", o.throttle_pause_ms / 1000.0) * 1000);
    }
    bool lean = false;
    if (!lua_isnoneornil(L, 2)) {
        lua_getfield(L, 2, "lean");
        lean = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    o.lean = lean;                       /* push_result's lean tables never read the body */
    zlb_engine *u = lua_newuserdata(L, sizeof *u);
    u->lean = lean;
    u->b = NULL;
    u->pending = LUA_NOREF;
    u->next_tag = 0;
    luaL_getmetatable(L, ZLB_ENGINE);
    lua_setmetatable(L, -2);
    zl_error err = {0};
    u->b = zl_bulk_new(cu->c, &o, &err);
    if (!u->b) {
        int n = zlb_fail(L, &err);
        zl_error_clear(&err);
        return n;
    }
    lua_newtable(L);
    u->pending = luaL_ref(L, LUA_REGISTRYINDEX);
    return 1;
}

static int l_submit(lua_State *L) {
    zlb_engine *u = check_engine(L);
    luaL_checkany(L, 2);
    if (lua_isnil(L, 2)) return luaL_argerror(L, 2, "tag must not be nil");
    zl_op op;
    zl_param ps[ZLB_MAX_PARAMS];
    zlb_read_op(L, 3, &op, ps);
    /* make room for the tag first: no Lua error may happen once the engine holds the item */
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->pending);
    uint64_t tag = ++u->next_tag;
    if (!zl_bulk_submit(u->b, &op, tag)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, (lua_Integer)tag);
    lua_pushboolean(L, 1);
    lua_pushboolean(L, zl_bulk_due(u->b));   /* false: no finished item waits */
    return 2;
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

/* A new result table with the core's outcome and, for the already_ outcomes, their why. */
static void push_outcome(lua_State *L, const zl_bulk_result *r, bool lean) {
    lua_createtable(L, 0, lean ? 3 : 8);
    lua_pushstring(L, zl_outcome_name(r->outcome));
    lua_setfield(L, -2, "outcome");
    if (r->err.code[0]) {
        zlb_push_error(L, &r->err);
        lua_setfield(L, -2, "error");
    }
}

/* A result as the core gives it ({status, body, lock_id, reconciled, attempts}), or in lean
 * mode, for a lock / update / unlock, already the table the caller gets: {outcome=, id=, reconciled=true} */
static void push_result(lua_State *L, const zl_bulk_result *r, bool lean) {
    push_outcome(L, r, lean && (r->kind == ZL_OP_LOCK || r->kind == ZL_OP_UPDATE || r->kind == ZL_OP_UNLOCK));
    if (lean && (r->kind == ZL_OP_LOCK || r->kind == ZL_OP_UPDATE || r->kind == ZL_OP_UNLOCK)) {
        if (r->lock_id[0]) {
            lua_pushstring(L, r->lock_id);
            lua_setfield(L, -2, "id");
        }
        if (r->reconciled) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "reconciled");
        }
        return;
    }
    set_int(L, "status", r->http_status);
    lua_pushlstring(L, r->body ? r->body : "", r->body_len);
    lua_setfield(L, -2, "body");
    if (r->lock_id[0]) {
        lua_pushstring(L, r->lock_id);
        lua_setfield(L, -2, "lock_id");
    }
    lua_pushboolean(L, r->reconciled);
    lua_setfield(L, -2, "reconciled");
    lua_pushboolean(L, r->ambiguous);
    lua_setfield(L, -2, "ambiguous");
    set_int(L, "attempts", r->attempts);
}

static int l_poll(lua_State *L) {
    zlb_engine *u = check_engine(L);
    lua_Number t = luaL_optnumber(L, 2, 0);
    long timeout_ms = t > 0 ? (long)t : 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->pending);
    int pending = lua_gettop(L);
    lua_newtable(L);
    int n = 0;
    zl_bulk_result rs[POLL_BATCH];
    size_t got = zl_bulk_poll(u->b, timeout_ms, rs, POLL_BATCH);
    for (;;) {
        for (size_t i = 0; i < got; i++) {
            zl_bulk_result *r = &rs[i];
            lua_createtable(L, 0, 3);          /* room for the `item` zlock.engine_multi adds */
            lua_rawgeti(L, pending, (lua_Integer)r->tag);
            lua_setfield(L, -2, "tag");
            lua_pushnil(L);
            lua_rawseti(L, pending, (lua_Integer)r->tag);
            if (r->ok) {
                push_result(L, r, u->lean);
                lua_setfield(L, -2, "result");
            } else {
                zlb_push_error(L, &r->err);
                lua_setfield(L, -2, "err");
            }
            lua_rawseti(L, -2, ++n);
            zl_bulk_result_clear(r);
        }
        if (got < POLL_BATCH) break;
        got = zl_bulk_poll(u->b, 0, rs, POLL_BATCH);   /* more already finished */
        if (!got) break;
    }
    return 1;
}

static int l_inflight(lua_State *L) {
    zlb_engine *u = check_engine(L);
    lua_pushinteger(L, (lua_Integer)zl_bulk_inflight(u->b));
    return 1;
}

static int l_stats(lua_State *L) {
    zlb_engine *u = check_engine(L);
    zl_bulk_stats s;
    zl_bulk_stats_get(u->b, &s);
    lua_createtable(L, 0, 22);
    set_int(L, "concurrency", s.window);
    set_int(L, "max", s.max);
    set_int(L, "limit_estimate", s.limit_estimate);
    set_int(L, "items", (lua_Integer)s.items);
    set_int(L, "requests_inflight", s.requests_inflight);
    set_int(L, "max_inflight", s.max_inflight);
    set_int(L, "requests", (lua_Integer)s.requests);
    set_int(L, "token_requests", (lua_Integer)s.token_requests);
    set_int(L, "throttled", (lua_Integer)s.throttled);
    set_int(L, "retries", (lua_Integer)s.retries);
    set_int(L, "restarts", (lua_Integer)s.restarts);
    set_int(L, "cuts", (lua_Integer)s.cuts);
    set_int(L, "connects", (lua_Integer)s.connects);
    set_int(L, "finished", (lua_Integer)s.finished);
    set_int(L, "threads", s.threads);
    set_int(L, "slot_waits", (lua_Integer)s.slot_waits);
    set_int(L, "slot_wait_ms", (lua_Integer)s.slot_wait_ms);
    set_int(L, "fleet_limit", s.fleet_limit);
    set_int(L, "fleet_holders", s.fleet_holders);
    static const char *const source[] = { "local", "learned", "given" };
    lua_pushstring(L, source[s.fleet_source >= 0 && s.fleet_source <= 2 ? s.fleet_source : 0]);
    lua_setfield(L, -2, "fleet_source");
    return 1;
}

static int l_close(lua_State *L) {
    zlb_engine *u = luaL_checkudata(L, 1, ZLB_ENGINE);
    if (u->b) {
        zl_bulk_free(u->b);
        u->b = NULL;
    }
    if (u->pending != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, u->pending);
        u->pending = LUA_NOREF;
    }
    return 0;
}

void zlb_engine_register(lua_State *L) {
    static const luaL_Reg methods[] = {
        { "submit", l_submit }, { "poll", l_poll }, { "inflight", l_inflight },
        { "stats", l_stats }, { "close", l_close }, { NULL, NULL }
    };
    static const luaL_Reg meta[] = { { "__gc", l_close }, { "__close", l_close }, { NULL, NULL } };
    zlc_newclass(L, ZLB_ENGINE, methods, meta);
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "engine");
}
