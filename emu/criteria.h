/* emu/criteria.h: Zoho CRM search criteria, parsed into a condition tree that the
 * record store evaluates against its records. Pure: no I/O, no globals, thread-safe.
 * Contract with emu/records.c: /work/contract-emu-query.md (do not change the given
 * declarations; additions only). */
#ifndef ZLOCK_EMU_CRITERIA_H
#define ZLOCK_EMU_CRITERIA_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { EMU_V_NULL, EMU_V_STR, EMU_V_NUM, EMU_V_BOOL } emu_vtype;
typedef struct { emu_vtype type; const char *s; double n; bool b; } emu_value;

/* Field getter supplied by the record store: fills *out with the record's value of `field`
   (strings stay owned by the record). Returns false when the module has no such field
   (the parser/evaluator then reports INVALID_QUERY / the Zoho error for an unknown field). */
typedef bool (*emu_field_fn)(const void *record, const char *field, emu_value *out, void *ud);

/* A parse error, shaped so the caller can answer Zoho's error envelope directly. */
typedef struct {
    int  http_status;      /* 400 */
    char code[32];         /* e.g. "INVALID_QUERY" */
    char message[128];     /* Zoho's message text */
    char details[256];     /* a JSON object text for "details", e.g. {"reason":"..."} */
} emu_parse_error;

typedef struct emu_cond emu_cond;                      /* opaque condition tree */
emu_cond *emu_criteria_parse(const char *criteria, emu_parse_error *err);   /* NULL on error */
bool      emu_cond_match(const emu_cond *c, emu_field_fn get, const void *rec, void *ud);
/* Calls fn for every field name the condition mentions (for up-front unknown-field checks). */
void      emu_cond_fields(const emu_cond *c, void (*fn)(const char *field, void *ud), void *ud);
void      emu_cond_free(emu_cond *c);

/* ---- additions (beyond the contract) ---- */

/* Number of leaf comparisons in the tree (Zoho allows at most 10 in a search). */
size_t    emu_cond_count(const emu_cond *c);

/* Fills *err with an INVALID_QUERY for `field` (helper for callers that find an unknown
   field through emu_cond_fields): {"code":"INVALID_QUERY","details":{"reason":"invalid
   field","api_name":"<field>"},...}. */
void      emu_criteria_unknown_field(const char *field, emu_parse_error *err);

/* Limits (hostile-input bounds, not Zoho's). */
#define EMU_CRITERIA_MAX        10      /* Zoho: at most 10 criteria per search */
#define EMU_QUERY_MAX_LEN       65536   /* longer input is refused, not parsed */
#define EMU_QUERY_MAX_DEPTH     64      /* parenthesis nesting bound (recursion bound) */

#endif
