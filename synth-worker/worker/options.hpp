// Command line of chronus-synth-worker (the shared conventions are in common/options.hpp).
#pragma once

#include "common/options.hpp"
#include "synth-worker/worker/worker.hpp"

namespace chronus::worker {

// Parses argv (and --config, and the environment) into the worker's settings. On --help or
// a usage error the text is printed and the result holds the exit status.
cli::Parsed<WorkerConfig> parseOptions(int argc, char **argv);

} // namespace chronus::worker
