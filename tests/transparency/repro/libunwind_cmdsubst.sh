# Reduced from the transparency suite's dash exec_redirections case (observe, every configuration
# with a stack): libunwind's memory-validation pipe closes the program's own pipe.
#   LD_PRELOAD=build/libforkguard.so FORKGUARD_FORMAT=json FORKGUARD_LOG=/tmp/fg.%p.jsonl dash THIS
# Without the library: "[hello]". With it (5 of 5 runs here): "[]" and "echo: I/O error".
# strace shows, in dash, after its pipe2([3, 4]) for the substitution: read(4) = EBADF (libunwind
# reads its old read end, now the program's write end), close(4), pipe2([4, 5]) (its new pipe),
# and the child's dup2(4, 1) then makes a pipe's read end the child's stdout.
exec 3>f; /bin/true; exec 3>&- 4>&-   # the first stack puts libunwind's pipe at 4 and 5; the script closes 4
echo "[$(echo hello)]"
