/* Field values of records: the getter criteria/COQL evaluate with, and JSON rendering. */
#ifndef ZLOCK_EMU_FIELD_H
#define ZLOCK_EMU_FIELD_H

#include "emu.h"
#include "criteria.h"

/* ids: COQL semantics (lookups and Owner compare by id); false: search semantics (by name). */
typedef struct { emu_org *org; char buf[2][32]; unsigned which; bool ids; } emu_value_ctx;

/* emu_field_fn for criteria.h: ud is an emu_value_ctx. */
bool emu_record_value(const void *rec, const char *field, emu_value *out, void *ud);
bool emu_module_has_field(const emu_module *m, const char *field);
/* Also resolves COQL's Lookup.Field and Owner.name forms. */
bool emu_org_has_field(emu_org *o, const emu_module *m, const char *field);
json_t *emu_field_json(emu_org *o, const emu_record *r, const char *field); /* NULL: unknown */
/* A record as Zoho returns it; fields NULL = every field. */
json_t *emu_record_json(emu_org *o, const emu_record *r, char **fields, size_t nfields);
typedef struct { emu_org *org; const emu_module *module; } emu_type_ctx;
/* type_of for emu_cond_check_types: the schema type of a field (ud: emu_type_ctx). */
bool emu_field_type_of(const char *field, emu_vtype *out, void *ud);
bool emu_field_store(emu_record *r, const emu_field *f, size_t idx, json_t *v);

/* records.c helpers shared with search.c */
char **emu_split_fields(const char *s, size_t *n);   /* "a, b" -> {"a","b"} */
void emu_free_fields(char **v, size_t n);
bool emu_paging(emu_ctx *c, long *page, long *per_page);   /* false after replying */

#endif
