// Emergency cleanup that is safe to run from a signal handler: when the test process is
// interrupted (SIGINT, SIGTERM, SIGABRT, SIGSEGV, ...), every node it started is SIGKILLed and
// the private nftables table is deleted, so no process and no firewall rule outlives the run.
// Everything the handler needs is prepared in advance in fixed-size global arrays; the
// handler itself only calls kill(), fork(), execv() and waitpid(). (SIGKILL from a CTest
// timeout cannot be caught: the nodes then die through PR_SET_PDEATHSIG, and the next run
// deletes tables left behind by dead processes, see Firewall.)
#pragma once

#include <sys/types.h>

namespace chaos::emergency {

// Installs the handlers (idempotent).
void install();
// Registers / forgets a child pid to kill on emergency.
void add_pid(pid_t pid);
void remove_pid(pid_t pid);
// Sets the nftables table to delete on emergency ("" for none).
void set_table(const char* family_and_name);

}  // namespace chaos::emergency
