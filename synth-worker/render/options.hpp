// Command line of chronus-render (the shared conventions are in common/options.hpp).
#pragma once

#include "common/options.hpp"

#include <string>

namespace chronus::render {

struct Options {
    std::string patchPath;      // "" for none
    std::string scriptPath;     // "" for none
    std::string outPath;
    std::string format = "wav"; // wav or flac
    std::string sampleFormat;   // float, 16, 24 or 32 (after parsing never empty)
    double durationSeconds = 0;
    double sampleRate = 48000;
    unsigned blockSize = 256;
    unsigned channels = 2;
    bool quiet = false;
    bool analyze = false;
    std::string inputPath;      // --input: the patch's input from frame 0 ("" : the journal's, if any)       // print a description of the output (its last 2 minutes) as JSON
    std::string listModules;    // "json" or "markdown": print the module catalogue so and exit
};

// Parses argv (and --config, and the environment). On --help or a usage error the text is
// printed and the result holds the exit status.
cli::Parsed<Options> parseOptions(int argc, char **argv);

} // namespace chronus::render
