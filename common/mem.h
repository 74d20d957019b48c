/*
 * Allocation that never returns NULL: running out of memory aborts with the
 * size that failed (the Redis policy), so callers carry no NULL checks.
 */
#ifndef AG_MEM_H
#define AG_MEM_H

#include <stddef.h>

/* Returns owned memory of n bytes (uninitialised). */
void *mem_alloc(size_t n);
/* Returns owned zeroed memory for n elements of size sz. */
void *mem_calloc(size_t n, size_t sz);
/* Resizes p (owned by the caller, may be NULL); returns the owned result. */
void *mem_realloc(void *p, size_t n);
/* Returns an owned copy of the NUL-terminated s. */
char *mem_strdup(const char *s);
/* Returns an owned NUL-terminated copy of the n bytes at s. */
char *mem_strndup(const char *s, size_t n);
/* Frees p; accepts NULL. */
void mem_free(void *p);

#endif
