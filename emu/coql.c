/* emu/coql.c: a documented subset of Zoho's COQL, parsed into the condition tree of
 * emu/cond.c (the one search criteria use).
 *
 *   query   := SELECT column {"," column} FROM Module WHERE cond
 *              [ORDER BY column [ASC | DESC]]
 *              [LIMIT count [OFFSET offset] | LIMIT offset "," count]
 *   column  := Field | 'Field' | "Field"      (quotes for reserved words, as Zoho asks)
 *   cond    := primary [ (AND | OR) primary ] (Zoho: at most two criteria per level;
 *                                              group the rest with parentheses)
 *   primary := "(" cond ")" | Field op value | Field [NOT] LIKE 'pattern'
 *            | Field [NOT] IN "(" value {"," value} ")" | Field BETWEEN value AND value
 *            | Field IS [NOT] NULL
 *   op      := "=" | "!=" | ">" | ">=" | "<" | "<="
 *   value   := 'string' | number | true | false | null
 *
 * Keywords are case-insensitive; strings take '' or \' for a quote and \\ for a
 * backslash. LIKE takes 'x%' (starts with), '%x' (ends with), '%x%' (contains) or 'x'
 * (equals); NOT LIKE only '%x%'. Limits (Zoho's): WHERE is required; LIMIT defaults to
 * 200 and may not exceed 2000; offset + limit <= 100000; at most 50 select columns,
 * 25 criteria, 50 values in IN. Not in the subset: *, aggregates, GROUP BY, joins
 * through lookups other than as a plain dotted field name, subqueries, several ORDER BY
 * columns. Errors follow Zoho's crm-oas v8 coql.json examples; where Zoho's exact text is
 * unknown the comment says UNCONFIRMED.
 *
 * Pure: no I/O, no globals. */
#include "coql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COQL_MAX_CRITERIA 25
#define COQL_MAX_IN       50
#define COQL_MAX_ROWS     100000L

typedef enum { T_EOF, T_IDENT, T_STRING, T_DQ, T_NUMBER, T_LP, T_RP, T_COMMA, T_STAR, T_OP,
               T_BAD, T_UNTERMINATED } ttype;

typedef struct { ttype t; size_t pos, len; } tok;

typedef struct {
    const char *s;
    size_t len, pos;
    tok cur;
    emu_coql *q;
    emu_cond *c;
    emu_parse_error *err;
    int depth;
    bool failed;
} qparser;

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool id_start(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '$';
}
static bool id_char(char ch) { return id_start(ch) || is_digit(ch) || ch == '.'; }

static void lex(qparser *p)
{
    const char *s = p->s;
    size_t i = p->pos, n = p->len;
    while (i < n && is_ws(s[i])) i++;
    tok t = {T_EOF, i, 0};
    if (i >= n) {
        p->cur = t;
        p->pos = i;
        return;
    }
    char ch = s[i];
    size_t j = i + 1;
    if (id_start(ch)) {
        while (j < n && id_char(s[j])) j++;
        t.t = T_IDENT;
    } else if (is_digit(ch) || ((ch == '-' || ch == '.') && j < n && (is_digit(s[j]) || s[j] == '.'))) {
        while (j < n && (is_digit(s[j]) || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
                         ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
            j++;
        t.t = T_NUMBER;
    } else if (ch == '\'' || ch == '"') {
        t.t = T_UNTERMINATED;
        while (j < n) {
            if (s[j] == '\\' && j + 1 < n) { j += 2; continue; }
            if (s[j] == ch) {
                if (j + 1 < n && s[j + 1] == ch) { j += 2; continue; }
                j++;
                t.t = ch == '\'' ? T_STRING : T_DQ;
                break;
            }
            j++;
        }
    } else if (ch == '(') t.t = T_LP;
    else if (ch == ')') t.t = T_RP;
    else if (ch == ',') t.t = T_COMMA;
    else if (ch == '*') t.t = T_STAR;
    else if (ch == '=') t.t = T_OP;
    else if (ch == '<' || ch == '>' || ch == '!') {
        if (j < n && (s[j] == '=' || (ch == '<' && s[j] == '>'))) j++;
        t.t = ch == '!' && j == i + 1 ? T_BAD : T_OP;
    } else {
        /* one whole UTF-8 character (or one byte) of something we do not know */
        while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80 && j - i < 4) j++;
        t.t = T_BAD;
    }
    t.len = j - i;
    p->cur = t;
    p->pos = j;
}

static bool kw(const qparser *p, const char *word)
{
    if (p->cur.t != T_IDENT) return false;
    size_t k = strlen(word);
    if (p->cur.len != k) return false;
    for (size_t i = 0; i < k; i++) {
        char ch = p->s[p->cur.pos + i];
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
        if (ch != word[i]) return false;
    }
    return true;
}

static const char *const reserved[] = {"select", "from", "where", "order", "by", "asc", "desc",
                                       "limit", "offset", "and", "or", "not", "like", "in",
                                       "between", "is", "null", "true", "false", "group", NULL};

static bool is_reserved(const qparser *p)
{
    for (int i = 0; reserved[i]; i++)
        if (kw(p, reserved[i])) return true;
    return false;
}

/* ---------------------------------------------------------------- errors */

static bool syntax(qparser *p)
{
    if (p->failed) return false;
    p->failed = true;
    /* crm-oas v8 coql.json example SyntaxErrorLocation; 1-based line and column of the
       offending token (Zoho's counting is UNCONFIRMED). */
    long line = 1, col = 1;
    for (size_t i = 0; i < p->cur.pos && i < p->len; i++) {
        if (p->s[i] == '\n') line++, col = 1;
        else col++;
    }
    emu_err__set(p->err, 400, "SYNTAX_ERROR", "unexpected token");
    emu_err__add_int(p->err, "line", line);
    emu_err__add_int(p->err, "column", col);
    if (p->cur.t == T_EOF) emu_err__add_str(p->err, "near", "", 0);
    else emu_err__add_str(p->err, "near", p->s + p->cur.pos, p->cur.len > 60 ? 60 : p->cur.len);
    return false;
}

static bool fail_with(qparser *p, const char *code, const char *msg)
{
    if (p->failed) return false;
    p->failed = true;
    emu_err__set(p->err, 400, code, msg);
    return false;
}

static bool not_supported(qparser *p)
{
    /* crm-oas v8 coql.json example SyntaxErrorQueryNotSupported. */
    return fail_with(p, "SYNTAX_ERROR", "given coql query not supported");
}

static bool oom(qparser *p)
{
    if (!p->failed) emu_err__set(p->err, 500, "INTERNAL_ERROR", "Internal Server Error");
    p->failed = true;
    return false;
}

/* ---------------------------------------------------------------- pieces */

/* Unescapes a quoted token (' or ") into a malloc'd buffer; *n gets the length. */
static char *unquote(const qparser *p, const tok *t, size_t *n)
{
    const char *s = p->s + t->pos + 1;
    size_t len = t->len - 2, o = 0;
    char q = p->s[t->pos];
    char *out = malloc(len + 1);
    if (!out) return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && (s[i + 1] == q || s[i + 1] == '\\')) {
            out[o++] = s[++i];
        } else if (s[i] == q && i + 1 < len && s[i + 1] == q) {
            out[o++] = q;
            i++;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *n = o;
    return out;
}

/* A column: identifier (not a reserved word) or a quoted name. Returns malloc'd text. */
static char *column(qparser *p, bool allow_single_quote)
{
    char *name = NULL;
    size_t n = 0;
    if (p->cur.t == T_IDENT && !is_reserved(p)) {
        name = malloc(p->cur.len + 1);
        if (!name) return oom(p), NULL;
        memcpy(name, p->s + p->cur.pos, p->cur.len);
        name[p->cur.len] = '\0';
    } else if (p->cur.t == T_DQ || (allow_single_quote && p->cur.t == T_STRING)) {
        name = unquote(p, &p->cur, &n);
        if (!name) return oom(p), NULL;
        if (!n || strlen(name) != n) {
            free(name);
            return syntax(p), NULL;
        }
    } else if (p->cur.t == T_UNTERMINATED) {
        return syntax(p), NULL;
    } else {
        return syntax(p), NULL;
    }
    lex(p);
    return name;
}

static bool add_value(qparser *p, emu_cnode *leaf)
{
    const tok t = p->cur;
    bool ok;
    if (t.t == T_STRING) {
        size_t n = 0;
        char *v = unquote(p, &t, &n);
        if (!v) return oom(p);
        ok = emu_cond__add_value(p->c, leaf, v, n, EMU_LIT_STRING);
        free(v);
    } else if (t.t == T_NUMBER) {
        if (!emu_strict_number(p->s + t.pos, t.len, NULL)) return syntax(p);
        ok = emu_cond__add_value(p->c, leaf, p->s + t.pos, t.len, EMU_LIT_NUMBER);
    } else if (kw(p, "true") || kw(p, "false")) {
        ok = emu_cond__add_value(p->c, leaf, p->s + t.pos, t.len, EMU_LIT_BOOL);
    } else if (kw(p, "null")) {
        ok = emu_cond__add_value(p->c, leaf, "null", 4, EMU_LIT_NULL);
    } else {
        return syntax(p);
    }
    if (!ok) return oom(p);
    lex(p);
    return true;
}

/* LIKE patterns: 'x%', '%x', '%x%', 'x'; anything else is refused. */
static bool like_pattern(qparser *p, emu_cnode **leafp, const char *field, bool negated)
{
    if (p->cur.t != T_STRING) return syntax(p);
    size_t n = 0;
    char *v = unquote(p, &p->cur, &n);
    if (!v) return oom(p);
    bool lead = n > 0 && v[0] == '%';
    bool trail = n > (lead ? 1u : 0u) && v[n - 1] == '%';
    const char *body = v + (lead ? 1 : 0);
    size_t bn = n - (lead ? 1 : 0) - (trail ? 1 : 0);
    emu_op op = lead && trail ? EMU_OP_CONTAINS : lead ? EMU_OP_ENDS : trail ? EMU_OP_STARTS : EMU_OP_EQ;
    if (memchr(body, '%', bn) || (negated && op != EMU_OP_CONTAINS)) {
        free(v);
        /* UNCONFIRMED: Zoho's answer to a LIKE pattern it does not support. */
        fail_with(p, "INVALID_QUERY", "Invalid query formed");
        emu_err__add_str(p->err, "reason", "unsupported like pattern", (size_t)-1);
        emu_err__add_str(p->err, "column_name", field, (size_t)-1);
        return false;
    }
    if (negated) op = EMU_OP_NOT_CONTAINS;
    emu_cnode *leaf = emu_cond__leaf(p->c, field, strlen(field), op);
    bool ok = leaf && emu_cond__add_value(p->c, leaf, body, bn, EMU_LIT_STRING);
    free(v);
    if (!ok) return oom(p);
    *leafp = leaf;
    lex(p);
    return true;
}

static emu_cnode *comparison(qparser *p)
{
    char *field = column(p, false);
    if (!field) return NULL;
    emu_cnode *leaf = NULL;
    if (emu_cond_count(p->c) >= COQL_MAX_CRITERIA) {
        /* UNCONFIRMED: code and text for more than 25 criteria. */
        fail_with(p, "LIMIT_EXCEEDED", "criteria limit exceeded");
        emu_err__add_str(p->err, "clause", "where", (size_t)-1);
        emu_err__add_int(p->err, "limit", COQL_MAX_CRITERIA);
        goto out;
    }
    if (p->cur.t == T_OP) {
        static const struct { const char *text; emu_op op; } ops[] = {
            {"=", EMU_OP_EQ}, {"!=", EMU_OP_NE}, {">", EMU_OP_GT}, {">=", EMU_OP_GE},
            {"<", EMU_OP_LT}, {"<=", EMU_OP_LE}};
        emu_op op = EMU_OP_EQ;
        bool found = false;
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (strlen(ops[i].text) == p->cur.len && !memcmp(ops[i].text, p->s + p->cur.pos, p->cur.len)) {
                op = ops[i].op;
                found = true;
            }
        if (!found) {
            /* crm-oas v8 coql.json example SyntaxErrorOperator. */
            fail_with(p, "SYNTAX_ERROR", "operator not supported");
            emu_err__add_str(p->err, "operator", p->s + p->cur.pos, p->cur.len);
            goto out;
        }
        lex(p);
        leaf = emu_cond__leaf(p->c, field, strlen(field), op);
        if (!leaf) { oom(p); goto out; }
        if (!add_value(p, leaf)) leaf = NULL;
        goto out;
    }
    bool negated = false;
    if (kw(p, "not")) {
        negated = true;
        lex(p);
        if (!kw(p, "like") && !kw(p, "in")) { syntax(p); goto out; }
    }
    if (kw(p, "like")) {
        lex(p);
        if (!like_pattern(p, &leaf, field, negated)) leaf = NULL;
    } else if (kw(p, "in")) {
        lex(p);
        if (p->cur.t != T_LP) { syntax(p); goto out; }
        lex(p);
        leaf = emu_cond__leaf(p->c, field, strlen(field), negated ? EMU_OP_NOT_IN : EMU_OP_IN);
        if (!leaf) { oom(p); goto out; }
        for (;;) {
            if (kw(p, "select")) { not_supported(p); leaf = NULL; goto out; }   /* subquery */
            if (!add_value(p, leaf)) { leaf = NULL; goto out; }
            if (emu_cond__nvalues(leaf) > COQL_MAX_IN) {
                /* UNCONFIRMED: code and text for more than 50 values in IN. */
                fail_with(p, "LIMIT_EXCEEDED", "in values limit exceeded");
                emu_err__add_str(p->err, "column_name", field, (size_t)-1);
                emu_err__add_int(p->err, "limit", COQL_MAX_IN);
                leaf = NULL;
                goto out;
            }
            if (p->cur.t == T_COMMA) { lex(p); continue; }
            if (p->cur.t == T_RP) { lex(p); break; }
            syntax(p);
            leaf = NULL;
            goto out;
        }
    } else if (kw(p, "between")) {
        lex(p);
        leaf = emu_cond__leaf(p->c, field, strlen(field), EMU_OP_BETWEEN);
        if (!leaf) { oom(p); goto out; }
        if (!add_value(p, leaf)) { leaf = NULL; goto out; }
        if (!kw(p, "and")) { syntax(p); leaf = NULL; goto out; }
        lex(p);
        if (!add_value(p, leaf)) leaf = NULL;
    } else if (kw(p, "is")) {
        lex(p);
        bool isnot = kw(p, "not");
        if (isnot) lex(p);
        if (!kw(p, "null")) { syntax(p); goto out; }
        lex(p);
        leaf = emu_cond__leaf(p->c, field, strlen(field), isnot ? EMU_OP_NOT_NULL : EMU_OP_IS_NULL);
        if (!leaf) oom(p);
    } else {
        syntax(p);
    }
out:
    free(field);
    return p->failed ? NULL : leaf;
}

static emu_cnode *cond(qparser *p);

static emu_cnode *primary(qparser *p)
{
    if (p->cur.t == T_LP) {
        if (++p->depth > EMU_QUERY_MAX_DEPTH) {
            fail_with(p, "SYNTAX_ERROR", "error occured while parsing the query");
            emu_err__add_str(p->err, "near", "(", 1);
            return NULL;
        }
        lex(p);
        emu_cnode *n = cond(p);
        if (!n) return NULL;
        if (p->cur.t != T_RP) return syntax(p), NULL;
        lex(p);
        p->depth--;
        return n;
    }
    if (kw(p, "not")) {
        /* crm-oas v8 coql.json example SyntaxErrorOperator. */
        fail_with(p, "SYNTAX_ERROR", "operator not supported");
        emu_err__add_str(p->err, "operator", "not", 3);
        return NULL;
    }
    return comparison(p);
}

static emu_cnode *cond(qparser *p)
{
    emu_cnode *left = primary(p);
    if (!left) return NULL;
    if (!kw(p, "and") && !kw(p, "or")) return left;
    bool is_and = kw(p, "and");
    lex(p);
    emu_cnode *right = primary(p);
    if (!right) return NULL;
    if (kw(p, "and") || kw(p, "or")) {
        /* Zoho: "If WHERE has more than two criteria such as A, B, and C, use them as
           (A and (B and C)) or ((A and B) and C)". The error it answers is UNCONFIRMED. */
        fail_with(p, "SYNTAX_ERROR", "error occured while parsing the query");
        emu_err__add_str(p->err, "near", p->s + p->cur.pos, p->cur.len);
        return NULL;
    }
    emu_cnode *n = emu_cond__join(p->c, is_and, left, right);
    if (!n) oom(p);
    return n;
}

/* Non-negative integer token (at most 9 digits); -1 when it is not one. */
static long int_token(const qparser *p)
{
    if (p->cur.t != T_NUMBER || p->cur.len > 9) return p->cur.t == T_NUMBER &&
        strspn(p->s + p->cur.pos, "0123456789") >= p->cur.len ? 999999999L : -1;
    long v = 0;
    for (size_t i = 0; i < p->cur.len; i++) {
        char ch = p->s[p->cur.pos + i];
        if (!is_digit(ch)) return -1;
        v = v * 10 + (ch - '0');
    }
    return v;
}

static bool bad_number(qparser *p, const char *key, const char *msg)
{
    /* crm-oas v8 coql.json example InvalidQueryInvalidLimit ("limit given seems to be
       invalid", details {"limit":"s"}); the offset variant is UNCONFIRMED. */
    fail_with(p, "INVALID_QUERY", msg);
    emu_err__add_str(p->err, key, p->s + p->cur.pos, p->cur.len > 40 ? 40 : p->cur.len);
    return false;
}

static bool limit_clause(qparser *p)
{
    long a = int_token(p), b;
    if (p->cur.t == T_EOF) return syntax(p);
    if (a < 0) return bad_number(p, "limit", "limit given seems to be invalid");
    lex(p);
    if (p->cur.t == T_COMMA) {              /* LIMIT offset, count */
        lex(p);
        if (p->cur.t == T_EOF) return syntax(p);
        b = int_token(p);
        if (b < 0) return bad_number(p, "limit", "limit given seems to be invalid");
        lex(p);
        p->q->offset = a;
        p->q->limit = b;
    } else {
        p->q->limit = a;
        if (kw(p, "offset")) {
            lex(p);
            if (p->cur.t == T_EOF) return syntax(p);
            b = int_token(p);
            if (b < 0) return bad_number(p, "offset", "offset given seems to be invalid");
            lex(p);
            p->q->offset = b;
        }
    }
    if (p->q->limit <= 0)          /* crm-oas v8 coql.json example InvalidDataLimitZero */
        return fail_with(p, "INVALID_DATA", "limit should be greater than 0");
    if (p->q->limit > EMU_COQL_MAX_LIMIT) {
        /* Code from crm-oas v8 coql.json (LimitExceeded); text and details UNCONFIRMED. */
        fail_with(p, "LIMIT_EXCEEDED", "limit exceeded");
        emu_err__add_str(p->err, "limit", "2000", 4);
        return false;
    }
    if (p->q->offset + p->q->limit > COQL_MAX_ROWS) {
        /* Zoho: "You can fetch up to 1,00,000 records using pagination with LIMIT and
           OFFSET"; the error for going past it is UNCONFIRMED. */
        fail_with(p, "LIMIT_EXCEEDED", "limit exceeded");
        emu_err__add_str(p->err, "offset", "100000", 6);
        return false;
    }
    return true;
}

static bool parse_query(qparser *p)
{
    emu_coql *q = p->q;
    lex(p);
    if (!kw(p, "select")) {
        /* Only SELECT exists in COQL: crm-oas v8 SyntaxErrorQueryNotSupported. */
        return p->cur.t == T_IDENT ? not_supported(p) : syntax(p);
    }
    lex(p);
    size_t cap = 0;
    for (;;) {
        if (p->cur.t == T_STAR) return not_supported(p);
        if (p->cur.t == T_IDENT && !is_reserved(p) && p->s[p->cur.pos + p->cur.len] == '(' &&
            p->cur.pos + p->cur.len < p->len)
            return not_supported(p);               /* aggregate / function */
        char *name = column(p, true);
        if (!name) return false;
        for (size_t i = 0; i < q->nfields; i++)
            if (!strcmp(q->fields[i], name)) {
                /* crm-oas v8 coql.json example DuplicateData. */
                fail_with(p, "DUPLICATE_DATA", "duplicate select column");
                emu_err__add_str(p->err, "column_name", name, (size_t)-1);
                free(name);
                return false;
            }
        if (q->nfields >= EMU_COQL_MAX_FIELDS) {
            free(name);
            /* Zoho: up to 50 field API names in SELECT; code and text UNCONFIRMED. */
            fail_with(p, "LIMIT_EXCEEDED", "select column limit exceeded");
            emu_err__add_str(p->err, "clause", "select", (size_t)-1);
            emu_err__add_int(p->err, "limit", EMU_COQL_MAX_FIELDS);
            return false;
        }
        if (q->nfields == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **nf = realloc(q->fields, ncap * sizeof *nf);
            if (!nf) {
                free(name);
                return oom(p);
            }
            q->fields = nf;
            cap = ncap;
        }
        q->fields[q->nfields++] = name;
        if (p->cur.t != T_COMMA) break;
        lex(p);
    }
    if (!kw(p, "from")) return syntax(p);
    lex(p);
    if (p->cur.t != T_IDENT || is_reserved(p) || memchr(p->s + p->cur.pos, '.', p->cur.len))
        return syntax(p);
    q->module = malloc(p->cur.len + 1);
    if (!q->module) return oom(p);
    memcpy(q->module, p->s + p->cur.pos, p->cur.len);
    q->module[p->cur.len] = '\0';
    lex(p);
    if (!kw(p, "where")) {
        if (kw(p, "order") || kw(p, "limit") || kw(p, "offset") || p->cur.t == T_EOF) {
            /* crm-oas v8 coql.json example SyntaxErrorInvalidClause: WHERE is required. */
            fail_with(p, "SYNTAX_ERROR", "missing clause");
            emu_err__add_str(p->err, "clause", "where", 5);
            return false;
        }
        return kw(p, "group") ? not_supported(p) : syntax(p);
    }
    lex(p);
    p->c = emu_cond__new(EMU_DIALECT_COQL);
    if (!p->c) return oom(p);
    emu_cnode *root = cond(p);
    if (!root) return false;
    emu_cond__set_root(p->c, root);
    q->where = p->c;
    p->c = NULL;
    if (kw(p, "group")) return not_supported(p);
    if (kw(p, "order")) {
        lex(p);
        if (!kw(p, "by")) return syntax(p);
        lex(p);
        q->order_field = column(p, false);
        if (!q->order_field) return false;
        if (kw(p, "asc")) lex(p);
        else if (kw(p, "desc")) {
            q->order_desc = true;
            lex(p);
        }
        if (p->cur.t == T_COMMA) return not_supported(p);   /* several ORDER BY columns */
    }
    if (kw(p, "limit")) {
        lex(p);
        if (!limit_clause(p)) return false;
    }
    if (p->cur.t != T_EOF) return syntax(p);
    return true;
}

void emu_coql_free(emu_coql *q)
{
    if (!q) return;
    for (size_t i = 0; i < q->nfields; i++) free(q->fields[i]);
    free(q->fields);
    free(q->module);
    free(q->order_field);
    emu_cond_free(q->where);
    free(q);
}

emu_coql *emu_coql_parse(const char *query, emu_parse_error *err)
{
    emu_parse_error scratch;
    if (!err) err = &scratch;
    emu_err__set(err, 0, "", "");
    if (!query) {
        /* crm-oas v8 coql.json example MandatoryNotFound. */
        emu_err__set(err, 400, "MANDATORY_NOT_FOUND", "mandatory key not found");
        emu_err__add_str(err, "api_name", "select_query", (size_t)-1);
        return NULL;
    }
    size_t len = strnlen(query, EMU_QUERY_MAX_LEN + 1);
    if (len > EMU_QUERY_MAX_LEN) {
        /* emulator bound; Zoho's answer to an absurdly long query is UNCONFIRMED */
        emu_err__set(err, 400, "INVALID_QUERY", "Invalid query formed");
        emu_err__add_str(err, "reason", "query too long", (size_t)-1);
        return NULL;
    }
    emu_coql *q = calloc(1, sizeof *q);
    if (!q) {
        emu_err__set(err, 500, "INTERNAL_ERROR", "Internal Server Error");
        return NULL;
    }
    q->limit = EMU_COQL_DEFAULT_LIMIT;
    qparser p = {query, len, 0, {T_EOF, 0, 0}, q, NULL, err, 0, false};
    if (!parse_query(&p)) {
        if (!p.failed) syntax(&p);
        emu_cond_free(p.c);
        emu_coql_free(q);
        return NULL;
    }
    return q;
}
