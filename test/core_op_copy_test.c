/* core_op_copy_test.c - deep copies of a zl_op (op_copy.h): every string and parameter is the
 * copy's own, absent fields stay absent. Pure. */
#include <stdlib.h>
#include "op_copy.h"
#include "tap.h"

int main(void) {
    char module[] = "Deals", rid[] = "5843104000001068086", reason[] = "quarter close";
    char k1[] = "fields", v1[] = "Locked_For__s", k2[] = "page", v2[] = "2";
    zl_param ps[] = { { k1, v1 }, { k2, v2 } };
    zl_op op = { .kind = ZL_OP_LIST, .module = module, .record_id = rid, .reason = reason, .params = ps,
                 .nparams = 2, .idempotent = 1 };
    zl_op_copy c;
    OK(zl_op_copy_make(&c, &op) == 0, "copied");
    module[0] = 'X'; rid[0] = '9'; reason[0] = 'Q'; k1[0] = 'F'; v2[0] = '7';
    OK(STREQ(c.op.module, "Deals") && STREQ(c.op.record_id, "5843104000001068086")
       && STREQ(c.op.reason, "quarter close"), "strings are the copy's own");
    OK(c.op.nparams == 2 && STREQ(c.op.params[0].key, "fields") && STREQ(c.op.params[0].value, "Locked_For__s")
       && STREQ(c.op.params[1].key, "page") && STREQ(c.op.params[1].value, "2"), "parameters are the copy's own");
    OK(c.op.params != ps, "a parameter array of its own");
    OK(c.op.lock_id == NULL && c.op.method == NULL && c.op.path == NULL && c.op.body == NULL,
       "absent fields stay NULL");
    OK(c.op.kind == ZL_OP_LIST && c.op.idempotent == 1, "scalars copied");
    zl_op_copy_free(&c);
    OK(c.block == NULL && c.op.module == NULL, "freed and zeroed");
    zl_op_copy_free(&c);   /* twice: harmless */

    zl_op req = { .kind = ZL_OP_REQUEST, .method = "POST", .path = "/crm/v8/coql",
                  .body = "{\"select_query\":\"select id from Deals\"}", .idempotent = -1 };
    OK(zl_op_copy_make(&c, &req) == 0 && STREQ(c.op.method, "POST") && STREQ(c.op.path, "/crm/v8/coql")
       && STREQ(c.op.body, req.body) && c.op.body != req.body && c.op.params == NULL && c.op.nparams == 0,
       "a generic request with a body and no parameters");
    zl_op_copy_free(&c);
    zl_op empty = {0};
    OK(zl_op_copy_make(&c, &empty) == 0 && c.op.module == NULL && c.op.params == NULL, "an empty op");
    zl_op_copy_free(&c);
    return tap_done();
}
