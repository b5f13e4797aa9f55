/* lua_call.c - the call userdata: the sans-I/O state machine, steppable from Lua.
 *   :next() -> step table   {kind="send", method, url, headers={Name=value}, body,
 *                             token_request, idempotent}
 *                           | {kind="wait", ms, attempt, error}  | {kind="wait_token", seq}
 *                           | {kind="done"}
 *   :feed(status, body, errcode, credits)   errcode nil | "connect" | "timeout" | "closed"
 *                                  | "tls" | "too_large" | anything else (= transport failure);
 *                                  credits: the reply's X-API-CREDITS-REMAINING (nil: none)
 *   :feed_token(token, expires_at) satisfy a token_request step from outside
 *   :run([observe]) -> nil when done | the wait step (libcurl, blocking; never from nginx
 *                       handlers) | with observe, also {kind="request", method, url, token_request}
 *                       before each request and {kind="response", status, ms, error, request_id}
 *                       after it (zl_call_run_observed)
 *   :cancel(code, message)
 *   :result() -> {outcome, status, body, lock_id, reconciled, ambiguous, attempts, error} | nil, err
 *        outcome: zl_outcome_name() ("locked", "already_locked", ...); error: the `why` of an
 *        already_locked / already_unlocked outcome (nil otherwise)
 *   :close() (idempotent; __gc; __close)
 * run() performs libcurl with no Lua callback inside, so no Lua error can longjmp through it. */
#include <limits.h>
#include <string.h>
#include "lua_binding.h"

static zlb_call *check_call(lua_State *L) {
    zlb_call *u = luaL_checkudata(L, 1, ZLB_CALL);
    if (!u->call) luaL_error(L, "zlock call is closed");
    return u;
}

int zlb_push_call(lua_State *L, zl_call *call) {
    zlb_call *u = lua_newuserdata(L, sizeof *u);
    memset(u, 0, sizeof *u);
    u->call = call;
    luaL_getmetatable(L, ZLB_CALL);
    lua_setmetatable(L, -2);
    return 1;
}

void zlb_push_step(lua_State *L, const zl_step *s) {
    switch (s->kind) {
    case ZL_STEP_SEND:
        lua_createtable(L, 0, 7);
        lua_pushliteral(L, "send");
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, s->method);
        lua_setfield(L, -2, "method");
        lua_pushstring(L, s->url);
        lua_setfield(L, -2, "url");
        lua_createtable(L, 0, (int)s->nheaders);
        for (size_t i = 0; i < s->nheaders; i++) {
            const char *h = s->headers[i];
            const char *colon = strchr(h, ':');
            if (!colon) continue;
            const char *v = colon + 1;
            while (*v == ' ') v++;
            lua_pushlstring(L, h, (size_t)(colon - h));
            lua_pushstring(L, v);
            lua_settable(L, -3);
        }
        lua_setfield(L, -2, "headers");
        if (s->body) {
            lua_pushlstring(L, s->body, s->body_len);
            lua_setfield(L, -2, "body");
        }
        lua_pushboolean(L, s->is_token_request);
        lua_setfield(L, -2, "token_request");
        lua_pushboolean(L, s->idempotent);
        lua_setfield(L, -2, "idempotent");
        break;
    case ZL_STEP_WAIT:
        lua_createtable(L, 0, 4);
        lua_pushliteral(L, "wait");
        lua_setfield(L, -2, "kind");
        lua_pushinteger(L, (lua_Integer)s->wait_ms);
        lua_setfield(L, -2, "ms");
        lua_pushinteger(L, s->attempt);
        lua_setfield(L, -2, "attempt");
        zlb_push_error(L, s->reason);
        lua_setfield(L, -2, "error");
        break;
    case ZL_STEP_WAIT_TOKEN:
        lua_createtable(L, 0, 2);
        lua_pushliteral(L, "wait_token");
        lua_setfield(L, -2, "kind");
        lua_pushnumber(L, (lua_Number)s->token_seq);
        lua_setfield(L, -2, "seq");
        break;
    default:
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "done");
        lua_setfield(L, -2, "kind");
    }
}

static int l_next(lua_State *L) {
    zlb_call *u = check_call(L);
    zl_step s;
    zl_call_next(u->call, &s);
    zlb_push_step(L, &s);
    return 1;
}

static zl_transport_error terr_of(const char *s) {
    if (!s) return ZL_TERR_NONE;
    if (strcmp(s, "connect") == 0) return ZL_TERR_CONNECT;
    if (strcmp(s, "timeout") == 0) return ZL_TERR_TIMEOUT;
    if (strcmp(s, "closed") == 0) return ZL_TERR_CLOSED;
    if (strcmp(s, "tls") == 0) return ZL_TERR_TLS;
    if (strcmp(s, "too_large") == 0) return ZL_TERR_TOO_LARGE;
    return ZL_TERR_OTHER;
}

static int l_feed(lua_State *L) {
    zlb_call *u = check_call(L);
    int status = (int)luaL_optinteger(L, 2, 0);
    size_t len = 0;
    const char *body = luaL_optlstring(L, 3, "", &len);
    const char *e = luaL_optstring(L, 4, NULL);
    /* a header value, so never an error: anything but a number >= 0 means "not said" */
    long credits = -1;
    if (lua_type(L, 5) == LUA_TNUMBER || lua_type(L, 5) == LUA_TSTRING) {
        lua_Number n = lua_tonumber(L, 5);   /* 0 for a string that is not a number: checked below */
        if (lua_isnumber(L, 5) && n >= 0 && n < (lua_Number)LONG_MAX) credits = (long)n;
    }
    zl_call_feed_credits(u->call, credits);
    zl_call_feed(u->call, status, body, len, terr_of(e));
    return 0;
}

static int l_feed_token(lua_State *L) {
    zlb_call *u = check_call(L);
    const char *t = luaL_checkstring(L, 2);
    double exp = (double)luaL_optnumber(L, 3, 0);
    zl_call_feed_token(u->call, t, exp);
    return 0;
}

static const char *const TERR_NAMES[] = { NULL, "connect", "timeout", "closed", "tls", "too_large", "other" };

/* call:run(true): the exchange just announced or answered, as a table (see the header). */
static int push_exchange(lua_State *L, const zl_exchange *ex) {
    lua_createtable(L, 0, 6);
    if (ex->phase == 1) {
        lua_pushliteral(L, "request");
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, ex->method);
        lua_setfield(L, -2, "method");
        lua_pushstring(L, ex->url);
        lua_setfield(L, -2, "url");
        lua_pushboolean(L, ex->is_token_request);
        lua_setfield(L, -2, "token_request");
        return 1;
    }
    lua_pushliteral(L, "response");
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, ex->status);
    lua_setfield(L, -2, "status");
    lua_pushinteger(L, ex->ms);
    lua_setfield(L, -2, "ms");
    if (ex->terr > ZL_TERR_NONE && ex->terr <= ZL_TERR_OTHER) {
        lua_pushstring(L, TERR_NAMES[ex->terr]);
        lua_setfield(L, -2, "error");
    }
    if (ex->request_id[0]) {
        lua_pushstring(L, ex->request_id);
        lua_setfield(L, -2, "request_id");
    }
    return 1;
}

static int l_run(lua_State *L) {
    zlb_call *u = check_call(L);
    zl_step w;
    int observe = lua_toboolean(L, 2);
    zl_step_kind k = observe ? zl_call_run_observed(u->call, &w, &u->ex) : zl_call_run(u->call, &w);
    if (k == ZL_STEP_WAIT) {
        zlb_push_step(L, &w);
        return 1;
    }
    if (k == ZL_STEP_SEND && observe) return push_exchange(L, &u->ex);
    lua_pushnil(L);
    return 1;
}

static int l_transport_resends(lua_State *L) {
    zl_call_transport_resends(check_call(L)->call);
    return 0;
}

static int l_cancel(lua_State *L) {
    zlb_call *u = check_call(L);
    zl_call_cancel(u->call, luaL_optstring(L, 2, "CANCELLED"), luaL_optstring(L, 3, "cancelled"));
    return 0;
}

static void set_bool(lua_State *L, const char *k, bool v) {
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

int zlb_push_result(lua_State *L, const zl_call *call) {
    zl_result r;
    const zl_error *e = NULL;
    if (zl_call_result(call, &r, &e)) {
        lua_createtable(L, 0, 8);
        lua_pushstring(L, zl_outcome_name(r.outcome));
        lua_setfield(L, -2, "outcome");
        if (r.why) {
            zlb_push_error(L, r.why);
            lua_setfield(L, -2, "error");
        }
        set_bool(L, "ambiguous", r.ambiguous);
        lua_pushinteger(L, r.http_status);
        lua_setfield(L, -2, "status");
        lua_pushlstring(L, r.body, r.body_len);
        lua_setfield(L, -2, "body");
        if (r.lock_id) {
            lua_pushstring(L, r.lock_id);
            lua_setfield(L, -2, "lock_id");
        }
        set_bool(L, "reconciled", r.reconciled);
        lua_pushinteger(L, r.attempts);
        lua_setfield(L, -2, "attempts");
        return 1;
    }
    if (!e) {
        zl_error pending = {0};
        strcpy(pending.code, "INTERNAL");
        strcpy(pending.message, "the call has not finished");
        return zlb_fail(L, &pending);
    }
    return zlb_fail(L, e);
}

static int l_result(lua_State *L) {
    zlb_call *u = check_call(L);
    return zlb_push_result(L, u->call);
}

static int l_close(lua_State *L) {
    zlb_call *u = luaL_checkudata(L, 1, ZLB_CALL);
    if (u->call) {
        zl_call_free(u->call);
        u->call = NULL;
    }
    return 0;
}

void zlb_call_register(lua_State *L) {
    static const luaL_Reg methods[] = {
        { "next", l_next }, { "feed", l_feed }, { "feed_token", l_feed_token }, { "run", l_run },
        { "cancel", l_cancel }, { "result", l_result }, { "close", l_close },
        { "transport_resends", l_transport_resends }, { NULL, NULL }
    };
    static const luaL_Reg meta[] = { { "__gc", l_close }, { "__close", l_close }, { NULL, NULL } };
    zlc_newclass(L, ZLB_CALL, methods, meta);
}
