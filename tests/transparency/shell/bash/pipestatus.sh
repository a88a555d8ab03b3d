# PIPESTATUS, pipefail and lastpipe.
false | true | (exit 3); echo "PIPESTATUS: ${PIPESTATUS[*]}"
true | true; echo "PIPESTATUS: ${PIPESTATUS[*]}"
set -o pipefail; false | true; echo "pipefail: $?"; (exit 2) | (exit 5) | true; echo "pipefail: $?"; set +o pipefail
shopt -s lastpipe; echo "from the pipe" | read -r v; echo "lastpipe read: $v"; shopt -u lastpipe
echo "in a subshell" | read -r w; echo "without lastpipe: ${w-unset}"
yes | head -n 1 >/dev/null; echo "yes | head: ${PIPESTATUS[*]}"
