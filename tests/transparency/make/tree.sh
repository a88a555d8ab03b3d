# Sourced by the make cases: writes a small tree of N leaf sources grouped four ways, and its Makefile.
# Recipes use pipelines, subshells and command substitution; each appends its target to build.log.
gen_tree() {
  n=$1
  mkdir -p src
  i=1
  while [ "$i" -le "$n" ]; do
    printf 'leaf %02d\nvalue %d\n' "$i" $((i * i)) > "src/l$i.in"
    i=$((i + 1))
  done
  touch -d '2020-01-01 00:00:00' src/*.in
  {
    echo 'all: out/all.txt'
    echo 'obj out:'
    printf '\t@mkdir -p $@\n'
    echo 'obj/%.o: src/%.in | obj'
    printf '\t@echo $@ >> build.log\n'
    printf '\t@tr a-z A-Z < $< | sed "s/^/  /" > $@.tmp && mv $@.tmp $@\n'
    for g in 0 1 2 3; do
      printf 'out/g%s.txt:' "$g"
      i=1
      while [ "$i" -le "$n" ]; do
        [ $((i % 4)) -eq "$g" ] && printf ' obj/l%s.o' "$i"
        i=$((i + 1))
      done
      printf ' | out\n'
      printf '\t@echo $@ >> build.log\n'
      printf '\t@(echo "group %s: $(words $^) leaves"; cat $^ | sort) > $@\n' "$g"
    done
    echo 'out/all.txt: out/g0.txt out/g1.txt out/g2.txt out/g3.txt'
    printf '\t@echo $@ >> build.log\n'
    printf '\t@{ cat $^; echo "lines: $$(cat $^ | wc -l)"; echo "cksum: $$(cat $^ | cksum)"; } > $@\n'
    echo 'clean:'
    printf '\trm -rf obj out build.log\n'
  } > Makefile
}
