/* Profiles and permissions: who may configure record locking and change others' locks, and
 * the modules where record locking cannot be configured at all. */
#ifndef ZLOCK_EMU_PERMISSION_H
#define ZLOCK_EMU_PERMISSION_H

#include "emu.h"

/* The names in NO_PERMISSION's details.permissions (UNCONFIRMED: Zoho's documented shape is
 * {"permissions":[...]}, the names are the emulator's). */
#define EMU_PERM_CONFIGURE "Crm_Implied_Manage_Record_Locking_Configuration"
#define EMU_PERM_LOCK "Crm_Implied_Lock_Unlock_Records"

/* Only the Administrator profile may create, change or delete a configuration (reading is open). */
bool emu_user_may_configure(const emu_org *o, int user);
/* 403 NO_PERMISSION with details {"permissions":[perm]}. */
void emu_reply_no_permission(emu_ctx *c, const char *msg, const char *perm);
/* Zoho modules that exist but cannot have record locking (Campaigns, activities, notes...):
 * NOT_SUPPORTED rather than INVALID_MODULE. */
bool emu_module_unlockable(const char *name);

#endif
