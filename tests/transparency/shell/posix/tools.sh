# Programs that create children themselves: xargs, find -exec, env, nice, timeout, sh -c chains.
seq 1 100 | xargs -n 10 echo | wc -l
seq 1 8 | xargs -P 4 -n 1 sh -c 'echo "item $0"' | sort
mkdir -p d/e; for i in 1 2 3; do echo "file $i" > d/f$i.txt; echo "deep $i" > d/e/g$i.txt; done
find d -name '*.txt' -exec cat {} + | sort
find d -name '*.txt' -exec sh -c 'wc -l < "$1"' _ {} \; | sort | uniq -c | sed 's/^ *//'
env FOO=bar sh -c 'echo "env passed FOO=$FOO"'
env -i /bin/sh -c 'echo "a clean environment has PATH set: ${PATH:+yes}"'
nice -n 1 sh -c 'echo "under nice"'
timeout 10 sh -c 'echo "under timeout"'; echo "timeout status: $?"
( timeout 0.2 sleep 5 ); echo "timeout killed sleep: $?"
sh -c 'sh -c "sh -c \"echo three shells deep\""'
printf 'b\na\n' | sh -c 'sort | sh -c "cat"'
echo "stdbuf: $(stdbuf -oL echo line-buffered)"
