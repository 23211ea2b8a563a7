# scripts/ceph/lib.sh -- sourced by stop.sh and restart-osd.sh: when a daemon PID has really gone.
#
# gone PID: the process has fully exited.  The daemons are re-parented when their starter exits
# and may stay zombies until PID 1 reaps them, so `kill -0` is not enough; and the thread-group
# leader turns zombie (state Z) *before* the other threads have finished exiting and released the
# pidfile/fsid locks, so also require Threads == 1.
gone() {
    local st th
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -n "$st" ] || return 0
    th=$(awk '/^Threads:/{print $2}' "/proc/$1/status" 2>/dev/null) || return 0
    [ "$st" = Z ] && [ "${th:-1}" -le 1 ]
}
alive() { ! gone "$1"; }
# is_ours PID: it still runs a ceph daemon (guards against PID reuse).
is_ours() {
    [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q '^\(/usr/bin/\)\?ceph-\(mon\|osd\) '
}
