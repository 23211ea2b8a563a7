/*
 * fsck.c -- `cobalt fsck [--repair] [--quiet] DATA_DIR`: the command line of the local engine's
 * check (engine/local_maint.h, local_fsck.c).
 */
#include "admin/admin.h"

#include <getopt.h>
#include <stdio.h>

#include "engine/local_maint.h"

int
fsck_main(int argc, char **argv)
{
    static const struct option opts[] = {{"repair", no_argument, NULL, 'r'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {NULL, 0, NULL, 0}};
    int c, repair = 0, quiet = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'r')
            repair = 1;
        else if (c == 'q')
            quiet = 1;
        else
            goto usage;
    }
    if (optind != argc - 1)
        goto usage;
    return local_fsck(argv[optind], repair, quiet);
usage:
    fprintf(stderr, "usage: cobalt fsck [--repair] [--quiet] DATA_DIR\n");
    return 2;
}
