#!/bin/sh
# Run a program inside a Linux guest with its output captured to files.
#
# usage: run-captured.sh DIR PROGRAM [ARG...]
#
# vmrun's runProgramInGuest returns neither the program's output nor (reliably)
# its exit code, so this wrapper writes them where the host copies them back:
#   DIR/stdout, DIR/stderr   the program's output, as it is produced
#   DIR/exit-code            its exit status, written last and atomically
#                            (its presence means "finished")
# The wrapper exits with the program's status. POSIX sh only: no bashisms.

if [ "$#" -lt 2 ]; then
    echo "usage: run-captured.sh DIR PROGRAM [ARG...]" >&2
    exit 2
fi
dir=$1
shift
"$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null
code=$?
printf '%s\n' "$code" >"$dir/exit-code.tmp" && mv -f "$dir/exit-code.tmp" "$dir/exit-code"
exit "$code"
