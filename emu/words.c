/* emu/words.c: the word-run match behind Zoho's text-search "equals" (see
 * emu_cond_text_search in criteria.h). Pure. */
#include "criteria.h"

#include <stddef.h>

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch; }

static int ci_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = lower((unsigned char)*a), y = lower((unsigned char)*b);
        if (x != y || !x) return (x > y) - (x < y);
    }
}

/* Next word (run of ASCII letters/digits or bytes >= 0x80) at or after *p. */
static bool next_word(const char **p, const char **w, size_t *n)
{
    const char *s = *p;
    #define WORDCH(ch) (((ch) >= 'a' && (ch) <= 'z') || ((ch) >= 'A' && (ch) <= 'Z') || \
                        ((ch) >= '0' && (ch) <= '9') || (unsigned char)(ch) >= 0x80)
    while (*s && !WORDCH(*s)) s++;
    if (!*s) return false;
    *w = s;
    while (*s && WORDCH(*s)) s++;
    #undef WORDCH
    *n = (size_t)(s - *w);
    *p = s;
    return true;
}

static bool word_eq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn) return false;
    for (size_t i = 0; i < an; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return false;
    return true;
}

/* Zoho: "equals" on a text field "behaves like contains". Approximated (UNCONFIRMED) as:
   the words of the value appear as consecutive words of the field, case-insensitively,
   any run of other characters counting as one separator (so sales-team matches
   sales_team, as Zoho's docs warn). A value without words compares exactly. */
bool emu_words_contain(const char *field, const char *value)
{
    const char *vp = value, *vw;
    size_t vn;
    if (!next_word(&vp, &vw, &vn)) return ci_cmp(field, value) == 0;
    const char *fp = field, *fw;
    size_t fn;
    while (next_word(&fp, &fw, &fn)) {
        if (!word_eq(fw, fn, vw, vn)) continue;
        const char *f2 = fp, *v2 = vp, *a, *b;
        size_t an, bn;
        bool all = true;
        while (next_word(&v2, &b, &bn)) {
            if (!next_word(&f2, &a, &an) || !word_eq(a, an, b, bn)) { all = false; break; }
        }
        if (all) return true;
    }
    return false;
}
