/* Profiles and permissions (see permission.h). */
#include "permission.h"

#include <string.h>
#include <strings.h>

bool emu_user_may_configure(const emu_org *o, int user)
{
    return user >= 0 && (size_t)user < o->nusers && strcmp(o->users[user].profile, "Administrator") == 0;
}

void emu_reply_no_permission(emu_ctx *c, const char *msg, const char *perm)
{
    emu_reply_error(c, 403, "NO_PERMISSION", msg, json_pack("{s:[s]}", "permissions", perm));
}

bool emu_module_unlockable(const char *name)
{
    /* UNCONFIRMED beyond Campaigns: Zoho's list of lockable modules leaves these out */
    static const char *const mods[] = { "Campaigns", "Calls", "Events", "Meetings", "Activities", "Notes",
                                        "Attachments", "Visits", "Forecasts", NULL };
    for (size_t i = 0; mods[i]; i++)
        if (strcasecmp(name, mods[i]) == 0) return true;
    return false;
}
