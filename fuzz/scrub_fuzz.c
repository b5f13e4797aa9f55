/* Fuzzes the secret scrubber (zl_err_scrub) on any message, details and secrets.
 * Input: fields message, details, then up to three secrets.
 * Invariant: afterwards no secret the scrubber takes (4 bytes or more) appears in the message
 * or the details. Secrets are OAuth tokens and client secrets, so the harness leaves out
 * those that could not be one: with '[' or ']' (the mask's brackets) or inside the mask's
 * own word "REDACTED" (no mask can hide those). No leaks. */
#include "internal.h"
#include "fuzz_input.h"

static bool plausible_secret(const char *s) {
    return s && strlen(s) >= 4 && !strpbrk(s, "[]") && !strstr("REDACTED", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in;
    fuzz_input_split(&in, data, size, 0);
    const char *secrets[3] = { NULL, NULL, NULL };
    size_t n = 0;
    for (size_t i = 2; i < in.nf && n < 3; i++)
        if (plausible_secret(in.f[i])) secrets[n++] = in.f[i];
    zl_error e = {0};
    zl_err_set(&e, "TOKEN", 400, false, "%s", in.f[0]);
    if (in.nf > 1 && !(e.details = strdup(in.f[1]))) abort();
    zl_err_scrub(&e, secrets, n);
    FUZZ_ASSERT(fuzz_terminated(e.message, sizeof e.message), "message not terminated");
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(!strstr(e.message, secrets[i]), "secret %s left in message %s", secrets[i], e.message);
        FUZZ_ASSERT(!e.details || !strstr(e.details, secrets[i]), "secret %s left in details %s", secrets[i], e.details);
    }
    zl_error_clear(&e);
    fuzz_input_free(&in);
    return 0;
}
