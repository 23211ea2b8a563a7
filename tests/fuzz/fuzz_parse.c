/*
 * fuzz_parse.c -- src/api/parse.h: names, ranges, block ids, maxresults, x-ms-version, lists,
 * GUIDs.
 *
 * Input: one selector byte, then the field (bytes, may contain NUL for the length-taking checks).
 * Besides crashes, each parser is held to its contract with an independent reference
 * implementation written from the protocol doc (§5.2, §5.7), so a parser that accepts something
 * the rules forbid (a ".." segment, a control character, "--" in a container name, a range that
 * resolves outside the blob) fails here.
 */
#include <stdint.h>
#include <string.h>

#include "api/parse.h"
#include "fuzz_common.h"
#include "util/codec.h"

/* ---- reference implementations ---- */

static int
ref_container_ok(const char *s, size_t n)
{
    static const char *const sys[] = {"$root", "$logs", "$web", "$blobchangefeed"};

    for (size_t i = 0; i < 4; i++)
        if (n == strlen(sys[i]) && memcmp(s, sys[i], n) == 0)
            return 1;
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-')
            return 0;
        if ((i == 0 || i == n - 1) && !alnum)
            return 0;
        if (c == '-' && i + 1 < n && s[i + 1] == '-')
            return 0;
    }
    return 1;
}

/* Strict UTF-8 decoder: code point count, or -1.  Rejects overlongs, surrogates, > U+10FFFF. */
static long
ref_utf8(const unsigned char *s, size_t n)
{
    long count = 0;

    for (size_t i = 0; i < n; count++) {
        uint32_t cp;
        size_t len;
        unsigned c = s[i];

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return -1;
        }
        if (n - i < len)
            return -1;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return -1;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        i += len;
    }
    return count;
}

static int
ref_blob_shape_ok(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t seg = 0;

    if (n == 0 || n > 4096)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7F)
            return 0;
    if (ref_utf8(s, n) < 0)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/' || s[i] == '\\') {
            size_t l = i - seg;
            if ((l == 1 && s[seg] == '.') || (l == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                return 0;
            seg = i + 1;
        }
    }
    return 1;
}

/* Blob names: 1-1024 characters (code points) of the allowed shape. */
static int
ref_blob_ok(const char *str, size_t n)
{
    return ref_blob_shape_ok(str, n) && ref_utf8((const unsigned char *)str, n) <= 1024;
}

static int
count_items(const char *item, size_t len, void *ctx)
{
    size_t *total = ctx;

    FUZZ_CHECK(len > 0);
    FUZZ_CHECK(item[0] != ' ' && item[0] != '\t' && item[len - 1] != ' ' && item[len - 1] != '\t');
    FUZZ_CHECK(memchr(item, ',', len) == NULL);
    *total += len;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    uint8_t sel = fz_u8(&f);
    size_t n;
    uint8_t *raw;
    char *s;

    switch (sel % 9) {
    case 0: {
        enum name_check r;
        raw = fz_rest(&f, &n);
        r = container_name_check((const char *)raw, n);
        FUZZ_CHECK((r == NAME_OK) == ref_container_ok((const char *)raw, n));
        if (r == NAME_LENGTH)
            FUZZ_CHECK(n < 3 || n > 63);
        free(raw);
        break;
    }
    case 1: {
        enum name_check r;
        raw = fz_rest(&f, &n);
        r = blob_name_check((const char *)raw, n);
        FUZZ_CHECK((r == NAME_OK) == ref_blob_ok((const char *)raw, n));
        FUZZ_CHECK((r == NAME_LENGTH) ==
                   (n == 0 || n > 4096 ||
                    (ref_blob_shape_ok((const char *)raw, n) &&
                     ref_utf8(raw, n) > 1024)));
        free(raw);
        break;
    }
    case 2: {
        int ok;
        raw = fz_rest(&f, &n);
        ok = metadata_name_valid((const char *)raw, n);
        if (ok) {
            FUZZ_CHECK(n > 0 && !(raw[0] >= '0' && raw[0] <= '9'));
            for (size_t i = 0; i < n; i++)
                FUZZ_CHECK((raw[i] >= 'a' && raw[i] <= 'z') || (raw[i] >= 'A' && raw[i] <= 'Z') ||
                           (raw[i] >= '0' && raw[i] <= '9') || raw[i] == '_');
        }
        free(raw);
        break;
    }
    case 3: {
        uint64_t start = 7, end = 7, size2 = fz_u64(&f), off = 0, len = 0;
        s = fz_field(&f, 0, &n);
        if (range_parse(s, &start, &end)) {
            FUZZ_CHECK(start <= end);
            if (range_resolve(start, end, size2, &off, &len) == 0) {
                FUZZ_CHECK(len > 0 && off == start && off < size2);
                FUZZ_CHECK(len <= size2 - off);            /* inside the blob */
                FUZZ_CHECK(off + len - 1 <= end);          /* inside the range */
            } else {
                FUZZ_CHECK(start >= size2);
            }
        }
        free(s);
        break;
    }
    case 4: {
        uint64_t start = fz_u64(&f), end = fz_u64(&f), size2 = fz_u64(&f), off, len;
        if (range_resolve(start, end, size2, &off, &len) == 0) {
            FUZZ_CHECK(start <= end && start < size2);
            FUZZ_CHECK(len > 0 && len <= size2 - off && off + len - 1 <= end);
        }
        break;
    }
    case 5: {
        int r;
        raw = fz_rest(&f, &n);
        r = blockid_check((const char *)raw, n);
        FUZZ_CHECK(r >= -1 && r <= 64);
        if (r > 0 && n <= 88) {
            unsigned char out[66];
            FUZZ_CHECK(base64_decode((const char *)raw, n, out) == r);
        }
        free(raw);
        break;
    }
    case 6: {
        int r;
        s = fz_field(&f, 0, &n);
        r = maxresults_parse(s);
        FUZZ_CHECK(r == -1 || (r >= 1 && r <= 5000));
        if (r > 0)
            for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(s[i] >= '0' && s[i] <= '9');
        free(s);
        break;
    }
    case 7: {
        s = fz_field(&f, 0, &n);
        if (version_valid(s))
            FUZZ_CHECK(n == 10 && s[4] == '-' && s[7] == '-');
        /* The forms Azure takes: 32 digits, hyphenated (36), in braces or parentheses (38). */
        if (guid_valid(s))
            FUZZ_CHECK((n == 32 || n == 36 || n == 38) && guid_equal(s, s));
        else
            FUZZ_CHECK(!guid_equal(s, s));
        free(s);
        break;
    }
    default: {
        size_t total = 0;
        s = fz_field(&f, 0, &n);
        list_each(s, count_items, &total);
        FUZZ_CHECK(total <= n);
        free(s);
        break;
    }
    }
    return 0;
}
