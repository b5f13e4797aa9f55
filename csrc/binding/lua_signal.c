/* lua_signal.c - SIGINT for command-line programs, told apart by identity, not by text.
 *   core.trap_sigint(err[, safe[, notice]])  from now on SIGINT raises `err` (any Lua value: the
 *       CLI gives an error object with code INTERRUPTED) in the calling Lua state, as the
 *       stand-alone interpreter raises its "interrupted!" string. Without `safe`, at the next Lua
 *       instruction. With `safe` (a set {[function] = true}), the first SIGINT raises only when
 *       one of those functions is next called (points where stopping loses nothing; `notice` is
 *       written to stderr at once), a second SIGINT at the next instruction.
 *   core.trap_sigint(nil)   restores the default action.
 *   core.sigint_count() -> how many SIGINTs came since the trap was set.
 * A signal belongs to the process: the last Lua state that set the trap owns it (the module's
 * only process-wide variables). */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "lua_binding.h"

static lua_State *volatile trap_L;
static volatile sig_atomic_t trap_hits;
static volatile sig_atomic_t trap_deferred;
static char trap_notice[256];
static size_t trap_notice_len;
static const char err_key = 'e';    /* registry: the value raised */
static const char safe_key = 's';   /* registry: the set of safe points */

static void raise_trapped(lua_State *L) {
    lua_sethook(L, NULL, 0, 0);
    lua_pushlightuserdata(L, (void *)&err_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_error(L);
}

static void at_any_point(lua_State *L, lua_Debug *ar) {
    (void)ar;
    raise_trapped(L);
}

static void at_safe_point(lua_State *L, lua_Debug *ar) {
    int call = ar->event == LUA_HOOKCALL;
#ifdef LUA_HOOKTAILCALL
    call = call || ar->event == LUA_HOOKTAILCALL;
#endif
    if (!call || !lua_getinfo(L, "f", ar)) return;
    lua_pushlightuserdata(L, (void *)&safe_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    int hit = 0;
    if (lua_istable(L, -1)) {
        lua_pushvalue(L, -2);
        lua_rawget(L, -2);
        hit = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    if (hit) raise_trapped(L);
}

/* Only async-signal-safe calls: lua_sethook (Lua manual) and write. */
static void on_sigint(int sig) {
    (void)sig;
    lua_State *L = trap_L;
    if (!L) return;
    trap_hits = trap_hits + 1;
    if (trap_deferred && trap_hits == 1) {
        if (trap_notice_len) {
            ssize_t w = write(2, trap_notice, trap_notice_len);
            (void)w;
        }
        lua_sethook(L, at_safe_point, LUA_MASKCALL, 0);
    } else {
        lua_sethook(L, at_any_point, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
}

int zlb_trap_sigint(lua_State *L) {
    int on = !lua_isnoneornil(L, 1);
    int deferred = on && lua_istable(L, 2);
    size_t n = 0;
    const char *notice = deferred ? luaL_optlstring(L, 3, "", &n) : "";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = SIG_DFL;
    if (sigaction(SIGINT, &sa, NULL) != 0) return luaL_error(L, "sigaction(SIGINT) failed");
    trap_L = NULL;
    lua_pushlightuserdata(L, (void *)&err_key);
    lua_pushvalue(L, 1);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_pushlightuserdata(L, (void *)&safe_key);
    if (deferred) lua_pushvalue(L, 2); else lua_pushnil(L);
    lua_rawset(L, LUA_REGISTRYINDEX);
    if (!on) return 0;
    if (n >= sizeof trap_notice) n = sizeof trap_notice - 1;
    memcpy(trap_notice, notice, n);
    trap_notice_len = n;
    trap_hits = 0;
    trap_deferred = deferred;
    trap_L = L;
    sa.sa_handler = on_sigint;
    if (sigaction(SIGINT, &sa, NULL) != 0) return luaL_error(L, "sigaction(SIGINT) failed");
    return 0;
}

int zlb_sigint_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)trap_hits);
    return 1;
}
