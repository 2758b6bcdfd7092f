/* The open-addressing hash map: inserts, lookups, deletion with backward
 * shift (checked against a simple model under random operations), growth,
 * iteration and the 16-byte key helper. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "testhelp.h"

START_TEST(basic)
{
    struct hmap m;
    hmap_init(&m);
    ck_assert_ptr_null(hmap_get(&m, 5));
    ck_assert_int_eq(hmap_put(&m, 5, (void *)50), 0);
    ck_assert_int_eq(hmap_put(&m, 6, (void *)60), 0);
    ck_assert_ptr_eq(hmap_get(&m, 5), (void *)50);
    ck_assert_int_eq(hmap_put(&m, 5, (void *)55), 0); /* replace */
    ck_assert_ptr_eq(hmap_get(&m, 5), (void *)55);
    ck_assert_uint_eq(m.len, 2);
    ck_assert_ptr_eq(hmap_del(&m, 5), (void *)55);
    ck_assert_ptr_null(hmap_get(&m, 5));
    ck_assert_ptr_null(hmap_del(&m, 5));
    ck_assert_int_eq(hmap_put(&m, 0, (void *)1), -1); /* key 0 reserved */
    hmap_close(&m);
}
END_TEST

/* Random operations against an array model; small key space forces long
 * probe chains and many deletions inside them. */
START_TEST(random_against_model)
{
    enum { KEYS = 300 };
    uint64_t rs = testhelp_seed("hmap random_against_model");
    void *model[KEYS + 1];
    struct hmap m;
    memset(model, 0, sizeof model);
    hmap_init(&m);
    for (int i = 0; i < 200000; i++) {
        uint64_t k = 1 + testhelp_rand(&rs) % KEYS;
        uint64_t op = testhelp_rand(&rs) % 3;
        if (op == 0) {
            void *v = (void *)(uintptr_t)(i + 1);
            ck_assert_int_eq(hmap_put(&m, k, v), 0);
            model[k] = v;
        } else if (op == 1) {
            ck_assert_ptr_eq(hmap_del(&m, k), model[k]);
            model[k] = NULL;
        } else {
            ck_assert_ptr_eq(hmap_get(&m, k), model[k]);
        }
    }
    size_t count = 0, pos = 0;
    uint64_t key;
    void *val;
    while (hmap_next(&m, &pos, &key, &val)) {
        ck_assert_ptr_eq(model[key], val);
        count++;
    }
    size_t want = 0;
    for (int k = 1; k <= KEYS; k++)
        want += model[k] != NULL;
    ck_assert_uint_eq(count, want);
    ck_assert_uint_eq(m.len, want);
    hmap_close(&m);
}
END_TEST

START_TEST(key16)
{
    uint8_t a[16] = {0}, b[16] = {0};
    b[15] = 1;
    ck_assert_uint_ne(hmap_key16(a), 0);
    ck_assert_uint_ne(hmap_key16(a), hmap_key16(b));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hmap");
    TCase *tc = tcase_create("hmap");
    tcase_add_test(tc, basic);
    tcase_add_test(tc, random_against_model);
    tcase_add_test(tc, key16);
    suite_add_tcase(s, tc);
    return testhelp_run(s);
}
