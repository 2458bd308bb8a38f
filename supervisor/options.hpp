// Command line of chronus-supervisor (the shared conventions are in common/options.hpp).
#pragma once

#include "common/options.hpp"

#include <string>

namespace chronus::supervisor {

struct Options {
    std::string oscHost = "127.0.0.1";
    bool localOnly = true;            // from oscHost: serve local clients only
    int oscPort = 5005;               // 0: any free port
    std::string allow = "127.0.0.0/8"; // senders listened to (CIDR[,CIDR...])
    std::string instance = "default"; // shared-memory instance name
    bool instanceGiven = false;       // --instance was given: a session does not rename it
    unsigned lookahead = 2;           // periods the workers render ahead (auto: where it starts)
    std::string lookaheadSpec = "2";  // as given: 1..8 or auto
    bool lookaheadAuto = false;       // --lookahead auto: moved with the output's margin
    unsigned lookaheadMax = 4;        // auto: the most it grows to
    double lookaheadCalmSeconds = 30; // auto: margin wide enough this long, one period less
    unsigned channels = 2;
    unsigned inputs = 2;              // JACK input ports chronus:in_1..N (0: none)
    unsigned stems = 4;               // stems a patch may put on ports of their own (/stem)
    unsigned bufferMemoryMb = 1024;   // cap on the samples of all buffers (/buffer/load)
    int recorderPort = 5006;
    std::string journalPath;          // "" for none
    std::string patchPath;            // patch loaded at start ("" for none)
    std::string patchText;            // its contents, read while parsing
    std::string jackServer;
    std::string jackName = "chronus";
    std::string workerPath;           // resolved: never empty
    std::string patchDir;
    bool connect = true;              // connect out_* to the system playback ports
    unsigned nsmOpenSeconds = 30;
    double maxAheadSeconds = 60;
    std::string stateDir;             // where the live patch is kept (LiveState)
    bool fresh = false;               // start empty instead of with the kept patch
    std::string masterClock;          // --master-clock PORT: timetags through the master's cycles
    std::string transport = "off";    // JACK transport: off, follow (its tempo, meter, start/stop) or lead
};

// Parses argv (and --config, and the environment) and reads the --patch file. On --help or
// a usage error the text is printed and the result holds the exit status.
cli::Parsed<Options> parseOptions(int argc, char **argv);

} // namespace chronus::supervisor
