/* Linux system calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module does
   not define. Header-only: nothing to link beyond libc. */
#ifndef OWLPRUNE_CLINUX_SHIM_H
#define OWLPRUNE_CLINUX_SHIM_H
#if defined(__linux__)
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>

/* Starts writeback of a file's dirty pages without waiting for it (sync_file_range(2) with
   SYNC_FILE_RANGE_WRITE over the whole file). Returns 0 or -1 with errno set. */
static inline int owlprune_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}
#else
static inline int owlprune_start_writeback(int fd) { (void)fd; return 0; }
#endif
#endif
