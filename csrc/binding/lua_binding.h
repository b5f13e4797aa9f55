/* lua_binding.h - shared by the binding's files (zlock.core). */
#ifndef ZLOCK_LUA_BINDING_H
#define ZLOCK_LUA_BINDING_H

#include "lua_compat.h"
#include "zlock.h"

#define ZLB_CLIENT "zlock.core.client"
#define ZLB_CALL   "zlock.core.call"

typedef struct { zl_client *c; } zlb_client;
typedef struct { zl_call *call; zl_exchange ex; } zlb_call;   /* ex: call:run(true) */

/* Pushes {code, message, http_status, retryable, details(JSON text)}. */
void zlb_push_error(lua_State *L, const zl_error *e);
/* Pushes nil and the error table; returns 2. */
int  zlb_fail(lua_State *L, const zl_error *e);
/* Wraps a new zl_call in a userdata (takes ownership). */
int  zlb_push_call(lua_State *L, zl_call *call);
/* Pushes a step as a table (see lua_call.c). */
void zlb_push_step(lua_State *L, const zl_step *s);
/* Pushes the finished call's result table, or nil and the error; returns the count. */
int  zlb_push_result(lua_State *L, const zl_call *call);

/* lua_op.c: the arguments shared by client:call/run and engine:submit. */
#define ZLB_MAX_PARAMS 32
/* t[k] when it is a number, else def. */
double zlb_opt_num(lua_State *L, int t, const char *k, double def);
/* The {key = "value"} table at idx (or none) into ps (ZLB_MAX_PARAMS); strings stay owned by
 * the table. Raises on anything else. Returns the count. */
size_t zlb_read_params(lua_State *L, int idx, zl_param *ps);
/* kind ("get_one" | "list" | "lock" | "update" | "unlock"), module, record_id, lock_id, reason,
 * params, rerun (zl_op.rerun: truthy or not) at idx..idx+6 into *op (ps: ZLB_MAX_PARAMS).
 * Raises on bad arguments. */
void zlb_read_op(lua_State *L, int idx, zl_op *op, zl_param *ps);

int  zlb_client_new(lua_State *L);
/* A zl_config from the options table at index 1 (strings stay owned by the table). */
void zlb_read_config(lua_State *L, zl_config *cfg);
/* core.exchange_code(cfg, code) -> { refresh_token, access_token, expires_in, api_domain } | nil, err */
int  zlb_exchange_code(lua_State *L);
/* core.write_private(dir, name, text) -> true | nil, msg (0700 dir, 0600 file, atomic) */
int  zlb_write_private(lua_State *L);
/* lua_store.c: what Lua token stores (nginx) share with the core's */
int  zlb_redis_url(lua_State *L);
int  zlb_token_store_key(lua_State *L);
int  zlb_budget(lua_State *L);
int  zlb_client_budget(lua_State *L);
int  zlb_budget_signal(lua_State *L);
int  zlb_learn_api_domain(lua_State *L);
/* lua_json.c: core.decode(text) -> value | nil, message */
int  zlb_json_decode(lua_State *L);
void zlb_client_register(lua_State *L);
void zlb_call_register(lua_State *L);
/* lua_engine.c (the bulk engine): sets `engine` in the module table on top of the stack. */
void zlb_engine_register(lua_State *L);
/* lua_signal.c: core.trap_sigint(err[, safe[, notice]]), core.sigint_count() */
int  zlb_trap_sigint(lua_State *L);
int  zlb_sigint_count(lua_State *L);
/* lua_file.c: sets `lock_file` (an flock'ed file) in the module table on top of the stack. */
void zlb_file_register(lua_State *L);
/* lua_env.c: sets `environ_names` (the environment's variable names) in the module table. */
void zlb_env_register(lua_State *L);

#endif
