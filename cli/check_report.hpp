/// @file check_report.hpp
/// @brief What `forkguard check` found about one process, and its two renderings (text, JSON).
#pragma once

#include <sys/types.h>

#include <string>

#include "forkguard/advice.hpp"
#include "forkguard/picture.hpp"

namespace forkguard::cli {

struct CheckReport {
  pid_t pid = 0;
  std::string exe;          ///< readlink of /proc/PID/exe; empty when unreadable
  int exe_errno = 0;        ///< why exe is empty
  std::string comm;         ///< /proc/PID/comm, the name when exe is unreadable
  Picture pic;
  int64_t estimate_kb = -1; ///< VmData + VmStk, shown next to the exact charge
  int smaps_errno = 0;      ///< why /proc/PID/smaps could not be read (0 = it was)
  std::string error;        ///< set when there is no picture to show (bad pid, no process, ...)
  int64_t slim_min_kb = 0;  ///< FORKGUARD_SLIM_MIN where check runs: the slim fork's smallest exclusion
  Advice advice;            ///< what would make a fork fit (advice.hpp); valid when have_advice
  bool have_advice = false;

  /// The verdict can be trusted: exact charge, or mode 1 where the charge does not matter.
  bool exact() const;
  /// 0 = a fork would be allowed, 1 = refused, 2 = error or cannot tell.
  int exit_status() const;
};

void print_check_text(const CheckReport& r);
/// One JSON object on stdout, with the record's key names where they apply.
void print_check_json(const CheckReport& r);

}  // namespace forkguard::cli
