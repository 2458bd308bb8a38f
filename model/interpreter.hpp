// The command vocabulary shared by chronus-render and the live supervisor: the Interpreter
// turns OSC-style commands (/patch/*, /mod/<id>/<param>, /gate/<id>, /seq/...) into edits
// of the pending patch, commits, or frame-less Events for the caller to stamp. Runs on a
// control thread; never touches the audio thread.
#pragma once

#include "model/compile.hpp"
#include "model/event.hpp"
#include "model/patch.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chronus::model {

// An OSC argument as decoded: int, float or string.
using Arg = std::variant<std::int32_t, float, std::string>;

// What one command does.
struct Outcome {
    std::vector<Event> events;                  // frame 0: the caller stamps them
    std::shared_ptr<const CompiledPatch> commit; // set when the command commits a patch
    float crossfadeMs = 0.0f;
    std::vector<Arg> reply;                      // extra arguments for /done <address> ...
    std::string warning;                         // e.g. "value clamped to 20000"
};

class Interpreter {
public:
    // Starts with an empty live patch (generation 0) and an empty pending one.
    Interpreter();

    // Handles one command. Errors are one sentence for /fail. Unknown addresses fail with
    // "unknown address". Names resolve against the live patch; edits go to the pending one.
    Expected<Outcome> handle(std::string_view address, const std::vector<Arg> &args);

    // Replaces pending and live with a loaded patch and returns the commit (start-up).
    Expected<Outcome> load(const PatchSpec &spec);

    // True when `address args` only plays the live patch: a note (/note/, /note_off/,
    // /notes_off), or a MIDI message that plays notes, the pedal, bend, pressure, all notes or
    // all sound off, or nothing (/midi/in, unless /midi/learn waits for a controller). Such a
    // command reads nothing but the live patch and its MIDI binds and changes nothing here,
    // so it can be resolved against the patch live at its own frame, before a commit that
    // arrived ahead of it (ControlSurface: MIDI does not wait for a scene change on the bar).
    bool onlyPlays(std::string_view address, const std::vector<Arg> &args) const;
    // The interpreter as it was just before the latest commit (its live patch, MIDI binds and
    // maps; no pending edits), to resolve commands that only play at frames before that
    // commit; null before the first commit. Each commit makes a new one.
    std::shared_ptr<Interpreter> beforeLastCommit() const noexcept { return before_; }

    const CompiledPatch &live() const noexcept { return *live_; }
    std::shared_ptr<const CompiledPatch> liveShared() const noexcept { return live_; }
    const PatchSpec &pending() const noexcept { return pending_; }
    // The live patch as JSON, with current parameter values (/patch/dump, NSM save).
    std::string liveJson(int indent = 2) const { return liveSpec_.toJson(indent); }
    bool pendingDirty() const noexcept { return dirty_; }
    // The shared clock as the live patch holds it.
    double tempoBpm() const noexcept { return liveSpec_.tempo; }
    int meterBeats() const noexcept { return liveSpec_.meterBeats; }
    int meterUnit() const noexcept { return liveSpec_.meterUnit; }
    std::uint32_t generation() const noexcept { return live_->generation; }
    // The live patch's stems (node ids, in port order).
    const std::vector<std::string> &liveStems() const noexcept { return liveSpec_.stems; }
    // Most stems /stem may add (the supervisor's --stems); default model::kMaxStems.
    void setStemLimit(std::size_t limit) noexcept { stemLimit_ = std::min(limit, kMaxStems); }

private:
    // One address family: `rest` is what follows the route's prefix (empty for an exact
    // route). The table of routes is in handle().
    using Handler = Expected<Outcome> (Interpreter::*)(std::string_view rest, const std::vector<Arg> &args);

    Expected<Outcome> mod(std::string_view rest, const std::vector<Arg> &args);
    Expected<Outcome> gate(std::string_view rest, const std::vector<Arg> &args);
    Expected<Outcome> seq(std::string_view verb, const std::vector<Arg> &args);
    Expected<Outcome> create(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> connect(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> disconnect(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> deleteNode(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> clear(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> abortEdits(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> commitPending(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> loadPatch(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> dump(std::string_view, const std::vector<Arg> &args);

    // Playing (model/play.cpp): notes into polys, panic, MIDI in, binds and controller maps.
    Expected<Outcome> note(std::string_view poly, const std::vector<Arg> &args);
    Expected<Outcome> noteOff(std::string_view poly, const std::vector<Arg> &args);
    Expected<Outcome> notesOff(std::string_view poly, const std::vector<Arg> &args);
    Expected<Outcome> panic(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> midi(std::string_view verb, const std::vector<Arg> &args);
    Expected<Outcome> midiIn(const std::vector<Arg> &args);
    Expected<Outcome> midiBind(const std::vector<Arg> &args);
    Expected<Outcome> midiMap(const std::vector<Arg> &args);
    Expected<Outcome> midiUnmap(const std::vector<Arg> &args);
    Expected<Outcome> midiControl(int channel, int cc, int value);
    // The live poly named `id` (its index), or an error naming what it is instead.
    Expected<std::uint32_t> livePoly(std::string_view id) const;
    // Polys that listen to MIDI channel `channel` (1..16).
    std::vector<std::uint32_t> polysOnChannel(int channel) const;
    // An event of `type` for every poly in `polys`.
    Outcome polyEvents(const std::vector<std::uint32_t> &polys, EventType type, float value = 0.0f,
                       float value2 = 0.0f) const;
    // Sets parameter `param` ("node.param") of poly `polyId`'s template in every voice.
    Expected<Outcome> voiceParam(std::string_view polyId, std::string_view param, const std::vector<Arg> &args,
                                 std::size_t firstArg);
    // Buffers (model/play.cpp): /buffer/load <name> <file> [hash], /buffer/free, /buffer/list.
    Expected<Outcome> buffer(std::string_view verb, const std::vector<Arg> &args);
    // Commits `candidate` (the live patch with a change that needs a build, such as a new
    // buffer) at once, keeping the pending edits pending.
    Expected<Outcome> commitLive(PatchSpec candidate);
    // The shared clock (model/play.cpp): /tempo, /meter, /transport start|stop|locate.
    Expected<Outcome> tempo(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> meter(std::string_view, const std::vector<Arg> &args);
    Expected<Outcome> transport(std::string_view, const std::vector<Arg> &args);
    // /stem <node> <1|0>: the node's output on ports of its own, or no more (model/play.cpp).
    Expected<Outcome> stem(std::string_view, const std::vector<Arg> &args);
    // /meter/tap <node> [1|0]: meters measure the node too; it becomes a stem (/stem).
    Expected<Outcome> meterTap(std::string_view, const std::vector<Arg> &args);
    // Live sequencers that play at the shared tempo (their patch gives no bpm).
    std::vector<std::uint32_t> followingSequencers() const;
    // Replaces the MIDI binds and maps of both the live and the pending patch.
    void setMidi(std::vector<PatchSpec::MidiBind> binds, std::vector<PatchSpec::MidiMap> maps);

    // Adds (connect) or removes a connection in the pending patch.
    Expected<Outcome> editConnection(bool connect, const std::vector<Arg> &args);
    // Compiles pending as the next generation and makes it live.
    Expected<Outcome> commit(float crossfadeMs);
    // Sets a live node's parameter (an event) or a pending-only node's (an edit).
    Expected<Outcome> setParam(std::string_view nodeId, std::string_view param, const std::vector<Arg> &args,
                               std::size_t firstArg);
    // Makes `candidate` the pending patch if it compiles.
    Expected<Outcome> edit(PatchSpec candidate, std::vector<Arg> reply = {});
    // Keeps a player of the live patch as beforeLastCommit(); call just before a commit
    // replaces it.
    void keepBeforeCommit();

    std::shared_ptr<const CompiledPatch> live_;
    PatchSpec liveSpec_; // live patch with parameter values as last set
    PatchSpec pending_;
    bool dirty_ = false;
    std::size_t stemLimit_ = kMaxStems;
    std::string learning_; // /midi/learn: the next controller moved maps to this "node.param"
    std::shared_ptr<Interpreter> before_; // see beforeLastCommit()
};

// Renders an argument as text (for errors and scripts).
std::string argText(const Arg &arg);
// Whether an argument is a number (int or float), and its value.
inline bool isNumber(const Arg &a) { return !std::holds_alternative<std::string>(a); }
inline double toNumber(const Arg &a)
{
    if (const auto *i = std::get_if<std::int32_t>(&a))
        return *i;
    return std::get<float>(a);
}

// Crossfade length in frames for a commit; the renderer and the live suite must agree.
std::uint32_t crossfadeFrames(float crossfadeMs, double sampleRate);

// Crossfade used by /patch/commit and /patch/load when none is given.
inline constexpr float kDefaultCrossfadeMs = 10.0f;

} // namespace chronus::model
