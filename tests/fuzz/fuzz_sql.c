/* libFuzzer harness for the SQL classifier.  The first input byte picks the
 * dialect, the rest is the statement text, classified from an exact-size
 * copy (so ASan sees any read past `len`).  Invariants: the result is
 * deterministic, the kind is in range, a SQL_REFUSED statement has a
 * reason, names fit and placeholder counts are sane.  Any violation aborts
 * (a finding). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlclass.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_sql invariant violated: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sql_info a, b;
    enum sql_dialect d;
    char *copy;

    if (size == 0)
        return 0;
    d = (data[0] & 1) ? SQL_DIALECT_SQLITE : SQL_DIALECT_MYSQL;
    size--;
    copy = malloc(size ? size : 1);
    check(copy != NULL, "malloc");
    memcpy(copy, data + 1, size);

    check(sqlclass(copy, size, d, &a) == a.kind, "return value is out->kind");
    check(a.kind >= SQL_EMPTY && a.kind <= SQL_OTHER, "kind in range");
    check(a.kind != SQL_REFUSED || a.refusal != NULL, "SQL_REFUSED has a reason");
    check(memchr(a.name, '\0', sizeof a.name) != NULL && strlen(a.name) <= 64, "name fits");
    check(a.nparams >= 0 && (size_t)a.nparams <= 1000000, "nparams sane");
    check(a.isolation >= SQL_ISO_NONE && a.isolation <= SQL_ISO_SERIALIZABLE, "isolation");
    check(a.kind != SQL_SET_AUTOCOMMIT || a.autocommit == 0 || a.autocommit == 1,
          "autocommit is 0 or 1");
    check(strcmp(sqlclass_kind_name(a.kind), "UNKNOWN") != 0, "kind has a name");
    sqlclass(copy, size, d, &b);
    check(a.kind == b.kind && a.refusal == b.refusal && a.nparams == b.nparams &&
              a.multi == b.multi && strcmp(a.name, b.name) == 0,
          "deterministic");
    free(copy);
    return 0;
}
