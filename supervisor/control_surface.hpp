// The OSC control surface of chronus-supervisor (UDP and TCP on one port): validates and
// resolves every command on the control thread, stamps it onto the timeline and answers
// the sender with /done or /fail; /status, /modules, /ping, /sync, /notify, and /record/*
// forwarded to chronus-recorder. Control thread only.
#pragma once

#include "model/interpreter.hpp"
#include "model/transport.hpp"
#include "common/osc.hpp"
#include "supervisor/ears.hpp"
#include "supervisor/lookahead.hpp"
#include "supervisor/output_stage.hpp"
#include "supervisor/slot_manager.hpp"
#include "supervisor/timeline.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chronus::supervisor {

struct ControlSurfaceConfig {
    int recorderPort = 5006;
    std::string recorderHost = "127.0.0.1";
    std::string patchDir; // where /patch/save writes and /patch/load <name> looks
    double maxAheadSeconds = 60; // how far ahead a bundle's timetag may be
    std::string transport = "off"; // JACK transport: off, follow or lead
    std::size_t bufferMemoryBytes = std::size_t(1) << 30; // /buffer/load's cap on all buffers
};

// Events a client may have scheduled ahead (future bundles) and not yet played. Each waits
// in both workers' engines, and a resync replays them all, with the commands stamped since
// the snapshot, into the new worker's event ring: at most half of either leaves that room.
inline constexpr std::size_t kMaxScheduledAhead = 16384;
static_assert(kMaxScheduledAhead <= shm::kWorkerPendingEvents / 2, "the workers' engines hold what is scheduled ahead");
static_assert(kMaxScheduledAhead <= shm::Geometry{}.eventCapacity / 2,
              "a resync replays what is scheduled ahead into the event ring");

// $CHRONUS_PATCH_DIR, else $XDG_DATA_HOME/chronus/patches, else ~/.local/share/chronus/patches.
std::string defaultPatchDir();

class ControlSurface {
public:
    ControlSurface(model::Interpreter &interpreter, Timeline &timeline, SlotManager &slots, OutputStage &output,
                   shm::Segment &segment, ControlSurfaceConfig config);
    ~ControlSurface();

    // What /status says of the lookahead (supervisor/lookahead.hpp); set before the first poll.
    void setLookahead(const AdaptiveLookahead *lookahead) { lookahead_ = lookahead; }
    // The server replies go through; set before the first poll.
    void setServer(osc::Server *server)
    {
        server_ = server;
        ears_.setServer(server);
    }
    // Handles one received message (the osc::Server handler).
    void handle(const osc::Message &msg);
    // Sends `/event <kind> <text>` to every /notify subscriber.
    void notify(const std::string &kind, const std::string &text);
    // Periodic work from the control loop: answers that waited for the output to reach
    // their frame (commits, /sync) or for the recorder, and relays what the recorder says on
    // its own (a take that ended by itself, a disk error) to the client that started the take.
    void tick();
    // Plays what arrived at the MIDI input port: each message as `/midi/in` at its frame plus
    // the fixed MIDI delay (journalled like any command). Call from the control loop.
    void playMidi();
    // Follows JACK transport (--transport follow: its tempo, meter, start and stop become
    // /tempo, /meter and /transport commands at a fixed distance from the cycle that saw
    // them) or leads it (--transport lead). Call from the control loop.
    void tickTransport();
    // The start-up patch (loaded without a command) took effect at `frame`: the shared
    // clock takes its tempo and meter.
    void patchLoaded(std::uint64_t frame) { followClock("/patch/load", {}, frame); }

    std::uint64_t commandsRejected() const { return rejected_; }

private:
    void reply(const osc::Message &msg, std::string_view address, std::vector<osc::Arg> args);
    void done(const osc::Message &msg, std::vector<osc::Arg> extra = {});
    void failWith(const osc::Message &msg, const std::string &reason);
    void status(const osc::Message &msg);
    void forwardToRecorder(const osc::Message &msg);
    void relayFromRecorder(const osc::Message &news);
    // An answer to a forwarded request (to its sender) or news (to the take's starter).
    void takeFromRecorder(const osc::Message &got);
    // The /fail reason when the recorder does not answer.
    std::string recorderSilence() const;
    struct Deferred {
        Timeline::Ticket ticket;
        std::uint64_t frame; // the command's frame once stamped, else kNoBlock
        osc::Peer to;        // the requester
        std::string request; // its address, for a /fail
        std::string address; // the answer
        std::vector<osc::Arg> args;
        std::string timeoutReason;
        std::int64_t commitGeneration; // >= 0: a commit (the answer gains its frame; subscribers hear it)
        std::chrono::steady_clock::time_point deadline;
    };
    // How long an answer may wait for its command to be stamped and played.
    static constexpr std::chrono::seconds kAnswerPatience{10};
    // Answers `address args` once the ticket's command has taken effect and the output has
    // played its frame (later, from tick(); nobody waits here), or /fail <request>
    // <timeoutReason> if it does not in time. A TCP requester that has hung up meanwhile
    // hears nothing. `commitGeneration` >= 0: the answer also gives the frame, and /notify
    // subscribers hear "commit_done <generation> <frame>".
    void answerWhenPlayed(const osc::Message &msg, Timeline::Ticket ticket, std::string_view address,
                          std::vector<osc::Arg> args, const std::string &timeoutReason,
                          std::int64_t commitGeneration = -1);
    // Whether a deferred answer can go out now (learns its frame from the timeline).
    bool ready(Deferred &d);
    void finishAnswer(Deferred &d);
    void answerDeferred();
    void command(const osc::Message &msg);
    void savePatch(const osc::Message &msg);
    // /buffer/load <name> <file>: checks the file (readable audio, within --buffer-memory),
    // makes its path absolute and adds its hash, so every engine loads the same samples.
    Expected<void> checkBuffer(std::vector<model::Arg> &args, bool remote = false);
    // `file` (relative names from the patch directory) if it lies in the patch directory,
    // else an error naming `what`: what another machine may read.
    Expected<std::string> inPatchDir(const std::string &file, const std::string &what) const;
    // /patch/load of a patch with buffers: each is checked and hashed the same way, and the
    // patch goes on as JSON text naming every buffer's absolute path and hash.
    Expected<void> checkPatchBuffers(std::vector<model::Arg> &args, bool remote = false);
    // /quantize bar|beat|off: the default for commands that can wait for the grid.
    void setQuantize(const osc::Message &msg);
    // The frame a command takes effect at: its timetag's (or the first safe one), moved to
    // the next beat or bar when it is quantised ("/bar/<address>", "/beat/<address>" or
    // /quantize). `address` loses its /bar or /beat prefix.
    // A command that only plays (model::Interpreter::onlyPlays) is not held behind commits.
    std::uint64_t frameOf(const osc::Message &msg, std::string &address, const std::vector<model::Arg> &args);
    // Resolves a command that only plays against the patch live at `frame` and stamps it
    // there, when a commit that arrived before it takes effect after that frame (a scene
    // change waiting for its bar, or a patch being built); nullopt when the newest patch
    // plays there, or the command needs it (a note for a poly only the new patch has): then
    // it goes the usual way, after the commit.
    std::optional<model::Outcome> playBefore(const std::string &address, const std::vector<model::Arg> &args,
                                             std::uint64_t frame);
    // After a command that committed: keeps a player of the patch it replaced (and forgets
    // players of patches that can no longer play).
    void keepPlayer();
    // The extra arguments of a command's /done.
    static std::vector<osc::Arg> answerOf(const model::Outcome &outcome);
    // A command of our own (not from a client): interpreted, stamped at `frame`, journalled.
    void applyOwn(const std::string &address, const std::vector<model::Arg> &args, std::uint64_t frame);
    // Keeps the shared clock in step with a clock command that took effect at `frame`.
    void followClock(const std::string &address, const std::vector<model::Arg> &args, std::uint64_t frame);
    // Gives the live patch's stems their JACK ports (when they changed) and unregisters
    // ports no stem uses any more.
    void syncStems();

    model::Interpreter &interpreter_;
    Timeline &timeline_;
    SlotManager &slots_;
    OutputStage &output_;
    shm::Segment &segment_;
    std::vector<std::string> stemPorts_; // the stems whose ports are set up
    // When JACK last ran the audio thread (a NetJACK2 slave whose master is gone, a stopped
    // server): /status says "audio stalled" after kStallMs.
    std::uint64_t lastCycles_ = 0;
    std::chrono::steady_clock::time_point lastCycleAt_ = std::chrono::steady_clock::now();
    static constexpr int kStallMs = 500;
    ControlSurfaceConfig config_;
    osc::Server *server_ = nullptr;
    const AdaptiveLookahead *lookahead_ = nullptr;
    std::vector<std::string> subscribers_;
    std::unique_ptr<osc::Client> recorder_;
    osc::Peer recordStarter_; // the client whose /record/start we forwarded last
    // /record/* requests forwarded, waiting for the recorder's answer.
    struct Forwarded {
        std::string request; // its address
        osc::Peer to;        // the sender
        std::chrono::steady_clock::time_point deadline;
    };
    std::vector<Forwarded> forwarded_;
    static constexpr std::size_t kMaxForwarded = 256;
    std::chrono::steady_clock::time_point nextRecorderCheck_{};
    std::uint64_t rejected_ = 0;
    std::uint64_t midiLate_ = 0; // MIDI read too late for its frame (stamped at the first safe one)
    // Interpreters of patches that still play until a later commit, by generation (playBefore()).
    std::map<std::uint32_t, std::shared_ptr<model::Interpreter>> players_;
    static constexpr std::size_t kMaxPlayers = 16;
    std::uint64_t playedBefore_ = 0; // commands played on a patch a commit sent before them replaces later
    enum class Grid { Off, Beat, Bar };
    Grid quantize_ = Grid::Off;
    model::Transport transport_;
    Ears ears_;
    std::map<std::string, std::size_t> bufferBytes_; // loaded buffers by name
    bool jackRolling_ = false;   // as last followed
    // JACK's position as last read while rolling with bars and beats (kNoBlock: none), to tell
    // a relocation from time going by.
    std::uint64_t jackPosFrame_ = shm::kNoBlock;
    double jackPosBar_ = 1.0;
    bool leading_ = false;       // we are JACK's timebase master
    std::vector<Deferred> deferred_;
};

} // namespace chronus::supervisor
