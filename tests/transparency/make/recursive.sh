# Recursive make: four sub-makes under one jobserver (-j4), each building ten targets.
for d in a b c d; do
  mkdir -p "$d"
  {
    echo 'T := $(addprefix t,1 2 3 4 5 6 7 8 9 10)'
    echo 'all: $(T)'
    echo '$(T):'
    printf '\t@echo "$(notdir $(CURDIR))/$@ $$(echo $@ | tr t T)" > $@\n'
  } > "$d/Makefile"
done
{
  echo 'SUBDIRS := a b c d'
  echo 'all: $(SUBDIRS)'
  echo '	@cat $(addsuffix /t*,$(SUBDIRS)) | sort > all.txt'
  echo '$(SUBDIRS):'
  echo '	@$(MAKE) -s --no-print-directory -C $@'
  echo '.PHONY: all $(SUBDIRS)'
} > Makefile
make -j4 -s; echo "recursive make -j4: $?"
wc -l < all.txt
head -n 3 all.txt
tail -n 1 all.txt
