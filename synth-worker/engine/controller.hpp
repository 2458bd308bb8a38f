// The command vocabulary shared by chronus-render and the live supervisor: it turns
// OSC-style commands (/patch/*, /mod/<id>/<param>, /gate/<id>, /seq/...) into edits of
// the pending patch, commits, or frame-less Events for the caller to stamp. Runs on a
// control thread; never touches the audio thread.
#pragma once

#include "model/event.hpp"
#include "synth-worker/engine/graph.hpp"
#include "synth-worker/engine/patch.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace chronus::engine {

// An OSC argument as decoded: int, float or string.
using Arg = std::variant<std::int32_t, float, std::string>;

struct Outcome {
    std::vector<Event> events;                  // frame 0: the caller stamps them
    std::shared_ptr<const CompiledPatch> commit; // set when the command commits a patch
    float crossfadeMs = 0.0f;
    std::vector<Arg> reply;                      // extra arguments for /done <address> ...
    std::string warning;                         // e.g. "value clamped to 20000"
};

class Controller {
public:
    Controller();

    // Handles one command. Errors are one sentence for /fail. Unknown addresses fail with
    // "unknown address". Names resolve against the live patch; edits go to the pending one.
    Expected<Outcome> handle(std::string_view address, const std::vector<Arg> &args);

    // Replaces pending and live with a loaded patch and returns the commit (start-up).
    Expected<Outcome> load(const PatchSpec &spec);

    const CompiledPatch &live() const noexcept { return *live_; }
    std::shared_ptr<const CompiledPatch> liveShared() const noexcept { return live_; }
    const PatchSpec &pending() const noexcept { return pending_; }
    // The live patch as JSON, with current parameter values (/patch/dump, NSM save).
    std::string liveJson(int indent = 2) const { return liveSpec_.toJson(indent); }
    bool pendingDirty() const noexcept { return dirty_; }
    std::uint32_t generation() const noexcept { return live_->generation; }

private:
    Expected<Outcome> commit(float crossfadeMs);
    Expected<Outcome> setParam(std::string_view nodeId, std::string_view param, const std::vector<Arg> &args,
                               std::size_t firstArg);
    Expected<Outcome> seq(std::string_view verb, const std::vector<Arg> &args);

    Expected<Outcome> edit(PatchSpec candidate, std::vector<Arg> reply = {});

    std::shared_ptr<const CompiledPatch> live_;
    PatchSpec liveSpec_; // live patch with parameter values as last set
    PatchSpec pending_;
    bool dirty_ = false;
};

// Renders an argument as text (for errors and scripts).
std::string argText(const Arg &arg);

// Crossfade length in frames for a commit; the renderer and the live suite must agree.
std::uint32_t crossfadeFrames(float crossfadeMs, double sampleRate);

// Crossfade used by /patch/commit and /patch/load when none is given.
inline constexpr float kDefaultCrossfadeMs = 10.0f;

} // namespace chronus::engine
