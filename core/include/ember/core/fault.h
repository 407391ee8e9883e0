// Fault injection for the write paths: how tests make a disk fill up or a
// process die at an exact point, reproducibly.
//
// Note [Fault injection]
// The environment variable EMBER_FAULT holds one fault:
//
//   ACTION@POINT[:NAME]#N
//
//   ACTION  kill    SIGKILL this process (no handler, no cleanup: a crash)
//           enospc  fail as a full disk does: errno ENOSPC
//   POINT   write   inside the first write to a temporary file (half
//                   its bytes reach it first); a file counts once
//           fsync   before the temporary file is flushed to disk
//           rename  before it is renamed onto the target
//           renamed after the rename, before the directory is flushed
//                   (kill only: the new file is already in place)
//           append  inside an append to a log (half the row reaches it)
//   NAME    only files whose name contains NAME count (e.g. checkpoint)
//   N       act on the N-th arrival at that point (1 = the first)
//
// e.g. EMBER_FAULT=kill@rename:checkpoint#3 kills the process just before
// its third checkpoint would replace the second. Arrivals that do not match
// cost a string compare; with EMBER_FAULT unset, one load of a flag. A
// malformed value is a ValueError at the first write, naming the variable.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace ember::fault {

enum class Action { None, Kill, NoSpace };

// Counts an arrival at `point` for `file` and returns what to do now.
Action arrive(std::string_view point, const std::filesystem::path& file);

// Replaces EMBER_FAULT's fault ("" for none) and restarts the count: for
// tests. ValueError for a malformed spec.
void configure(const std::string& spec);

// SIGKILL to this process: does not return.
[[noreturn]] void kill_now();

}  // namespace ember::fault
