/* emu/cond.c: the condition tree shared by search criteria (criteria.c) and COQL
 * (coql.c): arena-owned nodes and literals, evaluation against a record through the
 * store's field getter, and a type check against one record (errors: query_err.c).
 *
 * Matching rules: "null" literals match empty fields (NULL or ""); true/false match
 * booleans; numbers compare numerically against number fields; text compares
 * case-insensitively (ASCII), dates and datetimes by string order (ISO 8601 strings).
 * Negations (not_equal, not in, not like) match an empty field in search criteria but
 * not in COQL (SQL's NULL rule); both UNCONFIRMED.
 *
 * Pure: no I/O, no globals; every allocation belongs to one emu_cond. */
#include "criteria.h"
#include "coql.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ arena + tree */

typedef struct blk {
    struct blk *next;
    size_t used, cap;
    max_align_t data[];
} blk;

typedef struct emu_lit {
    struct emu_lit *next;
    const char *s;                      /* NUL-terminated, arena-owned */
    bool is_num, is_bool, is_null;
    double n;
    bool b;
} emu_lit;

enum { N_LEAF, N_AND, N_OR };

struct emu_cnode {
    int kind;
    emu_cnode *a, *b;                   /* N_AND / N_OR */
    const char *field;                  /* N_LEAF */
    emu_op op;
    emu_lit *vals, *last;
    size_t nvals;
    bool words;                         /* equals/not_equal as Zoho's word "contains" */
};

struct emu_cond {
    blk *blocks;
    emu_cnode *root;
    emu_dialect dialect;
    size_t nleaves;
};

static void *arena_alloc(emu_cond *c, size_t n)
{
    const size_t al = sizeof(max_align_t);
    n = (n + al - 1) / al * al;
    if (!c->blocks || c->blocks->cap - c->blocks->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        blk *b = calloc(1, sizeof(blk) + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->next = c->blocks;
        c->blocks = b;
    }
    void *p = (char *)c->blocks->data + c->blocks->used;
    c->blocks->used += n;
    memset(p, 0, n);
    return p;
}

emu_cond *emu_cond__new(emu_dialect d)
{
    emu_cond *c = calloc(1, sizeof *c);
    if (c) c->dialect = d;
    return c;
}

void emu_cond_free(emu_cond *c)
{
    if (!c) return;
    blk *b = c->blocks;
    while (b) {
        blk *n = b->next;
        free(b);
        b = n;
    }
    free(c);
}

char *emu_cond__strndup(emu_cond *c, const char *s, size_t n)
{
    char *p = arena_alloc(c, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

emu_cnode *emu_cond__leaf(emu_cond *c, const char *field, size_t flen, emu_op op)
{
    emu_cnode *n = arena_alloc(c, sizeof *n);
    if (!n) return NULL;
    n->kind = N_LEAF;
    n->op = op;
    n->field = emu_cond__strndup(c, field, flen);
    if (!n->field) return NULL;
    c->nleaves++;
    return n;
}

static bool ascii_ieq(const char *a, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)lit[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (x != y) return false;
    }
    return i == n && lit[i] == '\0';
}

/* [-+]?digits[.digits][(e|E)[-+]?digits], or .digits: no inf/nan/hex, finite. */
bool emu_strict_number(const char *s, size_t n, double *out)
{
    size_t i = 0, digits = 0;
    char buf[64];
    if (n == 0 || n >= sizeof buf) return false;
    if (s[i] == '-' || s[i] == '+') i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (!digits) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t ed = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, ed++;
        if (!ed) return false;
    }
    if (i != n) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308) return false;
    if (out) *out = d;
    return true;
}

bool emu_cond__add_value(emu_cond *c, emu_cnode *leaf, const char *s, size_t n, emu_litkind kind)
{
    emu_lit *l = arena_alloc(c, sizeof *l);
    if (!l) return false;
    l->s = emu_cond__strndup(c, s, n);
    if (!l->s) return false;
    switch (kind) {
    case EMU_LIT_TEXT:
        l->is_null = ascii_ieq(s, n, "null");
        if (ascii_ieq(s, n, "true")) l->is_bool = l->b = true;
        else if (ascii_ieq(s, n, "false")) l->is_bool = true;
        l->is_num = emu_strict_number(s, n, &l->n);
        break;
    case EMU_LIT_STRING:
    case EMU_LIT_NUMBER:
        l->is_num = emu_strict_number(s, n, &l->n);
        break;
    case EMU_LIT_BOOL:
        l->is_bool = true;
        l->b = ascii_ieq(s, n, "true");
        break;
    case EMU_LIT_NULL:
        l->is_null = true;
        break;
    }
    if (leaf->last) leaf->last->next = l;
    else leaf->vals = l;
    leaf->last = l;
    leaf->nvals++;
    return true;
}

size_t emu_cond__nvalues(const emu_cnode *leaf) { return leaf ? leaf->nvals : 0; }

emu_cnode *emu_cond__join(emu_cond *c, bool is_and, emu_cnode *a, emu_cnode *b)
{
    emu_cnode *n = arena_alloc(c, sizeof *n);
    if (!n) return NULL;
    n->kind = is_and ? N_AND : N_OR;
    n->a = a;
    n->b = b;
    return n;
}

void emu_cond__set_root(emu_cond *c, emu_cnode *root) { c->root = root; }

size_t emu_cond_count(const emu_cond *c) { return c ? c->nleaves : 0; }

const char *emu_op__name(emu_op op, emu_dialect d)
{
    static const char *const crit[] = {
        "equals", "not_equal", "starts_with", "ends_with", "contains", "not_contains",
        "in", "not_in", "greater_than", "greater_equal", "less_than", "less_equal",
        "between", "is null", "is not null"};
    static const char *const coql[] = {
        "=", "!=", "like", "like", "like", "not like", "in", "not in", ">", ">=", "<", "<=",
        "between", "is null", "is not null"};
    if ((unsigned)op > EMU_OP_NOT_NULL) return "?";
    return d == EMU_DIALECT_COQL ? coql[op] : crit[op];
}

/* ------------------------------------------------------------------ evaluation */

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch; }

static int ci_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = lower((unsigned char)*a), y = lower((unsigned char)*b);
        if (x != y || !x) return (x > y) - (x < y);
    }
}

static bool ci_prefix(const char *s, const char *p)
{
    for (; *p; s++, p++)
        if (!*s || lower((unsigned char)*s) != lower((unsigned char)*p)) return false;
    return true;
}

static bool ci_suffix(const char *s, const char *p)
{
    size_t ls = strlen(s), lp = strlen(p);
    return lp <= ls && ci_prefix(s + ls - lp, p);
}

static bool ci_contains(const char *s, const char *p)
{
    if (!*p) return true;
    for (; *s; s++)
        if (ci_prefix(s, p)) return true;
    return false;
}

static bool is_empty(const emu_value *v)
{
    return v->type == EMU_V_NULL || (v->type == EMU_V_STR && (!v->s || !v->s[0]));
}

static bool lit_eq(const emu_value *v, const emu_lit *l)
{
    if (l->is_null) return is_empty(v);
    if (is_empty(v)) return false;
    switch (v->type) {
    case EMU_V_NUM: return l->is_num && v->n == l->n;
    case EMU_V_BOOL: return l->is_bool && v->b == l->b;
    case EMU_V_STR: return ci_cmp(v->s, l->s) == 0;
    default: return false;
    }
}

/* false when the two cannot be ordered (empty field, null literal, type mismatch). */
static bool lit_order(const emu_value *v, const emu_lit *l, int *r)
{
    if (is_empty(v) || l->is_null) return false;
    if (v->type == EMU_V_NUM) {
        if (!l->is_num) return false;
        *r = (v->n > l->n) - (v->n < l->n);
        return true;
    }
    if (v->type == EMU_V_STR) {
        *r = ci_cmp(v->s, l->s);
        return true;
    }
    return false;
}

static bool any_eq(const emu_value *v, const emu_lit *l, bool words)
{
    for (; l; l = l->next) {
        if (words && v->type == EMU_V_STR && !l->is_null && !is_empty(v)) {
            if (emu_words_contain(v->s, l->s)) return true;
        } else if (lit_eq(v, l)) {
            return true;
        }
    }
    return false;
}

static bool text_op(emu_op op, const emu_value *v, const emu_lit *l)
{
    if (v->type != EMU_V_STR || is_empty(v)) return false;
    for (; l; l = l->next) {
        if (l->is_null) continue;
        bool hit = op == EMU_OP_STARTS ? ci_prefix(v->s, l->s)
                 : op == EMU_OP_ENDS   ? ci_suffix(v->s, l->s)
                                       : ci_contains(v->s, l->s);
        if (hit) return true;
    }
    return false;
}

static bool leaf_match(const emu_cond *c, const emu_cnode *n, emu_field_fn get,
                       const void *rec, void *ud)
{
    emu_value v = {EMU_V_NULL, NULL, 0, false};
    int r = 0;
    if (!get || !get(rec, n->field, &v, ud)) return false;
    if (v.type == EMU_V_STR && !v.s) v.type = EMU_V_NULL;
    /* Search (a text index) counts an empty field as "not equal"; COQL follows SQL,
       where a comparison with NULL is never true (UNCONFIRMED for both). */
    bool empty_negation = c->dialect == EMU_DIALECT_CRITERIA;
    switch (n->op) {
    case EMU_OP_EQ:
    case EMU_OP_IN:
        return any_eq(&v, n->vals, n->words);
    case EMU_OP_NE:
    case EMU_OP_NOT_IN:
        if (is_empty(&v)) {
            for (const emu_lit *l = n->vals; l; l = l->next)
                if (l->is_null) return false;
            return empty_negation;
        }
        return !any_eq(&v, n->vals, n->words);
    case EMU_OP_STARTS:
    case EMU_OP_ENDS:
    case EMU_OP_CONTAINS:
        return text_op(n->op, &v, n->vals);
    case EMU_OP_NOT_CONTAINS:
        if (is_empty(&v)) return empty_negation;
        return v.type == EMU_V_STR && !text_op(EMU_OP_CONTAINS, &v, n->vals);
    case EMU_OP_GT: return n->vals && lit_order(&v, n->vals, &r) && r > 0;
    case EMU_OP_GE: return n->vals && lit_order(&v, n->vals, &r) && r >= 0;
    case EMU_OP_LT: return n->vals && lit_order(&v, n->vals, &r) && r < 0;
    case EMU_OP_LE: return n->vals && lit_order(&v, n->vals, &r) && r <= 0;
    case EMU_OP_BETWEEN:
        if (n->nvals != 2) return false;
        if (!lit_order(&v, n->vals, &r) || r < 0) return false;
        return lit_order(&v, n->vals->next, &r) && r <= 0;
    case EMU_OP_IS_NULL: return is_empty(&v);
    case EMU_OP_NOT_NULL: return !is_empty(&v);
    }
    return false;
}

static bool node_match(const emu_cond *c, const emu_cnode *n, emu_field_fn get,
                       const void *rec, void *ud)
{
    if (!n) return true;
    switch (n->kind) {
    case N_AND: return node_match(c, n->a, get, rec, ud) && node_match(c, n->b, get, rec, ud);
    case N_OR: return node_match(c, n->a, get, rec, ud) || node_match(c, n->b, get, rec, ud);
    default: return leaf_match(c, n, get, rec, ud);
    }
}

bool emu_cond_match(const emu_cond *c, emu_field_fn get, const void *rec, void *ud)
{
    if (!c) return true;
    return node_match(c, c->root, get, rec, ud);
}

static void node_fields(const emu_cnode *n, void (*fn)(const char *, void *), void *ud)
{
    if (!n) return;
    if (n->kind == N_LEAF) {
        fn(n->field, ud);
        return;
    }
    node_fields(n->a, fn, ud);
    node_fields(n->b, fn, ud);
}

void emu_cond_fields(const emu_cond *c, void (*fn)(const char *field, void *ud), void *ud)
{
    if (c && fn) node_fields(c->root, fn, ud);
}

static void node_words(emu_cnode *n, bool (*is_text)(const char *, void *), void *ud)
{
    if (!n) return;
    if (n->kind != N_LEAF) {
        node_words(n->a, is_text, ud);
        node_words(n->b, is_text, ud);
        return;
    }
    if (n->op == EMU_OP_EQ || n->op == EMU_OP_NE) n->words = is_text(n->field, ud);
}

void emu_cond_text_search(emu_cond *c, bool (*is_text)(const char *field, void *ud), void *ud)
{
    if (c && is_text && c->dialect == EMU_DIALECT_CRITERIA) node_words(c->root, is_text, ud);
}

/* ------------------------------------------------------------------ type check */

static const char *vtype_name(emu_vtype t)
{
    return t == EMU_V_NUM ? "double" : t == EMU_V_BOOL ? "boolean" : "text";
}

typedef struct {
    emu_field_fn get; const void *rec;                       /* emu_cond_check */
    bool (*type_of)(const char *field, emu_vtype *out, void *ud);   /* emu_cond_check_types */
    void *ud;
} typer;

/* The field's type: EMU_V_NULL when unknown (empty in the sample record); false when the
   module has no such field. */
static bool field_type(const typer *t, const char *field, emu_vtype *out)
{
    if (t->type_of) return t->type_of(field, out, t->ud);
    emu_value v = {EMU_V_NULL, NULL, 0, false};
    if (!t->get || !t->get(t->rec, field, &v, t->ud)) return false;
    *out = v.type == EMU_V_STR && !v.s ? EMU_V_NULL : v.type;
    return true;
}

static bool check_leaf(const emu_cond *c, const emu_cnode *n, const typer *t, emu_parse_error *err)
{
    emu_value v = {EMU_V_NULL, NULL, 0, false};
    const bool coql = c->dialect == EMU_DIALECT_COQL;
    if (!field_type(t, n->field, &v.type)) {
        if (coql) emu_coql_unknown_field(n->field, err);
        else emu_criteria_unknown_field(n->field, err);
        return false;
    }
    if (v.type == EMU_V_NULL || n->op == EMU_OP_IS_NULL || n->op == EMU_OP_NOT_NULL) return true;
    bool ordering = n->op == EMU_OP_GT || n->op == EMU_OP_GE || n->op == EMU_OP_LT ||
                    n->op == EMU_OP_LE || n->op == EMU_OP_BETWEEN;
    bool textual = n->op == EMU_OP_STARTS || n->op == EMU_OP_ENDS ||
                   n->op == EMU_OP_CONTAINS || n->op == EMU_OP_NOT_CONTAINS;
    if ((v.type == EMU_V_BOOL && (ordering || textual)) || (v.type == EMU_V_NUM && textual)) {
        const char *opn = emu_op__name(n->op, c->dialect);
        if (coql) {
            /* crm-oas v8 coql.json example InvalidQueryInvalidOperator. */
            emu_err__set(err, 400, "INVALID_QUERY", "Invalid query formed");
            emu_err__add_str(err, "reason", "invalid operator found", (size_t)-1);
            emu_err__add_str(err, "column_name", n->field, (size_t)-1);
            emu_err__add_str(err, "operator", opn, (size_t)-1);
        } else {
            /* crm-oas v8 search example InvalidQueryInvalidOperator. */
            emu_err__set(err, 400, "INVALID_QUERY", "invalid operator found");
            emu_err__add_str(err, "operator", opn, (size_t)-1);
            emu_err__add_str(err, "reason", "The operator is not valid for the field type", (size_t)-1);
            emu_err__add_str(err, "api_name", n->field, (size_t)-1);
        }
        return false;
    }
    for (const emu_lit *l = n->vals; l; l = l->next) {
        bool ok = l->is_null || (v.type == EMU_V_NUM ? l->is_num
                                 : v.type == EMU_V_BOOL ? l->is_bool : true);
        if (ok) continue;
        if (coql) {
            /* UNCONFIRMED: COQL's answer to a literal of the wrong type. */
            emu_err__set(err, 400, "INVALID_QUERY", "Invalid query formed");
            emu_err__add_str(err, "reason", "invalid value for the column type", (size_t)-1);
            emu_err__add_str(err, "column_name", n->field, (size_t)-1);
            emu_err__add_str(err, "value", l->s, (size_t)-1);
        } else {
            /* crm-oas v8 search example InvalidQueryDataTypeMismatch. */
            emu_err__set(err, 400, "INVALID_QUERY", "invalid value for search");
            emu_err__add_str(err, "expected_data_type", vtype_name(v.type), (size_t)-1);
            emu_err__add_str(err, "reason", "invalid value for search", (size_t)-1);
            emu_err__add_str(err, "api_name", n->field, (size_t)-1);
        }
        return false;
    }
    return true;
}

static bool node_check(const emu_cond *c, const emu_cnode *n, const typer *t, emu_parse_error *err)
{
    if (!n) return true;
    if (n->kind == N_LEAF) return check_leaf(c, n, t, err);
    return node_check(c, n->a, t, err) && node_check(c, n->b, t, err);
}

bool emu_cond_check(const emu_cond *c, emu_field_fn get, const void *rec, void *ud,
                    emu_parse_error *err)
{
    emu_parse_error scratch;
    typer t = {get, rec, NULL, ud};
    if (!err) err = &scratch;
    if (!c) return true;
    return node_check(c, c->root, &t, err);
}

bool emu_cond_check_types(const emu_cond *c,
                          bool (*type_of)(const char *field, emu_vtype *out, void *ud), void *ud,
                          emu_parse_error *err)
{
    emu_parse_error scratch;
    typer t = {NULL, NULL, type_of, ud};
    if (!err) err = &scratch;
    if (!c || !type_of) return true;
    return node_check(c, c->root, &t, err);
}
