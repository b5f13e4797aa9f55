/* emu/coql.h: a documented subset of Zoho's COQL (CRM Object Query Language), parsed
 * into the same condition tree as search criteria (emu/criteria.h). Pure: no I/O, no
 * globals, thread-safe. Evaluated by emu/records.c. */
#ifndef ZLOCK_EMU_COQL_H
#define ZLOCK_EMU_COQL_H

#include "criteria.h"

typedef struct {
    char    **fields;  size_t nfields;   /* select list, as written */
    char     *module;                    /* from <Module> */
    emu_cond *where;                     /* NULL when no where clause */
    char     *order_field;  bool order_desc;   /* NULL when no order by */
    long      offset, limit;             /* limit defaults per Zoho; limit <= 2000 */
} emu_coql;
emu_coql *emu_coql_parse(const char *query, emu_parse_error *err);  /* NULL on error */
void      emu_coql_free(emu_coql *q);

/* ---- additions (beyond the contract) ----
   Notes on the fields above: `where` is never NULL from emu_coql_parse (this subset, like
   Zoho, requires WHERE: SYNTAX_ERROR "missing clause"); `limit` is 200 when not given,
   1..2000 otherwise, and offset + limit <= 100000. The accepted grammar is in coql.c. */
#define EMU_COQL_DEFAULT_LIMIT  200
#define EMU_COQL_MAX_LIMIT      2000
#define EMU_COQL_MAX_FIELDS     50      /* Zoho: at most 50 fields in the select list */

/* Fills *err for a select-list, where or order-by column the module does not have:
   400 INVALID_QUERY "column given seems to be invalid", details {"column_name":"<field>"}. */
void      emu_coql_unknown_field(const char *field, emu_parse_error *err);

#endif
