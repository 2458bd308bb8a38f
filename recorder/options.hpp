// Command line of chronus-recorder (the shared conventions are in common/options.hpp).
#pragma once

#include "common/options.hpp"
#include "recorder/audio_file.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::rec {

struct Options {
    int oscPort = 5006;
    std::string oscHost = "127.0.0.1";
    std::string allow = "127.0.0.0/8"; // senders listened to (CIDR[,CIDR...])
    std::size_t channels = 2;
    std::vector<std::string> ports;   // sources; empty: chronus:out_*
    std::string dir = "recordings";
    FileFormat format;
    double ringSeconds = 8.0;
    double prerollSeconds = 0.0;
    double maxSeconds = 0.0;          // duration limit per take (0: none)
    std::uint64_t splitFrames = 0;
    std::uint64_t splitBytes = 0;
    std::string clientName = "chronus-recorder";
    std::string jackServer;
    std::string clock;                // timeline clock port (--clock); empty: JACK's frame time
};

// Parses argv (and --config, and the environment). On --help or a usage error the text is
// printed and the result holds the exit status; errors are one line naming the option.
cli::Parsed<Options> parseOptions(int argc, char **argv);

} // namespace chronus::rec
