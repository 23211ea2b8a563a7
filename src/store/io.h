/*
 * io.h -- the only way store/ reaches the disk.
 *
 * Like SQLite's VFS, every system call that touches volume files goes through a table of function
 * pointers, so tests can swap in one that fails the Nth call (EIO, ENOSPC, short writes) or that
 * holds writes until sync and drops or scrambles them on a simulated power loss.  io_posix is the
 * real one.  The functions have the POSIX contracts of the calls they are named after (return -1
 * and set errno on failure).
 */
#ifndef COBALT_STORE_IO_H
#define COBALT_STORE_IO_H

#include <sys/types.h>

struct io_ops {
    int (*open)(const char *path, int flags, mode_t mode);
    int (*close)(int fd);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
    ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
    int (*fdatasync)(int fd);
    int (*fsync)(int fd);
    off_t (*size)(int fd); /* file size, or -1 */
    int (*mkdir)(const char *path, mode_t mode);
    int (*unlink)(const char *path);
};

extern const struct io_ops io_posix;

/* pwrite/pread of exactly n bytes, retrying short transfers and EINTR.  0, or an errno value
 * (EIO for a read past the end of the file). */
int io_pwrite_full(const struct io_ops *io, int fd, const void *buf, size_t n, off_t off);
int io_pread_full(const struct io_ops *io, int fd, void *buf, size_t n, off_t off);
/* fsyncs the directory `path` (after creating or renaming a file in it).  0 or errno. */
int io_sync_dir(const struct io_ops *io, const char *path);

#endif
