/* emu/coql_lex.h: internals shared by the COQL parser (coql.c) and its lexer and error
 * helpers (coql_lex.c). Not for the record store: use coql.h. */
#ifndef ZLOCK_EMU_COQL_LEX_H
#define ZLOCK_EMU_COQL_LEX_H

#include "coql.h"

typedef enum { T_EOF, T_IDENT, T_STRING, T_DQ, T_NUMBER, T_LP, T_RP, T_COMMA, T_STAR, T_OP,
               T_BAD, T_UNTERMINATED } emu_qttype;

typedef struct { emu_qttype t; size_t pos, len; } emu_qtok;

typedef struct {
    const char *s;
    size_t len, pos;
    emu_qtok cur;
    emu_coql *q;
    emu_cond *c;
    emu_parse_error *err;
    int depth;
    bool failed;
} emu_qparser;

void  emu_coql__lex(emu_qparser *p);                          /* next token into p->cur */
bool  emu_coql__kw(const emu_qparser *p, const char *word);   /* p->cur is this keyword (any case) */
bool  emu_coql__reserved(const emu_qparser *p);               /* p->cur is a reserved word */
char *emu_coql__unquote(const emu_qparser *p, const emu_qtok *t, size_t *n);  /* malloc'd, unescaped */
/* Error setters: each returns false and records only the first error. */
bool  emu_coql__syntax(emu_qparser *p);                       /* SYNTAX_ERROR at p->cur */
bool  emu_coql__fail(emu_qparser *p, const char *code, const char *msg);
bool  emu_coql__unsupported(emu_qparser *p);                  /* outside the subset */
bool  emu_coql__oom(emu_qparser *p);

#endif
