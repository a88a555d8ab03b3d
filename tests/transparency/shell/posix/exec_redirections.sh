# exec redirections: the shell's own descriptors opened, reused, moved and closed between forks,
# and what the children inherit (the program's descriptors are never the library's to touch).
exec 3>out3.txt
echo "line 1" >&3
/bin/true
echo "line 2" >&3
exec 3>&-
cat out3.txt
exec 4<out3.txt
read -r first <&4; echo "read from 4: $first"
/bin/true
read -r second <&4; echo "read from 4 again: $second"
exec 4<&-
exec 5>out5.txt; sh -c 'echo "child wrote to inherited 5" >&5'; exec 5>&-; cat out5.txt
exec 6>out6.txt; exec 6>&-; sh -c 'if [ -e /proc/self/fd/6 ]; then echo "6 open in child"; else echo "6 closed in child"; fi'
echo "descriptors of ls: $(ls /proc/self/fd | sort -n | tr '\n' ' ')"
exec 7>&1; exec >redir.txt; echo "to a file via exec"; /bin/echo "external to a file"; exec 1>&7 7>&-; cat redir.txt
exec 8>&2 2>err.txt; ls /nonexistent-forkguard-transparency; exec 2>&8 8>&-; echo "stderr file: $(cat err.txt)"
/bin/true
exec 3>a.txt 4>b.txt 5>c.txt 6>d.txt
for i in 1 2 3; do echo "a$i" >&3; echo "b$i" >&4; echo "c$i" >&5; echo "d$i" >&6; /bin/true; sh -c 'true'; done
exec 3>&- 4>&- 5>&- 6>&-
cat a.txt b.txt c.txt d.txt
exec 3<a.txt
while read -r l <&3; do /bin/echo "from 3: $l"; done
exec 3<&-
exec 9>nine.txt; (echo "subshell writes 9" >&9); /bin/sh -c 'echo "sh writes 9" >&9'; exec 9>&-; cat nine.txt
