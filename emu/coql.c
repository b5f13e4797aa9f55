/* emu/coql.c: a documented subset of Zoho's COQL, parsed into the condition tree of
 * emu/cond.c (the one search criteria use); tokens and error setters in coql_lex.c.
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
#include "coql_lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COQL_MAX_CRITERIA 25
#define COQL_MAX_IN       50
#define COQL_MAX_ROWS     100000L

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* A column: identifier (not a reserved word) or a quoted name. Returns malloc'd text. */
static char *column(emu_qparser *p, bool allow_single_quote)
{
    char *name = NULL;
    size_t n = 0;
    if (p->cur.t == T_IDENT && !emu_coql__reserved(p)) {
        name = malloc(p->cur.len + 1);
        if (!name) return emu_coql__oom(p), NULL;
        memcpy(name, p->s + p->cur.pos, p->cur.len);
        name[p->cur.len] = '\0';
    } else if (p->cur.t == T_DQ || (allow_single_quote && p->cur.t == T_STRING)) {
        name = emu_coql__unquote(p, &p->cur, &n);
        if (!name) return emu_coql__oom(p), NULL;
        if (!n || strlen(name) != n) {
            free(name);
            return emu_coql__syntax(p), NULL;
        }
    } else {
        return emu_coql__syntax(p), NULL;       /* reserved word, unterminated quote, ... */
    }
    emu_coql__lex(p);
    return name;
}

static bool add_value(emu_qparser *p, emu_cnode *leaf)
{
    const emu_qtok t = p->cur;
    bool ok;
    if (t.t == T_STRING) {
        size_t n = 0;
        char *v = emu_coql__unquote(p, &t, &n);
        if (!v) return emu_coql__oom(p);
        ok = emu_cond__add_value(p->c, leaf, v, n, EMU_LIT_STRING);
        free(v);
    } else if (t.t == T_NUMBER) {
        if (!emu_strict_number(p->s + t.pos, t.len, NULL)) return emu_coql__syntax(p);
        ok = emu_cond__add_value(p->c, leaf, p->s + t.pos, t.len, EMU_LIT_NUMBER);
    } else if (emu_coql__kw(p, "true") || emu_coql__kw(p, "false")) {
        ok = emu_cond__add_value(p->c, leaf, p->s + t.pos, t.len, EMU_LIT_BOOL);
    } else if (emu_coql__kw(p, "null")) {
        ok = emu_cond__add_value(p->c, leaf, "null", 4, EMU_LIT_NULL);
    } else {
        return emu_coql__syntax(p);
    }
    if (!ok) return emu_coql__oom(p);
    emu_coql__lex(p);
    return true;
}

/* LIKE patterns: 'x%', '%x', '%x%', 'x'; anything else is refused. */
static bool like_pattern(emu_qparser *p, emu_cnode **leafp, const char *field, bool negated)
{
    if (p->cur.t != T_STRING) return emu_coql__syntax(p);
    size_t n = 0;
    char *v = emu_coql__unquote(p, &p->cur, &n);
    if (!v) return emu_coql__oom(p);
    bool lead = n > 0 && v[0] == '%';
    bool trail = n > (lead ? 1u : 0u) && v[n - 1] == '%';
    const char *body = v + (lead ? 1 : 0);
    size_t bn = n - (lead ? 1 : 0) - (trail ? 1 : 0);
    emu_op op = lead && trail ? EMU_OP_CONTAINS : lead ? EMU_OP_ENDS : trail ? EMU_OP_STARTS : EMU_OP_EQ;
    if (memchr(body, '%', bn) || (negated && op != EMU_OP_CONTAINS)) {
        free(v);
        /* UNCONFIRMED: Zoho's answer to a LIKE pattern it does not support. */
        emu_coql__fail(p, "INVALID_QUERY", "Invalid query formed");
        emu_err__add_str(p->err, "reason", "unsupported like pattern", (size_t)-1);
        emu_err__add_str(p->err, "column_name", field, (size_t)-1);
        return false;
    }
    if (negated) op = EMU_OP_NOT_CONTAINS;
    emu_cnode *leaf = emu_cond__leaf(p->c, field, strlen(field), op);
    bool ok = leaf && emu_cond__add_value(p->c, leaf, body, bn, EMU_LIT_STRING);
    free(v);
    if (!ok) return emu_coql__oom(p);
    *leafp = leaf;
    emu_coql__lex(p);
    return true;
}

static emu_cnode *comparison(emu_qparser *p)
{
    char *field = column(p, false);
    if (!field) return NULL;
    emu_cnode *leaf = NULL;
    if (emu_cond_count(p->c) >= COQL_MAX_CRITERIA) {
        /* UNCONFIRMED: code and text for more than 25 criteria. */
        emu_coql__fail(p, "LIMIT_EXCEEDED", "criteria limit exceeded");
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
            emu_coql__fail(p, "SYNTAX_ERROR", "operator not supported");
            emu_err__add_str(p->err, "operator", p->s + p->cur.pos, p->cur.len);
            goto out;
        }
        emu_coql__lex(p);
        leaf = emu_cond__leaf(p->c, field, strlen(field), op);
        if (!leaf) { emu_coql__oom(p); goto out; }
        if (!add_value(p, leaf)) leaf = NULL;
        goto out;
    }
    bool negated = false;
    if (emu_coql__kw(p, "not")) {
        negated = true;
        emu_coql__lex(p);
        if (!emu_coql__kw(p, "like") && !emu_coql__kw(p, "in")) { emu_coql__syntax(p); goto out; }
    }
    if (emu_coql__kw(p, "like")) {
        emu_coql__lex(p);
        if (!like_pattern(p, &leaf, field, negated)) leaf = NULL;
    } else if (emu_coql__kw(p, "in")) {
        emu_coql__lex(p);
        if (p->cur.t != T_LP) { emu_coql__syntax(p); goto out; }
        emu_coql__lex(p);
        leaf = emu_cond__leaf(p->c, field, strlen(field), negated ? EMU_OP_NOT_IN : EMU_OP_IN);
        if (!leaf) { emu_coql__oom(p); goto out; }
        for (;;) {
            if (emu_coql__kw(p, "select")) { emu_coql__unsupported(p); leaf = NULL; goto out; }   /* subquery */
            if (!add_value(p, leaf)) { leaf = NULL; goto out; }
            if (emu_cond__nvalues(leaf) > COQL_MAX_IN) {
                /* UNCONFIRMED: code and text for more than 50 values in IN. */
                emu_coql__fail(p, "LIMIT_EXCEEDED", "in values limit exceeded");
                emu_err__add_str(p->err, "column_name", field, (size_t)-1);
                emu_err__add_int(p->err, "limit", COQL_MAX_IN);
                leaf = NULL;
                goto out;
            }
            if (p->cur.t == T_COMMA) { emu_coql__lex(p); continue; }
            if (p->cur.t == T_RP) { emu_coql__lex(p); break; }
            emu_coql__syntax(p);
            leaf = NULL;
            goto out;
        }
    } else if (emu_coql__kw(p, "between")) {
        emu_coql__lex(p);
        leaf = emu_cond__leaf(p->c, field, strlen(field), EMU_OP_BETWEEN);
        if (!leaf) { emu_coql__oom(p); goto out; }
        if (!add_value(p, leaf)) { leaf = NULL; goto out; }
        if (!emu_coql__kw(p, "and")) { emu_coql__syntax(p); leaf = NULL; goto out; }
        emu_coql__lex(p);
        if (!add_value(p, leaf)) leaf = NULL;
    } else if (emu_coql__kw(p, "is")) {
        emu_coql__lex(p);
        bool isnot = emu_coql__kw(p, "not");
        if (isnot) emu_coql__lex(p);
        if (!emu_coql__kw(p, "null")) { emu_coql__syntax(p); goto out; }
        emu_coql__lex(p);
        leaf = emu_cond__leaf(p->c, field, strlen(field), isnot ? EMU_OP_NOT_NULL : EMU_OP_IS_NULL);
        if (!leaf) emu_coql__oom(p);
    } else {
        emu_coql__syntax(p);
    }
out:
    free(field);
    return p->failed ? NULL : leaf;
}

static emu_cnode *cond(emu_qparser *p);

static emu_cnode *primary(emu_qparser *p)
{
    if (p->cur.t == T_LP) {
        if (++p->depth > EMU_QUERY_MAX_DEPTH) {
            emu_coql__fail(p, "SYNTAX_ERROR", "error occured while parsing the query");
            emu_err__add_str(p->err, "near", "(", 1);
            return NULL;
        }
        emu_coql__lex(p);
        emu_cnode *n = cond(p);
        if (!n) return NULL;
        if (p->cur.t != T_RP) return emu_coql__syntax(p), NULL;
        emu_coql__lex(p);
        p->depth--;
        return n;
    }
    if (emu_coql__kw(p, "not")) {
        /* crm-oas v8 coql.json example SyntaxErrorOperator. */
        emu_coql__fail(p, "SYNTAX_ERROR", "operator not supported");
        emu_err__add_str(p->err, "operator", "not", 3);
        return NULL;
    }
    return comparison(p);
}

static emu_cnode *cond(emu_qparser *p)
{
    emu_cnode *left = primary(p);
    if (!left) return NULL;
    if (!emu_coql__kw(p, "and") && !emu_coql__kw(p, "or")) return left;
    bool is_and = emu_coql__kw(p, "and");
    emu_coql__lex(p);
    emu_cnode *right = primary(p);
    if (!right) return NULL;
    if (emu_coql__kw(p, "and") || emu_coql__kw(p, "or")) {
        /* Zoho: "If WHERE has more than two criteria such as A, B, and C, use them as
           (A and (B and C)) or ((A and B) and C)". The error it answers is UNCONFIRMED. */
        emu_coql__fail(p, "SYNTAX_ERROR", "error occured while parsing the query");
        emu_err__add_str(p->err, "near", p->s + p->cur.pos, p->cur.len);
        return NULL;
    }
    emu_cnode *n = emu_cond__join(p->c, is_and, left, right);
    if (!n) emu_coql__oom(p);
    return n;
}

/* Non-negative integer token (at most 9 digits); -1 when it is not one. */
static long int_token(const emu_qparser *p)
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

static bool bad_number(emu_qparser *p, const char *key, const char *msg)
{
    /* crm-oas v8 coql.json example InvalidQueryInvalidLimit ("limit given seems to be
       invalid", details {"limit":"s"}). For the offset the details key {"offset":..} is in
       coql.json's INVALID_QUERY schema; the message text is UNCONFIRMED. */
    emu_coql__fail(p, "INVALID_QUERY", msg);
    emu_err__add_str(p->err, key, p->s + p->cur.pos, p->cur.len > 40 ? 40 : p->cur.len);
    return false;
}

static bool limit_clause(emu_qparser *p)
{
    long a = int_token(p), b;
    if (p->cur.t == T_EOF) return emu_coql__syntax(p);
    if (a < 0) return bad_number(p, "limit", "limit given seems to be invalid");
    emu_coql__lex(p);
    if (p->cur.t == T_COMMA) {              /* LIMIT offset, count */
        emu_coql__lex(p);
        if (p->cur.t == T_EOF) return emu_coql__syntax(p);
        b = int_token(p);
        if (b < 0) return bad_number(p, "limit", "limit given seems to be invalid");
        emu_coql__lex(p);
        p->q->offset = a;
        p->q->limit = b;
    } else {
        p->q->limit = a;
        if (emu_coql__kw(p, "offset")) {
            emu_coql__lex(p);
            if (p->cur.t == T_EOF) return emu_coql__syntax(p);
            b = int_token(p);
            if (b < 0) return bad_number(p, "offset", "offset given seems to be invalid");
            emu_coql__lex(p);
            p->q->offset = b;
        }
    }
    if (p->q->limit <= 0)          /* crm-oas v8 coql.json example InvalidDataLimitZero */
        return emu_coql__fail(p, "INVALID_DATA", "limit should be greater than 0");
    if (p->q->limit > EMU_COQL_MAX_LIMIT) {
        /* Code from crm-oas v8 coql.json (LimitExceeded); text and details UNCONFIRMED. */
        emu_coql__fail(p, "LIMIT_EXCEEDED", "limit exceeded");
        emu_err__add_str(p->err, "limit", "2000", 4);
        return false;
    }
    if (p->q->offset + p->q->limit > COQL_MAX_ROWS) {
        /* Zoho: "You can fetch up to 1,00,000 records using pagination with LIMIT and
           OFFSET"; the error for going past it is UNCONFIRMED. */
        emu_coql__fail(p, "LIMIT_EXCEEDED", "limit exceeded");
        emu_err__add_str(p->err, "offset", "100000", 6);
        return false;
    }
    return true;
}

static bool parse_query(emu_qparser *p)
{
    emu_coql *q = p->q;
    emu_coql__lex(p);
    if (!emu_coql__kw(p, "select")) {
        /* Only SELECT exists in COQL: crm-oas v8 SyntaxErrorQueryNotSupported. */
        return p->cur.t == T_IDENT ? emu_coql__unsupported(p) : emu_coql__syntax(p);
    }
    emu_coql__lex(p);
    size_t cap = 0;
    for (;;) {
        if (p->cur.t == T_STAR) return emu_coql__unsupported(p);
        if (p->cur.t == T_IDENT && !emu_coql__reserved(p) && p->s[p->cur.pos + p->cur.len] == '(' &&
            p->cur.pos + p->cur.len < p->len)
            return emu_coql__unsupported(p);               /* aggregate / function */
        char *name = column(p, true);
        if (!name) return false;
        for (size_t i = 0; i < q->nfields; i++)
            if (!strcmp(q->fields[i], name)) {
                /* crm-oas v8 coql.json example DuplicateData. */
                emu_coql__fail(p, "DUPLICATE_DATA", "duplicate select column");
                emu_err__add_str(p->err, "column_name", name, (size_t)-1);
                free(name);
                return false;
            }
        if (q->nfields >= EMU_COQL_MAX_FIELDS) {
            free(name);
            /* Zoho: up to 50 field API names in SELECT; code and text UNCONFIRMED. */
            emu_coql__fail(p, "LIMIT_EXCEEDED", "select column limit exceeded");
            emu_err__add_str(p->err, "clause", "select", (size_t)-1);
            emu_err__add_int(p->err, "limit", EMU_COQL_MAX_FIELDS);
            return false;
        }
        if (q->nfields == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **nf = realloc(q->fields, ncap * sizeof *nf);
            if (!nf) {
                free(name);
                return emu_coql__oom(p);
            }
            q->fields = nf;
            cap = ncap;
        }
        q->fields[q->nfields++] = name;
        if (p->cur.t != T_COMMA) break;
        emu_coql__lex(p);
    }
    if (!emu_coql__kw(p, "from")) return emu_coql__syntax(p);
    emu_coql__lex(p);
    if (p->cur.t != T_IDENT || emu_coql__reserved(p) || memchr(p->s + p->cur.pos, '.', p->cur.len))
        return emu_coql__syntax(p);
    q->module = malloc(p->cur.len + 1);
    if (!q->module) return emu_coql__oom(p);
    memcpy(q->module, p->s + p->cur.pos, p->cur.len);
    q->module[p->cur.len] = '\0';
    emu_coql__lex(p);
    if (!emu_coql__kw(p, "where")) {
        if (emu_coql__kw(p, "order") || emu_coql__kw(p, "limit") || emu_coql__kw(p, "offset") || p->cur.t == T_EOF) {
            /* crm-oas v8 coql.json example SyntaxErrorInvalidClause: WHERE is required. */
            emu_coql__fail(p, "SYNTAX_ERROR", "missing clause");
            emu_err__add_str(p->err, "clause", "where", 5);
            return false;
        }
        return emu_coql__kw(p, "group") ? emu_coql__unsupported(p) : emu_coql__syntax(p);
    }
    emu_coql__lex(p);
    p->c = emu_cond__new(EMU_DIALECT_COQL);
    if (!p->c) return emu_coql__oom(p);
    emu_cnode *root = cond(p);
    if (!root) return false;
    emu_cond__set_root(p->c, root);
    q->where = p->c;
    p->c = NULL;
    if (emu_coql__kw(p, "group")) return emu_coql__unsupported(p);
    if (emu_coql__kw(p, "order")) {
        emu_coql__lex(p);
        if (!emu_coql__kw(p, "by")) return emu_coql__syntax(p);
        emu_coql__lex(p);
        q->order_field = column(p, false);
        if (!q->order_field) return false;
        if (emu_coql__kw(p, "asc")) emu_coql__lex(p);
        else if (emu_coql__kw(p, "desc")) {
            q->order_desc = true;
            emu_coql__lex(p);
        }
        if (p->cur.t == T_COMMA) return emu_coql__unsupported(p);   /* several ORDER BY columns */
    }
    if (emu_coql__kw(p, "limit")) {
        emu_coql__lex(p);
        if (!limit_clause(p)) return false;
    }
    if (p->cur.t != T_EOF) return emu_coql__syntax(p);
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
    emu_qparser p = {query, len, 0, {T_EOF, 0, 0}, q, NULL, err, 0, false};
    if (!parse_query(&p)) {
        if (!p.failed) emu_coql__syntax(&p);
        emu_cond_free(p.c);
        emu_coql_free(q);
        return NULL;
    }
    return q;
}
