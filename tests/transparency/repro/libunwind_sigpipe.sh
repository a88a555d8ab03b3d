# Reduced from the dash exec_redirections case: libunwind reads a byte of the program's file and
# writes one into a pipe nobody reads, which kills the program with SIGPIPE.
#   LD_PRELOAD=build/libforkguard.so FORKGUARD_FORMAT=json FORKGUARD_LOG=/tmp/fg.%p.jsonl dash THIS; echo $?
# Without the library: "descriptors: 0 1 2 3 4", status 0. With it: no output, status 141.
# strace: read(4, "l", 1) = 1 (the program's out3.txt, now at 4), write(5, "p", 1) = EPIPE, SIGPIPE.
exec 3>out3.txt; echo "line 1" >&3; /bin/true   # first stack: libunwind's pipe lands at 4 and 5
echo "line 2" >&3; exec 3>&-
exec 4<out3.txt                                   # the script's own fd 4 replaces libunwind's read end
echo "descriptors: $(ls /proc/self/fd | tr '\n' ' ')"
