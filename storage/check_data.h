// The data checker behind `raftctl check-data DIR`: verifies every segment and snapshot of a
// node dir without changing anything, prints a summary (first/last index, terms, hard state,
// snapshot, sizes) and any damage precisely (file, byte offset, problem) to `out`; with
// dump=true it also prints every record of the log.
//
// Returns 0 if the data is clean (a torn tail at the end of the last segment, which the node
// cuts off when it starts, is reported as a warning and still counts as clean), 1 if it is
// damaged (the node would refuse to start; a damaged IDENTITY counts), 2 if DIR is not a node
// data dir (neither wal/ nor snap/ inside), 4 if a running node holds the folder's LOCK
// (refused: reading files that are being appended to proves nothing; nothing is read).
// The folder's identity record (identity.h) is printed first.
#pragma once

#include <ostream>
#include <string>

#include "storage/env.h"

namespace storage {

int check_data(const std::string& node_dir, bool dump, std::ostream& out, Env* env = nullptr);

}  // namespace storage
