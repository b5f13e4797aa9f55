/* lua_json.c - core.decode(text): JSON text -> Lua value, for reply bodies.
 * A small strict decoder (RFC 8259) that builds presized tables directly (why: bench/figures.md).
 * Same values as lua-cjson gives: objects/arrays as plain tables, null as a NULL lightuserdata (that is
 * cjson.null = zlock.null), strings as strings (ids stay strings), numbers as integers when
 * they are integral and fit (5.3+), else floats. Depth limited; never raises on bad input:
 * returns nil and a message. */
#include <stdlib.h>
#include <string.h>
#include "lua_binding.h"

#define MAX_DEPTH 200

typedef struct { const char *p, *end; const char *err; lua_State *L; } jd;

static void ws(jd *d) {
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r')) d->p++;
}

static int fail(jd *d, const char *msg) { if (!d->err) d->err = msg; return -1; }

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex4(jd *d, unsigned *out) {
    if (d->end - d->p < 4) return fail(d, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(d->p[i]);
        if (h < 0) return fail(d, "bad \\u escape");
        v = v * 16 + (unsigned)h;
    }
    d->p += 4;
    *out = v;
    return 0;
}

static void put_utf8(luaL_Buffer *b, unsigned cp) {
    char u[4];
    int n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    luaL_addlstring(b, u, (size_t)n);
}

/* 1 for the bytes that end a plain run inside a string: '"', '\\' and controls. */
static const unsigned char STOP[256] = {
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
};

/* d->p at the opening quote; pushes the string. */
static int str(jd *d) {
    const char *s = ++d->p;
    const char *end = d->end;
    const char *p = d->p;
    while (p < end && !STOP[(unsigned char)*p]) p++;
    d->p = p;
    if (d->p < d->end && *d->p == '"') {           /* the common case: no escapes */
        lua_pushlstring(d->L, s, (size_t)(d->p - s));
        d->p++;
        return 0;
    }
    luaL_Buffer b;
    luaL_buffinit(d->L, &b);
    luaL_addlstring(&b, s, (size_t)(d->p - s));
    while (d->p < d->end) {
        unsigned char c = (unsigned char)*d->p;
        if (c == '"') { d->p++; luaL_pushresult(&b); return 0; }
        if (c < 0x20) return fail(d, "control character in a string");
        if (c != '\\') {
            const char *r = d->p;
            while (d->p < d->end && *d->p != '"' && *d->p != '\\' && (unsigned char)*d->p >= 0x20) d->p++;
            luaL_addlstring(&b, r, (size_t)(d->p - r));
            continue;
        }
        if (++d->p >= d->end) break;
        char e = *d->p++;
        switch (e) {
        case '"': luaL_addchar(&b, '"'); break;
        case '\\': luaL_addchar(&b, '\\'); break;
        case '/': luaL_addchar(&b, '/'); break;
        case 'b': luaL_addchar(&b, '\b'); break;
        case 'f': luaL_addchar(&b, '\f'); break;
        case 'n': luaL_addchar(&b, '\n'); break;
        case 'r': luaL_addchar(&b, '\r'); break;
        case 't': luaL_addchar(&b, '\t'); break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(d, &cp)) return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u') return fail(d, "lone surrogate");
                d->p += 2;
                if (hex4(d, &lo)) return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return fail(d, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(d, "lone surrogate");
            }
            put_utf8(&b, cp);
            break;
        }
        default: return fail(d, "bad escape");
        }
    }
    return fail(d, "unterminated string");
}

static int num(jd *d) {
    const char *s = d->p;
    bool integral = true;
    if (d->p < d->end && *d->p == '-') d->p++;
    if (d->p >= d->end) return fail(d, "bad number");
    if (*d->p == '0') d->p++;
    else if (*d->p >= '1' && *d->p <= '9') while (d->p < d->end && *d->p >= '0' && *d->p <= '9') d->p++;
    else return fail(d, "bad number");
    if (d->p < d->end && *d->p == '.') {
        integral = false;
        d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9') return fail(d, "bad number");
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9') d->p++;
    }
    if (d->p < d->end && (*d->p == 'e' || *d->p == 'E')) {
        integral = false;
        d->p++;
        if (d->p < d->end && (*d->p == '+' || *d->p == '-')) d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9') return fail(d, "bad number");
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9') d->p++;
    }
    size_t n = (size_t)(d->p - s);
    char buf[64];
    if (n >= sizeof buf) return fail(d, "number too long");
    memcpy(buf, s, n);
    buf[n] = '\0';
#if LUA_VERSION_NUM >= 503
    if (integral && n <= 18) { lua_pushinteger(d->L, (lua_Integer)strtoll(buf, NULL, 10)); return 0; }
#else
    (void)integral;
#endif
    lua_pushnumber(d->L, (lua_Number)strtod(buf, NULL));
    return 0;
}

static int lit(jd *d, const char *word, size_t n) {
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0) return fail(d, "unexpected token");
    d->p += n;
    return 0;
}

static int value(jd *d, int depth);

static int object(jd *d, int depth) {
    d->p++;
    lua_createtable(d->L, 0, 6);   /* presized: Zoho's objects mostly hold a handful of keys */
    ws(d);
    if (d->p < d->end && *d->p == '}') { d->p++; return 0; }
    for (;;) {
        ws(d);
        if (d->p >= d->end || *d->p != '"') return fail(d, "object key expected");
        if (str(d)) return -1;
        ws(d);
        if (d->p >= d->end || *d->p != ':') return fail(d, "':' expected");
        d->p++;
        if (value(d, depth + 1)) return -1;
        lua_rawset(d->L, -3);
        ws(d);
        if (d->p < d->end && *d->p == ',') { d->p++; continue; }
        if (d->p < d->end && *d->p == '}') { d->p++; return 0; }
        return fail(d, "',' or '}' expected");
    }
}

static int array(jd *d, int depth) {
    d->p++;
    lua_createtable(d->L, 4, 0);
    ws(d);
    if (d->p < d->end && *d->p == ']') { d->p++; return 0; }
    for (int i = 1;; i++) {
        if (value(d, depth + 1)) return -1;
        lua_rawseti(d->L, -2, i);
        ws(d);
        if (d->p < d->end && *d->p == ',') { d->p++; continue; }
        if (d->p < d->end && *d->p == ']') { d->p++; return 0; }
        return fail(d, "',' or ']' expected");
    }
}

static int value(jd *d, int depth) {
    if (depth > MAX_DEPTH) return fail(d, "too deeply nested");
    ws(d);
    if (d->p >= d->end) return fail(d, "unexpected end");
    if (!lua_checkstack(d->L, 4)) return fail(d, "out of Lua stack");
    switch (*d->p) {
    case '{': return object(d, depth);
    case '[': return array(d, depth);
    case '"': return str(d);
    case 't': if (lit(d, "true", 4)) return -1; lua_pushboolean(d->L, 1); return 0;
    case 'f': if (lit(d, "false", 5)) return -1; lua_pushboolean(d->L, 0); return 0;
    case 'n': if (lit(d, "null", 4)) return -1; lua_pushlightuserdata(d->L, NULL); return 0;
    default: return num(d);
    }
}

/* core.decode(text) -> value | nil, message */
int zlb_json_decode(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_settop(L, 1);
    jd d = { s, s + len, NULL, L };
    if (value(&d, 0) == 0) {
        ws(&d);
        if (d.p == d.end) return 1;
        fail(&d, "trailing characters");
    }
    lua_settop(L, 1);
    lua_pushnil(L);
    lua_pushfstring(L, "invalid JSON at byte %d: %s", (int)(d.p - s) + 1, d.err ? d.err : "?");
    return 2;
}
