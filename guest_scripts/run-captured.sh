#!/bin/sh
# Run a program inside a Linux guest with its output captured to files.
#
# usage: run-captured.sh DIR PROGRAM [ARG...]
#
# vmrun's runProgramInGuest returns neither the program's output nor (reliably)
# its exit code, so this wrapper writes them where the host copies them back:
#   DIR/stdout, DIR/stderr   the program's output, as it is produced
#   DIR/pid                  the program's process id (the host kills it when interrupted)
#   DIR/exit-code            its exit status, written last and atomically
#                            (its presence means "finished"); a second line
#                            "not-found" when PROGRAM does not exist in the guest
# The wrapper exits with the program's status. POSIX sh only: no bashisms.

if [ "$#" -lt 2 ]; then
    echo "usage: run-captured.sh DIR PROGRAM [ARG...]" >&2
    exit 2
fi
dir=$1
shift

finish() {
    printf '%s\n' "$@" >"$dir/exit-code.tmp" && mv -f "$dir/exit-code.tmp" "$dir/exit-code"
}

if ! command -v -- "$1" >/dev/null 2>&1; then
    : >"$dir/stdout"
    : >"$dir/stderr"
    finish 127 not-found
    exit 127
fi
# A child shell records its own pid, then becomes the program (exec keeps the pid):
# the program runs in the foreground exactly as before, and the host knows its pid.
/bin/sh -c 'echo "$$" >"$0/pid"; exec "$@"' "$dir" "$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null
code=$?
finish "$code"
exit "$code"
