// Offline rendering of a patch plus a timed command script: the engine driven by the
// same Interpreter the live supervisor uses, so the result is bit-identical to the live
// output for the same journal.
//
// Rendering is two steps. Renderer::prepare() loads the patch and runs every script
// command through the Interpreter in frame order (a dry run that makes no audio), so a
// mistake anywhere in the script, even past the end, is reported before anything is
// written. Renderer::run() then plays the prepared outcomes into the engine.
#pragma once

#include "synth-worker/engine/engine.hpp"
#include "model/script.hpp"

#include <functional>
#include <optional>
#include <string>

namespace chronus::render {

struct RenderConfig {
    std::optional<model::PatchSpec> patch;
    std::vector<model::ScriptCommand> script; // sorted by frame, as parseScript() returns it
    std::uint64_t frames = 0;
    double sampleRate = 48000.0;
    std::uint32_t blockSize = 256;
    std::uint32_t channels = 2; // 1: the mix (L + R) / 2; past 2: silent
    // The patch's input (--input, or the input a journal recorded): `inputChannels` channels
    // that `input` fills for `frames` frames from engine frame `frame` (silence where it has
    // none). No input: input nodes are silent.
    std::uint32_t inputChannels = 0;
    std::function<void(std::uint64_t frame, std::uint32_t frames, float *const *channels)> input;
    // Names that locate diagnostics ("demo.json", "demo.txt:7").
    std::string patchName = "patch";
    std::string scriptName = "script";
};

// Receives each rendered block: `channels` planar buffers of `frames` samples.
using BlockSink = std::function<Expected<void>(const float *const *channels, std::uint32_t frames)>;
// Called after each block with frames done so far.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;
// Receives one located warning: "demo.txt:7: warning: value clamped to 20000 (...)".
using Warn = std::function<void(const std::string &warning)>;

class Renderer {
public:
    // Checks the patch and every script command (warnings go to `warn`, in frame order).
    // Errors are located like a compiler's: "demo.json: error: node 'f1': ...",
    // "demo.txt:7: error: /mod/f1/cutof: ...". Not RT-related; allocates freely.
    static Expected<Renderer> prepare(const RenderConfig &options, const Warn &warn = {});

    // Renders options.frames frames into `sink`. Fails only if the sink does (or a graph
    // cannot be built, which prepare() has already ruled out for valid patches).
    Expected<void> run(const BlockSink &sink, const Progress &progress = {}) const;

private:
    // One script command's outcome, at the frame it takes effect.
    struct Step {
        std::uint64_t frame;
        int line;
        std::string address;
        model::Outcome outcome;
    };
    Renderer() = default;
    std::string where(const Step &step) const;

    RenderConfig options_;
    std::shared_ptr<const model::CompiledPatch> initial_; // from --patch, live at frame 0
    std::vector<Step> steps_;                              // frame order; only those before the end
    std::size_t eventCapacity_ = 0;                        // most events due at one frame, and then some
};

} // namespace chronus::render
