/* budget_client.h - a client's share of the fleet budget (budget.h). */
#ifndef ZLOCK_BUDGET_CLIENT_H
#define ZLOCK_BUDGET_CLIENT_H

#include "budget.h"
#include "internal.h"

#define ZL_BUDGET_INTERACTIVE_CAP 64   /* most slots one client's one-at-a-time calls hold */

/* Reads the budget settings of cfg (client.c, at creation). 0, or -1 and *err. */
int  zl_client_budget_open(zl_client *c, const zl_config *cfg, zl_error *err);
void zl_client_budget_close(zl_client *c);
/* The client's budget settings; NULL when it has none (no Redis URL, or org_budget off). */
const zl_budget_conf *zl_client_budget(const zl_client *c);
/* A slot for one API request made one at a time: waits while the fleet is full, at most the
 * client's timeout. seq 0: sent without one (no budget, Redis failed, or the wait ran out). */
zl_budget_ticket zl_client_slot_take(zl_client *c);
/* Gives it back with the reply's status (0: none). */
void zl_client_slot_give(zl_client *c, zl_budget_ticket t, int status);
/* Waits for slots so far, and the fleet's limit as last seen. */
void zl_client_slot_stats(zl_client *c, unsigned long *waits, unsigned long *wait_ms, zl_budget_info *info);

#endif
