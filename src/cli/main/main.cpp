#include "cli/cli.h"

int main(int argc, char** argv) { return jlis::cli::run(argc, argv); }
