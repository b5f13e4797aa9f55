/* placeholder: filled in next */
#include "emu.h"
void emu_search_route(emu_ctx *c) { emu_reply_error(c, 404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", NULL); }
void emu_coql_route(emu_ctx *c) { emu_reply_error(c, 404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", NULL); }
