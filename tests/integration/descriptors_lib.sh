# @file descriptors_lib.sh
# @brief The four configurations the descriptor tests run in (issue #10 section 1), sourced by
# descriptors_table.sh, descriptors_closefrom.sh and scripts/soak-descriptors.sh.
#   observe  observe mode, stack on (FORKGUARD_STACK=16), JSON records to a file
#   learning the same with FORKGUARD_PROFILE: sampled fork children are watched (userfaultfd)
#   slim     mitigate, FORKGUARD_TRIGGER=always, FORKGUARD_SLIM_MIN=16M: every fork is a slim fork
#            that leaves the program's large mapping out of the child
#   vfork    mitigate, FORKGUARD_TRIGGER=always, FORKGUARD_VFORK_SITES=all, FORKGUARD_SLIM_MIN so
#            large nothing qualifies: every fork() is the vfork substitute
# fg_descriptor_settings MODE DIR: sets FG_SETTINGS (VAR=VALUE words) for MODE, records under DIR.

fg_descriptor_settings() {
  local mode=$1 dir=$2
  FG_SETTINGS=(FORKGUARD_FORMAT=json "FORKGUARD_LOG=$dir/rec.jsonl")
  case $mode in
    observe) FG_SETTINGS+=(FORKGUARD_STACK=16) ;;
    learning) FG_SETTINGS+=(FORKGUARD_STACK=16 "FORKGUARD_PROFILE=$dir/profile") ;;
    slim) FG_SETTINGS+=(FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_SLIM_MIN=16M) ;;
    vfork) FG_SETTINGS+=(FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=all
      FORKGUARD_SLIM_MIN=1024G) ;;
    *) echo "unknown mode $mode" >&2; return 1 ;;
  esac
}
