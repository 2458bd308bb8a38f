// Command line of chronusctl (the shared conventions are in common/options.hpp): options
// first, then the command and its arguments.
#pragma once

#include "common/options.hpp"

#include <string>
#include <vector>

namespace chronus::ctl {

struct Options {
    std::string host = "127.0.0.1";
    int port = 5005;
    int recorderPort = 0; // 0: record commands go through the supervisor
    bool tcp = false;
    bool asJson = false;
    int timeoutMs = 3000;
    std::vector<std::string> words; // the command and its arguments; never empty
};

// Parses argv (and --config, and the environment). On --help, a usage error or no command
// at all (the help goes to stderr then) the text is printed and the result holds the exit
// status.
cli::Parsed<Options> parseOptions(int argc, char **argv);

} // namespace chronus::ctl
