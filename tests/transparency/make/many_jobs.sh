# 300 tiny targets under make -j4 -Otarget: every one built, the synchronised output complete.
{
  echo 'T := $(addprefix t,$(shell seq 1 300))'
  echo 'all: $(T)'
  echo '$(T):'
  printf '\t@echo "building $@"; echo $@ > $@\n'
} > Makefile
make -j4 -Otarget > out.txt; echo "make -j4 -Otarget: $?"
echo "lines of output: $(wc -l < out.txt), distinct: $(sort -u out.txt | wc -l)"
echo "files: $(ls -d t[0-9]* | wc -l)"
sort out.txt | cksum
