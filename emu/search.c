/* Record selection: GET /crm/{v}/{module}/search?criteria=.. and POST /crm/{v}/coql.
 * The parsers are emu/criteria.c and emu/coql.c (pure); this file runs them over the org. */
#define _GNU_SOURCE   /* qsort_r */
#include "field.h"
#include "coql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEARCH_LIMIT 2000

static void parse_error(emu_ctx *c, const emu_parse_error *pe)
{
    json_t *d = json_loads(pe->details, 0, NULL);
    if (!json_is_object(d)) { json_decref(d); d = json_object(); }
    emu_reply_error(c, pe->http_status ? pe->http_status : 400, pe->code[0] ? pe->code : "INVALID_QUERY",
                    pe->message, d);
}

typedef struct { emu_org *o; const emu_module *m; const char *bad; bool dotted; } field_check;

static void check_field(const char *field, void *ud)
{
    field_check *fc = ud;
    if (!fc->bad && !(fc->dotted ? emu_org_has_field(fc->o, fc->m, field) : emu_module_has_field(fc->m, field)))
        fc->bad = field;
}

void emu_search_route(emu_ctx *c)
{
    c->route = EMU_R_SEARCH;
    if (strcmp(c->method, "GET") != 0) {
        emu_reply_error(c, 405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one", NULL);
        return;
    }
    const char *crit = emu_query(c, "criteria");
    if (!crit || !*crit) {
        emu_reply_error(c, 400, "EXPECTED_PARAM_MISSING", "one of the expected parameter is missing",
                        json_pack("{s:[ssss]}", "param_names", "criteria", "email", "phone", "word"));
        return;
    }
    long page, per_page;
    if (!emu_paging(c, &page, &per_page)) return;
    emu_parse_error pe;
    memset(&pe, 0, sizeof pe);
    emu_cond *cond = emu_criteria_parse(crit, &pe);
    if (!cond) { parse_error(c, &pe); return; }
    if ((page - 1) * per_page >= SEARCH_LIMIT) {
        emu_cond_free(cond);
        emu_reply_error(c, 400, "LIMIT_REACHED", "maximum response iteration limit reached",
                        json_pack("{s:s}", "limit", "2000"));
        return;
    }
    pthread_rwlock_rdlock(&c->s->org_lock);
    emu_org *o = c->s->org;
    emu_module *m = emu_org_module_ci(o, c->seg[0]);
    if (!m) {
        emu_reply_error_rpi(c, 400, "INVALID_MODULE", "the module name given seems to be invalid", 0);
        goto out;
    }
    field_check fc = { o, m, NULL, false };
    emu_cond_fields(cond, check_field, &fc);
    if (fc.bad) {
        emu_criteria_unknown_field(fc.bad, &pe);
        parse_error(c, &pe);
        goto out;
    }
    emu_type_ctx tc = { o, m };
    if (!emu_cond_check_types(cond, emu_field_type_of, &tc, &pe)) {
        parse_error(c, &pe);
        goto out;
    }
    const char *fs = emu_query(c, "fields");
    size_t nf = 0;
    char **fields = fs && *fs ? emu_split_fields(fs, &nf) : NULL;
    size_t off = (size_t)((page - 1) * per_page), end = off + (size_t)per_page, seen = 0;
    json_t *data = json_array();
    emu_value_ctx vc = { .org = o };
    bool more = false;
    for (size_t k = 0; k < m->nrecs; k++) {
        if (!emu_cond_match(cond, emu_record_value, m->recs[k], &vc)) continue;
        if (seen >= SEARCH_LIMIT) break;
        if (seen >= end) { more = true; break; }
        if (seen >= off) json_array_append_new(data, emu_record_json(o, m->recs[k], fields, nf));
        seen++;
    }
    emu_free_fields(fields, nf);
    if (json_array_size(data) == 0) {
        json_decref(data);
        emu_reply_empty(c, 204);
        goto out;
    }
    json_t *info = json_object();
    json_object_set_new(info, "per_page", json_integer(per_page));
    json_object_set_new(info, "count", json_integer((json_int_t)json_array_size(data)));
    json_object_set_new(info, "page", json_integer(page));
    json_object_set_new(info, "more_records", json_boolean(more));
    emu_reply_json(c, 200, json_pack("{s:o,s:o}", "data", data, "info", info));
out:
    pthread_rwlock_unlock(&c->s->org_lock);
    emu_cond_free(cond);
}

/* ---- COQL ---- */

typedef struct { emu_record *r; emu_value v; char *s; } sort_row;

static int cmp_rows(const void *a, const void *b, void *desc)
{
    const sort_row *x = a, *y = b;
    int c;
    if (x->v.type == EMU_V_NULL || y->v.type == EMU_V_NULL)
        c = (x->v.type == EMU_V_NULL) - (y->v.type == EMU_V_NULL);
    else if (x->v.type == EMU_V_NUM && y->v.type == EMU_V_NUM)
        c = (x->v.n > y->v.n) - (x->v.n < y->v.n);
    else if (x->v.type == EMU_V_BOOL && y->v.type == EMU_V_BOOL)
        c = (int)x->v.b - (int)y->v.b;
    else
        c = strcasecmp(x->s ? x->s : "", y->s ? y->s : "");
    if (c == 0) c = (x->r->id > y->r->id) - (x->r->id < y->r->id);
    return *(bool *)desc ? -c : c;
}

void emu_coql_route(emu_ctx *c)
{
    c->route = EMU_R_COQL;
    if (strcmp(c->method, "POST") != 0) {
        emu_reply_error(c, 405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one", NULL);
        return;
    }
    if (c->body_too_big) {
        emu_reply_error(c, 413, "LIMIT_EXCEEDED", "the request body is too large",
                        json_pack("{s:s,s:i}", "param", "body", "limit", EMU_MAX_BODY));
        return;
    }
    json_error_t je;
    json_t *root = c->body_len ? json_loadb(c->body, c->body_len, 0, &je) : NULL;
    if (c->body_len && !root) {
        emu_reply_error(c, 400, "INVALID_DATA", "body is not a valid JSON",
                        json_pack("{s:s}", "reason", "malformed JSON or invalid UTF-8"));
        return;
    }
    const char *q = json_string_value(json_object_get(root, "select_query"));
    if (!q || !*q) {
        json_decref(root);
        emu_reply_error(c, 400, "MANDATORY_NOT_FOUND", "mandatory key not found",
                        json_pack("{s:s}", "api_name", "select_query"));
        return;
    }
    emu_parse_error pe;
    memset(&pe, 0, sizeof pe);
    emu_coql *cq = emu_coql_parse(q, &pe);
    json_decref(root);
    if (!cq) { parse_error(c, &pe); return; }
    pthread_rwlock_rdlock(&c->s->org_lock);
    emu_org *o = c->s->org;
    emu_module *m = emu_org_module_ci(o, cq->module);
    sort_row *rows = NULL;
    size_t nrows = 0;
    if (!m) {
        emu_reply_error(c, 400, "INVALID_MODULE", "the given module is not supported in api", NULL);
        goto out;
    }
    field_check fc = { o, m, NULL, true };
    for (size_t i = 0; i < cq->nfields && !fc.bad; i++) check_field(cq->fields[i], &fc);
    if (cq->where) emu_cond_fields(cq->where, check_field, &fc);
    if (cq->order_field) check_field(cq->order_field, &fc);
    if (fc.bad) {
        emu_coql_unknown_field(fc.bad, &pe);
        parse_error(c, &pe);
        goto out;
    }
    emu_value_ctx vc = { .org = o, .ids = true };
    emu_type_ctx tc = { o, m };
    if (cq->where && !emu_cond_check_types(cq->where, emu_field_type_of, &tc, &pe)) {
        parse_error(c, &pe);
        goto out;
    }
    rows = emu_xmalloc((m->nrecs ? m->nrecs : 1) * sizeof *rows);
    for (size_t k = 0; k < m->nrecs; k++) {
        emu_record *r = m->recs[k];
        if (cq->where && !emu_cond_match(cq->where, emu_record_value, r, &vc)) continue;
        sort_row *row = &rows[nrows++];
        memset(row, 0, sizeof *row);
        row->r = r;
        if (cq->order_field) {
            emu_record_value(r, cq->order_field, &row->v, &vc);
            if (row->v.type == EMU_V_STR) row->s = emu_strdup(row->v.s);
        }
    }
    if (cq->order_field) qsort_r(rows, nrows, sizeof *rows, cmp_rows, &cq->order_desc);
    size_t off = cq->offset > 0 ? (size_t)cq->offset : 0;
    size_t lim = cq->limit > 0 ? (size_t)cq->limit : EMU_COQL_DEFAULT_LIMIT;
    json_t *data = json_array();
    for (size_t k = off; k < nrows && k < off + lim; k++)
        json_array_append_new(data, emu_record_json(o, rows[k].r, cq->fields, cq->nfields));
    if (json_array_size(data) == 0) {
        json_decref(data);
        emu_reply_empty(c, 204);
        goto out;
    }
    json_t *info = json_object();
    json_object_set_new(info, "count", json_integer((json_int_t)json_array_size(data)));
    json_object_set_new(info, "more_records", json_boolean(off + lim < nrows));
    emu_reply_json(c, 200, json_pack("{s:o,s:o}", "data", data, "info", info));
out:
    pthread_rwlock_unlock(&c->s->org_lock);
    for (size_t k = 0; k < nrows; k++) free(rows[k].s);
    free(rows);
    emu_coql_free(cq);
}
