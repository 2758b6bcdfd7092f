/* The error table and the helpers that fill a struct err.  See err.h. */
#include "config.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name, *state, *text;
    bool usable;
} err_info[ERR__COUNT] = {
#define ERR_INFO_(name, state, usable, text) {#name, state, text, usable},
    ERR_TABLE(ERR_INFO_)
#undef ERR_INFO_
};

static bool code_valid(enum err_code code)
{
    return (unsigned)code < ERR__COUNT;
}

const char *err_name(enum err_code code)
{
    return code_valid(code) ? err_info[code].name : "UNKNOWN";
}

const char *err_default_sqlstate(enum err_code code)
{
    return code_valid(code) ? err_info[code].state : "HY000";
}

const char *err_text(enum err_code code)
{
    return code_valid(code) ? err_info[code].text : "unknown error";
}

bool err_code_usable(enum err_code code)
{
    return code_valid(code) ? err_info[code].usable : false;
}

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = ERR_OK;
    memcpy(e->sqlstate, "00000", 6);
    e->native = 0;
    e->msg[0] = '\0';
}

static void set_state(struct err *e, const char *state)
{
    size_t n = state ? strnlen(state, 5) : 0;
    if (n != 5) {
        memcpy(e->sqlstate, "HY000", 6);
        return;
    }
    memcpy(e->sqlstate, state, 5);
    e->sqlstate[5] = '\0';
}

int err_setv(struct err *e, enum err_code code, const char *fmt, va_list ap)
{
    if (!e)
        return -1;
    e->code = code;
    set_state(e, err_default_sqlstate(code));
    e->native = 0;
    if (fmt)
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    else
        snprintf(e->msg, sizeof e->msg, "%s", err_text(code));
    return -1;
}

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(e, code, fmt, ap);
    va_end(ap);
    return -1;
}

int err_set_sql(struct err *e, enum err_code code, const char *sqlstate,
                int native, const char *fmt, ...)
{
    va_list ap;
    if (!e)
        return -1;
    va_start(ap, fmt);
    err_setv(e, code, fmt, ap);
    va_end(ap);
    set_state(e, sqlstate);
    e->native = native;
    return -1;
}

int err_set_errno(struct err *e, int errnum, const char *fmt, ...)
{
    char ctx[ERR_MSG_MAX];
    va_list ap;
    if (!e)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    return err_set(e, errnum == ENOMEM ? ERR_NOMEM : ERR_IO, "%s: %s", ctx,
                   strerror(errnum));
}

int err_wrap(struct err *e, const char *fmt, ...)
{
    char ctx[ERR_MSG_MAX], old[ERR_MSG_MAX];
    va_list ap;
    if (!e)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%s: %s", ctx, old);
    return -1;
}

int err_copy(struct err *dst, const struct err *src)
{
    if (dst && dst != src)
        *dst = *src;
    return -1;
}
