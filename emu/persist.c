/* placeholder */
#include "emu.h"
#include <stdio.h>
json_t *emu_persist_dump(emu_org *o) { (void)o; return json_object(); }
emu_org *emu_persist_load(json_t *j, char *err, size_t n) { (void)j; snprintf(err, n, "not yet"); return NULL; }
bool emu_persist_save_file(emu_org *o, const char *p, char *err, size_t n) { (void)o; (void)p; (void)err; (void)n; return true; }
emu_org *emu_persist_load_file(const char *p, char *err, size_t n) { (void)p; snprintf(err, n, "not yet"); return NULL; }
