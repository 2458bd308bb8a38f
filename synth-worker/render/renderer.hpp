// Offline rendering of a patch plus a timed command script: the engine driven by the
// same Controller the live supervisor uses, so the result is bit-identical to the live
// output for the same journal.
#pragma once

#include "engine.hpp"
#include "script.hpp"

#include <functional>
#include <optional>
#include <string>

namespace chronus::render {

struct RenderOptions {
    std::optional<engine::PatchSpec> patch;
    std::vector<engine::ScriptCommand> script;
    std::uint64_t frames = 0;
    double sampleRate = 48000.0;
    std::uint32_t blockSize = 256;
    std::uint32_t channels = 2;
};

// Receives each rendered block: `channels` planar buffers of `frames` samples.
using BlockSink = std::function<Expected<void>(const float *const *channels, std::uint32_t frames)>;
// Called after each block with frames done so far.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Renders; errors name the script line that failed.
Expected<void> render(const RenderOptions &options, const BlockSink &sink, const Progress &progress = {});

} // namespace chronus::render
