/*
 * io.c -- the POSIX implementation of the I/O seam; see io.h.
 */
#include "store/io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int
posix_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags | O_CLOEXEC, mode);
}

static off_t
posix_size(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

const struct io_ops io_posix = {
    .open = posix_open,
    .close = close,
    .pwrite = pwrite,
    .pread = pread,
    .fdatasync = fdatasync,
    .fsync = fsync,
    .size = posix_size,
    .mkdir = mkdir,
    .unlink = unlink,
};

int
io_pwrite_full(const struct io_ops *io, int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    ssize_t w;

    while (n > 0) {
        w = io->pwrite(fd, p, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (w == 0)
            return ENOSPC;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

int
io_pread_full(const struct io_ops *io, int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    ssize_t r;

    while (n > 0) {
        r = io->pread(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (r == 0)
            return EIO;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

int
io_sync_dir(const struct io_ops *io, const char *path)
{
    int fd = io->open(path, O_RDONLY | O_DIRECTORY, 0), err = 0;

    if (fd < 0)
        return errno;
    if (io->fsync(fd) != 0)
        err = errno;
    io->close(fd);
    return err;
}
