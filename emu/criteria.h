/* emu/criteria.h: Zoho CRM search criteria, parsed into a condition tree that the
 * record store evaluates against its records (emu/records.c). Pure: no I/O, no globals,
 * thread-safe. */
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

/* Checks every comparison of `c` against one record of the module (typically the first
   one, or each one): unknown field -> the dialect's unknown-field error; a value that does
   not fit the field's type (greater_than:abc on a number, starts_with on a number, an
   ordering operator on a boolean) -> Zoho's INVALID_QUERY. Fields that are empty in
   `rec` are only checked for existence. Returns true when the query is fine. */
bool      emu_cond_check(const emu_cond *c, emu_field_fn get, const void *rec, void *ud,
                         emu_parse_error *err);

/* The same check against the module's schema instead of a record: type_of fills *out with
   the field's type (EMU_V_STR for text, picklists, dates, lookups; EMU_V_NUM; EMU_V_BOOL;
   EMU_V_NULL when unknown) and returns false when the module has no such field. */
bool      emu_cond_check_types(const emu_cond *c,
                               bool (*type_of)(const char *field, emu_vtype *out, void *ud),
                               void *ud, emu_parse_error *err);

/* Opt-in Zoho search semantics for free-text fields (search criteria only; a no-op on
   COQL): Zoho documents that "equals" on a text field "behaves like contains" (not on
   picklists). After this call, equals/not_equal on every field for which is_text(field)
   is true match when the value's words appear as consecutive words of the field
   (case-insensitive; any run of non-alphanumerics is one separator). Without the call,
   equals is an exact case-insensitive match. The word rule approximates Zoho's index
   (UNCONFIRMED). */
void      emu_cond_text_search(emu_cond *c, bool (*is_text)(const char *field, void *ud), void *ud);

/* Fills *err with the search API's answer for a field the module does not have:
   400 INVALID_QUERY "the field is not available for search",
   details {"reason":"the field is not available for search","api_name":"<field>"}. */
void      emu_criteria_unknown_field(const char *field, emu_parse_error *err);

/* Limits (hostile-input bounds, not Zoho's, except EMU_CRITERIA_MAX / EMU_CRITERIA_IN_MAX). */
#define EMU_CRITERIA_MAX        10      /* Zoho: at most 10 criteria per search */
#define EMU_CRITERIA_IN_MAX     100     /* Zoho: "in" takes at most 100 values */
#define EMU_QUERY_MAX_LEN       65536   /* longer input is refused, not parsed */
#define EMU_QUERY_MAX_DEPTH     64      /* parenthesis nesting bound (recursion bound) */

/* ---- internal: shared by criteria.c and coql.c, not for the record store ---- */
typedef enum { EMU_DIALECT_CRITERIA, EMU_DIALECT_COQL } emu_dialect;
typedef enum {
    EMU_OP_EQ, EMU_OP_NE, EMU_OP_STARTS, EMU_OP_ENDS, EMU_OP_CONTAINS, EMU_OP_NOT_CONTAINS,
    EMU_OP_IN, EMU_OP_NOT_IN, EMU_OP_GT, EMU_OP_GE, EMU_OP_LT, EMU_OP_LE, EMU_OP_BETWEEN,
    EMU_OP_IS_NULL, EMU_OP_NOT_NULL
} emu_op;
/* How a literal was written: raw search text (may be a number, true/false or null),
   a quoted COQL string, a bare COQL number, COQL true/false, COQL null. */
typedef enum { EMU_LIT_TEXT, EMU_LIT_STRING, EMU_LIT_NUMBER, EMU_LIT_BOOL, EMU_LIT_NULL } emu_litkind;
typedef struct emu_cnode emu_cnode;

emu_cond  *emu_cond__new(emu_dialect d);                       /* NULL when out of memory */
char      *emu_cond__strndup(emu_cond *c, const char *s, size_t n);
emu_cnode *emu_cond__leaf(emu_cond *c, const char *field, size_t flen, emu_op op);
bool       emu_cond__add_value(emu_cond *c, emu_cnode *leaf, const char *s, size_t n,
                               emu_litkind kind);
size_t     emu_cond__nvalues(const emu_cnode *leaf);
emu_cnode *emu_cond__join(emu_cond *c, bool is_and, emu_cnode *a, emu_cnode *b);
void       emu_cond__set_root(emu_cond *c, emu_cnode *root);
const char *emu_op__name(emu_op op, emu_dialect d);
/* words.c: the value's words appear as consecutive words of field (case-insensitive). */
bool        emu_words_contain(const char *field, const char *value);

/* Error helpers: set resets details to {}; add_* append one key (silently dropped when
   the 256-byte details buffer is full); strings are JSON-escaped, invalid UTF-8 -> '?'. */
void emu_err__set(emu_parse_error *e, int status, const char *code, const char *message);
void emu_err__add_str(emu_parse_error *e, const char *key, const char *val, size_t vlen);
void emu_err__add_int(emu_parse_error *e, const char *key, long v);
bool emu_strict_number(const char *s, size_t n, double *out);

#endif
