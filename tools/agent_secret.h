/*  =========================================================================
    agent_secret - reading a cluster secret, as rumord and rumorctl agree

    A secret comes from a file (never from the command line, where `ps`
    shows it to every user). The file must be a regular file that neither
    group nor others may read or write (chmod 600), as with ssh keys: a
    secret that others can read is already lost. One trailing newline
    ("\n" or "\r\n") is stripped, so `echo TEXT > FILE` works. The secret is
    16..1024 bytes of text without NUL bytes. Path "-" reads standard input
    (no permission check: a pipe has none worth checking).

    Every buffer that held a secret is wiped before it is freed.
    =========================================================================
*/

#ifndef AGENT_SECRET_H_INCLUDED
#define AGENT_SECRET_H_INCLUDED

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  The library's RUMOR_SECRET_MIN and RUMOR_SECRET_MAX: rumorctl does not
//  link librumor, so they are repeated here (rumord checks they agree)
#define AGENT_SECRET_MIN    16
#define AGENT_SECRET_MAX    1024

//  Overwrites size bytes with zeros in a way the compiler keeps
static inline void
agent_wipe (void *data, size_t size)
{
    volatile unsigned char *byte = (volatile unsigned char *) data;
    while (size--)
        *byte++ = 0;
}

//  Wipes and frees a secret; nullifies the pointer
static inline void
agent_secret_free (char **secret_p)
{
    if (*secret_p) {
        agent_wipe (*secret_p, strlen (*secret_p));
        free (*secret_p);
        *secret_p = NULL;
    }
}

static inline void
agent_secret_error (char *error, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (error, size, format, args);
    va_end (args);
}

//  Checks the text of a secret (its length in bytes is length). Returns
//  NULL or what is wrong with it (never quoting it).
static inline const char *
agent_secret_check (const char *text, size_t length)
{
    if (length < AGENT_SECRET_MIN)
        return "is shorter than 16 bytes";
    if (length > AGENT_SECRET_MAX)
        return "is longer than 1024 bytes";
    if (memchr (text, 0, length))
        return "contains a NUL byte";
    return NULL;
}

//  Reads a secret from path ("-" = standard input). Returns a new string
//  (free it with agent_secret_free), or NULL after writing one line saying
//  why (naming path, never the content) into error.
static inline char *
agent_secret_read (const char *path, char *error, size_t error_size)
{
    *error = 0;
    bool from_stdin = strcmp (path, "-") == 0;
    //  O_NONBLOCK: a FIFO must not hang us before the check refuses it
    int fd = from_stdin? 0: open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        agent_secret_error (error, error_size, "secret file %s: cannot open: %s",
                            path, strerror (errno));
        return NULL;
    }
    if (!from_stdin) {
        struct stat status;
        const char *problem = NULL;
        if (fstat (fd, &status))
            problem = strerror (errno);
        else
        if (!S_ISREG (status.st_mode))
            problem = "not a regular file";
        if (problem) {
            agent_secret_error (error, error_size, "secret file %s: %s", path, problem);
            close (fd);
            return NULL;
        }
        if (status.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
            agent_secret_error (error, error_size,
                "secret file %s: readable or writable by group or others "
                "(mode %03o), refused: run chmod 600 %s", path,
                (unsigned) (status.st_mode & 0777), path);
            close (fd);
            return NULL;
        }
    }
    //  Room for the longest secret, "\r\n", and one byte to tell "too long"
    size_t capacity = AGENT_SECRET_MAX + 3;
    char *buffer = (char *) calloc (1, capacity + 1);
    size_t length = 0;
    while (buffer && length < capacity) {
        ssize_t got = read (fd, buffer + length, capacity - length);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1) {
            agent_secret_error (error, error_size, "secret file %s: cannot read: %s",
                                path, strerror (errno));
            agent_wipe (buffer, capacity);
            free (buffer);
            buffer = NULL;
        }
        if (got <= 0)
            break;
        length += (size_t) got;
    }
    if (!from_stdin)
        close (fd);
    if (!buffer) {
        if (!*error)
            agent_secret_error (error, error_size, "out of memory");
        return NULL;
    }
    if (length && buffer [length - 1] == '\n')
        buffer [--length] = 0;
    if (length && buffer [length - 1] == '\r')
        buffer [--length] = 0;
    const char *problem = agent_secret_check (buffer, length);
    if (problem) {
        agent_secret_error (error, error_size, "secret in %s %s", path, problem);
        agent_wipe (buffer, capacity);
        free (buffer);
        return NULL;
    }
    return buffer;
}

#endif
