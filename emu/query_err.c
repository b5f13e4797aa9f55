/* emu/query_err.c: Zoho-shaped parse errors for search criteria and COQL: the
 * emu_parse_error setters (details built as a small JSON object, strings escaped, invalid
 * UTF-8 replaced so the details always parse) and the unknown-field answers. Pure. */
#include "criteria.h"
#include "coql.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Appends the JSON-escaped form of s[0..n) to out (cap bytes incl. NUL) if it fits in
   `budget` output bytes; stops early (at a character boundary) otherwise. */
static size_t json_escape(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[8];
        size_t tl = 0, adv = 1;
        if (ch == '"' || ch == '\\') {
            tmp[0] = '\\', tmp[1] = (char)ch, tl = 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            tl = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", ch);
        } else if (ch < 0x80) {
            tmp[0] = (char)ch, tl = 1;
        } else {
            /* strict UTF-8: copy a whole valid sequence, else '?' */
            size_t len = ch >= 0xC2 && ch <= 0xDF ? 2 : ch >= 0xE0 && ch <= 0xEF ? 3
                       : ch >= 0xF0 && ch <= 0xF4 ? 4 : 0;
            bool ok = len && i + len <= n;
            for (size_t k = 1; ok && k < len; k++) {
                unsigned char cc = (unsigned char)s[i + k];
                unsigned char lo = 0x80, hi = 0xBF;
                if (k == 1) {
                    if (ch == 0xE0) lo = 0xA0;
                    else if (ch == 0xED) hi = 0x9F;
                    else if (ch == 0xF0) lo = 0x90;
                    else if (ch == 0xF4) hi = 0x8F;
                }
                ok = cc >= lo && cc <= hi;
            }
            if (ok) {
                memcpy(tmp, s + i, len);
                tl = adv = len;
            } else {
                tmp[0] = '?', tl = 1;
            }
        }
        if (o + tl + 1 > cap) break;
        memcpy(out + o, tmp, tl);
        o += tl;
        i += adv;
    }
    out[o] = '\0';
    return o;
}

void emu_err__set(emu_parse_error *e, int status, const char *code, const char *message)
{
    if (!e) return;
    e->http_status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->message, sizeof e->message, "%s", message);
    snprintf(e->details, sizeof e->details, "{}");
}

static void append_pair(emu_parse_error *e, const char *key, const char *jsonval)
{
    size_t len = strlen(e->details);
    if (len < 2 || e->details[len - 1] != '}') return;
    char pair[sizeof e->details];
    int pl = snprintf(pair, sizeof pair, "%s\"%s\":%s", len > 2 ? "," : "", key, jsonval);
    if (pl < 0 || (size_t)pl >= sizeof pair || len - 1 + (size_t)pl + 2 > sizeof e->details) return;
    memcpy(e->details + len - 1, pair, (size_t)pl);
    e->details[len - 1 + (size_t)pl] = '}';
    e->details[len + (size_t)pl] = '\0';
}

void emu_err__add_str(emu_parse_error *e, const char *key, const char *val, size_t vlen)
{
    if (!e || !val) return;
    if (vlen == (size_t)-1) vlen = strlen(val);
    char esc[100], q[104];
    json_escape(esc, sizeof esc, val, vlen);
    snprintf(q, sizeof q, "\"%s\"", esc);
    append_pair(e, key, q);
}

void emu_err__add_int(emu_parse_error *e, const char *key, long v)
{
    if (!e) return;
    char num[32];
    snprintf(num, sizeof num, "%ld", v);
    append_pair(e, key, num);
}

void emu_coql_unknown_field(const char *field, emu_parse_error *err)
{
    /* Zoho's COQL answer for a column the module does not have, as reported by many
       users ("column given seems to be invalid"); the details keys follow crm-oas v8
       coql.json ("Invalid Column Clause Details" without the clause). */
    emu_err__set(err, 400, "INVALID_QUERY", "column given seems to be invalid");
    emu_err__add_str(err, "column_name", field ? field : "", (size_t)-1);
}

void emu_criteria_unknown_field(const char *field, emu_parse_error *err)
{
    /* Message of crm-oas v8 search example InvalidQueryFieldNotAvailable, which Zoho also
       answers for fields that are not searchable; for a field that does not exist at all
       the text is UNCONFIRMED. */
    emu_err__set(err, 400, "INVALID_QUERY", "the field is not available for search");
    emu_err__add_str(err, "reason", "the field is not available for search", (size_t)-1);
    emu_err__add_str(err, "api_name", field ? field : "", (size_t)-1);
}

