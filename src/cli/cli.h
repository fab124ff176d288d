// The `jlis` command: parses the command line and runs one subcommand. Answers the exit status:
// 0 on success, 1 with "jlis: error: ..." on stderr when the command failed, CLI11's status for a
// usage error. `jlis --help` lists the commands.
#pragma once

namespace jlis::cli {

int run(int argc, char** argv);

}  // namespace jlis::cli
