// Command line of chronus-recorder.
#pragma once

#include "recorder/audio_file.hpp"
#include "common/expected.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::rec {

struct Options {
    int oscPort = 5006;
    std::string oscHost = "127.0.0.1";
    std::size_t channels = 2;
    bool channelsGiven = false;
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
    bool help = false;
};

// Parses argv. Errors are one sentence naming the bad option.
Expected<Options> parseOptions(int argc, char **argv);
// The --help text.
std::string usage();

} // namespace chronus::rec
