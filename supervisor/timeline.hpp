// Frame-stamped commands: when a command takes effect, delivery of the stamped record to
// every slot on the timeline, the recent history a resyncing worker replays, and the
// --journal file that chronus-render --script turns back into the same audio
// (ARCHITECTURE.md decisions 3, 5, 6 and "Clocks and timing"). Control thread only.
//
// A commit goes live in two steps: its patch is sent to every slot on the timeline to be
// built (prepared), and once every one of them has built it (tick()) it is stamped with the
// first safe frame and activated there by an Activate event; commands that arrive meanwhile
// wait and are stamped after it, in order. So a slow build delays the commit by its own
// length, never past a frame a worker could miss, and a commit is live about L + 2 periods
// after its patch is built. Commands that only play (notes, MIDI) do not wait: resolved
// against the patch live at their own frame, they are stamped there at once if that comes
// before the commit (stampBefore()); the journal then holds a line out of frame order, and
// chronus-render --script sorts its lines by frame, which resolves it against the same patch.
#pragma once

#include "model/interpreter.hpp"
#include "supervisor/output_stage.hpp"
#include "common/shm_layout.hpp"

#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace chronus::supervisor {

// How Timeline::apply() is asked.
struct ApplyOptions {
    bool track = false;      // keep the frame for takeFrame() (the caller must take it)
    bool freshStart = false; // the journal first commits an empty patch, as the workers that
                             // start empty after losing both did; the workers take the patch
                             // without keeping any node's state (they may have begun another
                             // fresh start meanwhile)
    // freshStart: the output frame from which the workers that were lost played nothing of the
    // live patch (declared in the journal as silence up to the re-commit).
    std::uint64_t silentFrom = UINT64_MAX;
};

class Timeline {
public:
    Timeline(OutputStage &output, shm::Segment &segment);

    // Opens the journal (header comments with origin, rate, block size). Fails if the
    // file cannot be written.
    Expected<void> openJournal(const std::string &path);

    // The first frame that no worker can have rendered or be rendering yet: L + 2 periods
    // after the output's cycle, and kDrainMarginBlocks blocks after the block any attached
    // worker is taking events for (SlotStatus::drainFrame).
    std::uint64_t safeFrame() const noexcept;
    // Frame for a command with an optional NTP timetag: the tag's frame if it is still
    // ahead of safeFrame(), else safeFrame() (a late bundle, counted). Never before the
    // latest commit (unless `afterCommits` is false: a command that only plays, see
    // stampBefore()), so commands keep their order relative to commits.
    std::uint64_t frameFor(std::optional<std::uint64_t> ntpTimetag, bool afterCommits = true);
    // Names one apply() or barrier() until its frame is known; 0 names nothing.
    using Ticket = std::uint64_t;

    // Carries out an interpreter outcome at `frame` or later: events are stamped, recorded
    // for replay and journalled as `address args` at once, unless a commit is being prepared
    // (then they wait behind it); a commit is sent to be prepared (see above). Returns the
    // ticket to learn its frame by (0 unless tracked).
    Ticket apply(const model::Outcome &outcome, std::uint64_t frame, std::string_view address,
                 const std::vector<model::Arg> &args, ApplyOptions options = {});
    // The generation of the patch that plays at the first safe frame at or after `frame`,
    // when a later commit is stamped (or asked) for a frame after that; nullopt when the
    // newest patch plays there (or will: a commit asked for that frame or earlier).
    std::optional<std::uint32_t> generationBefore(std::uint64_t frame) const;
    // Stamps events resolved against patch `generation` (a command that only plays, such as
    // MIDI) at `frame`, or the first safe frame after it, at once: not behind a commit that
    // is being prepared or waits for its bar, and before the commits that follow that patch.
    // False, stamping nothing, when that frame is no longer before the next commit.
    bool stampBefore(const model::Outcome &outcome, std::uint32_t generation, std::uint64_t frame,
                     std::string_view address, const std::vector<model::Arg> &args);
    // A tracked ticket stamped after everything applied before it, at the latest frame
    // stamped then (/sync).
    Ticket barrier();
    // The frame a ticket's command took effect at, once stamped; forgets the ticket.
    std::optional<std::uint64_t> takeFrame(Ticket ticket);
    // Activates a prepared commit once every slot on the timeline has built it, then stamps
    // what waited behind it. Call from the control loop (cheap when idle).
    void tick();
    // True while a commit waits for slots to build it.
    bool preparing() const noexcept { return pending_.has_value(); }
    // True once a slot did not build a commit's patch within the limit: it must be replaced.
    bool prepareOverdue(std::uint32_t slot) const noexcept { return overdue_[slot]; }

    // Slots on the timeline receive every record; others receive nothing.
    void attach(std::uint32_t slot) noexcept { attached_[slot] = true; }
    void detach(std::uint32_t slot) noexcept
    {
        attached_[slot] = false;
        overflowed_[slot] = false;
        overdue_[slot] = false;
    }
    bool attached(std::uint32_t slot) const noexcept { return attached_[slot]; }
    // Pushes every recorded command stamped at or after `frame` into the slot's rings.
    bool replay(std::uint32_t slot, std::uint64_t frame);
    // True once a push to this slot failed (ring full): it must be resynced.
    bool overflowed(std::uint32_t slot) const noexcept { return overflowed_[slot]; }
    // Empties a dead slot's rings (no consumer may be running).
    void resetRings(std::uint32_t slot);

    // Writes "# <text>" into the journal (facts about the output a replay cannot know).
    void journalNote(const std::string &text);

    // Drops history older than any snapshot a resync could start from.
    void prune();

    std::uint64_t lastStampedFrame() const noexcept { return lastStamped_; }
    std::uint64_t lastCommitFrame() const noexcept { return lastCommit_; }
    std::uint64_t lateCommands() const noexcept { return late_; }
    // Commands a worker may have taken after their frame (it had moved on by more than the
    // margin between stamping and pushing); each such miss is the worker's to report.
    std::uint64_t commandsAtRisk() const noexcept { return atRisk_; }
    // Events stamped ahead of safeFrame() (future bundles) that the output has not played
    // yet, as of the last prune(). The workers hold a bounded number of pending events.
    std::size_t scheduledAhead() const noexcept { return ahead_.size(); }
    std::uint64_t commandsStamped() const noexcept { return stamped_; }

private:
    struct Entry {
        shm::CommandRecord record;
        std::shared_ptr<const std::string> text; // commits
    };
    // An apply() or barrier() not stamped yet.
    struct Request {
        model::Outcome outcome;
        std::uint64_t frame = 0;
        std::string address; // empty: a barrier
        std::vector<model::Arg> args;
        Ticket ticket = 0;
        bool freshStart = false;
        std::uint64_t silentFrom = UINT64_MAX;
        bool beforeCommit = false; // stamped before the latest commit (stampBefore())
    };
    // A commit whose patch the slots are building.
    struct Preparing {
        Request request;
        std::uint32_t generation = 0;
        std::chrono::steady_clock::time_point since;
    };
    // How long a slot may take to build a commit's patch before it is replaced.
    static constexpr auto kPrepareTimeout = std::chrono::seconds(2);
    // Blocks between a worker's drain frame and the earliest frame stamped now: the worker may
    // move on this far while a command is being stamped and pushed.
    static constexpr std::uint64_t kDrainMarginBlocks = 2;

    bool deliver(std::uint32_t slot, const Entry &entry);
    // Delivers to every slot on the timeline and keeps the entry for replay.
    void send(Entry entry);
    // Stamps events (or resolves a barrier) now, or sends a commit to be prepared.
    void carryOut(Request request);
    void stampEvents(const Request &request);
    void prepare(Request request);
    // Every slot on the timeline has built the commit being prepared (or none is attached).
    bool prepared() const noexcept;
    // Stamps and activates the prepared commit.
    void activate();
    void resolve(Ticket ticket, std::uint64_t frame);
    // Journals, at `frame`, an empty patch committed without crossfade: what a replay needs
    // before the live patch is re-committed to workers that started empty (both were lost).
    void journalFreshStart(std::uint64_t frame);
    // After pushing a record stamped at `frame`: counts it at risk if an attached worker may
    // already have taken events for that frame's block.
    void checkDelivered(std::uint64_t frame) noexcept;
    void journal(std::uint64_t frame, std::string_view address, const std::vector<model::Arg> &args);

    OutputStage &output_;
    shm::Segment &segment_;
    std::uint32_t period_;
    double rate_;
    bool attached_[shm::kSlots] = {false, false};
    bool overflowed_[shm::kSlots] = {false, false};
    bool overdue_[shm::kSlots] = {false, false};
    std::optional<Preparing> pending_;
    std::deque<Request> waiting_; // behind the commit being prepared, in arrival order
    // Generation -> the frame a commit took effect at or, not stamped yet, the earliest it
    // can (the frame asked for, after the commit before it); recent ones only (prune()).
    std::map<std::uint32_t, std::uint64_t> commitFrames_;
    std::uint32_t firstPlayable_ = 0; // commits before this generation are not kept there (a fresh start)
    Ticket nextTicket_ = 0;
    std::unordered_map<Ticket, std::uint64_t> stampedTickets_;
    std::deque<Entry> history_;
    std::priority_queue<std::uint64_t, std::vector<std::uint64_t>, std::greater<>> ahead_;
    unsigned sweepCountdown_ = 0;
    std::ofstream journal_;
    std::uint64_t lastStamped_ = 0;
    std::uint64_t lastCommit_ = 0;
    std::uint64_t late_ = 0;
    std::uint64_t atRisk_ = 0;
    std::uint64_t stamped_ = 0;
    std::optional<std::uint64_t> lastTimetag_;
    std::uint64_t lastTimetagFrame_ = 0;
};

// NTP 32.32 timetag -> microseconds on JACK's clock (jack_get_time()).
std::uint64_t ntpToJackUsecs(std::uint64_t ntp);

} // namespace chronus::supervisor
