/* emu/coql_lex.c: the COQL tokenizer (identifiers, quoted names and strings, numbers,
 * operators), keyword tests and the Zoho-shaped error setters used by coql.c. Pure: no
 * I/O, no globals. */
#include "coql_lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool id_start(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '$';
}
static bool id_char(char ch) { return id_start(ch) || is_digit(ch) || ch == '.'; }

void emu_coql__lex(emu_qparser *p)
{
    const char *s = p->s;
    size_t i = p->pos, n = p->len;
    while (i < n && is_ws(s[i])) i++;
    emu_qtok t = {T_EOF, i, 0};
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

bool emu_coql__kw(const emu_qparser *p, const char *word)
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

bool emu_coql__reserved(const emu_qparser *p)
{
    for (int i = 0; reserved[i]; i++)
        if (emu_coql__kw(p, reserved[i])) return true;
    return false;
}

/* ---------------------------------------------------------------- errors */

bool emu_coql__syntax(emu_qparser *p)
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

bool emu_coql__fail(emu_qparser *p, const char *code, const char *msg)
{
    if (p->failed) return false;
    p->failed = true;
    emu_err__set(p->err, 400, code, msg);
    return false;
}

bool emu_coql__unsupported(emu_qparser *p)
{
    /* crm-oas v8 coql.json example SyntaxErrorQueryNotSupported. */
    return emu_coql__fail(p, "SYNTAX_ERROR", "given coql query not supported");
}

bool emu_coql__oom(emu_qparser *p)
{
    if (!p->failed) emu_err__set(p->err, 500, "INTERNAL_ERROR", "Internal Server Error");
    p->failed = true;
    return false;
}

/* Unescapes a quoted token (' or ") into a malloc'd buffer; *n gets the length. */
char *emu_coql__unquote(const emu_qparser *p, const emu_qtok *t, size_t *n)
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
