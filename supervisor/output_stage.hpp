// The supervisor's JACK client and audio thread: reads both slots' blocks for the current
// cycle, plays the active one and fails over to the standby inside the same cycle when
// the active block is missing, torn or holds NaN/Inf (ARCHITECTURE.md decision 4).
//
// The audio thread owns which slot is active; the control thread owns each slot's state
// (common/slot_state.hpp) and learns what happened through an SPSC queue of RtEvents. The
// audio thread never blocks, allocates, logs or makes syscalls.
#pragma once

#include "common/jack_time.hpp"
#include "common/jack_client.hpp"
#include "common/rt.hpp"
#include "common/shm_layout.hpp"
#include "common/spsc_queue.hpp"
#include "common/tap_ring.hpp"
#include "supervisor/failover.hpp"
#include "supervisor/input_hold.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chronus::supervisor {

struct OutputConfig {
    std::string clientName = "chronus";
    std::string jackServer;
    std::uint32_t channels = 2;
    std::uint32_t inputs = 0;        // in_1..N
    std::uint32_t stems = 0;         // stereo stems each block carries after the outputs
    std::uint32_t lookahead = 1;
    std::uint32_t verifyBlocks = 16; // K: matching blocks before a verifying slot is trusted
    // A master clock's port (chronus-clock on the NetJACK2 master, through this slave's
    // capture): timetags map through the master's cycle times. Empty: our own.
    std::string masterClock;
};

// Counters the audio thread keeps; read by the control thread for /status.
struct OutputCounters {
    std::atomic<std::uint64_t> failovers{0};
    std::atomic<std::uint64_t> lastFailoverFrame{shm::kNoBlock};
    std::atomic<std::uint64_t> divergences{0};
    std::atomic<std::uint64_t> gaps{0};          // cycles with no usable block
    std::atomic<std::uint64_t> unverifiedCycles{0}; // cycles played from a verifying or doubted slot
    std::atomic<std::uint64_t> eventsDropped{0};  // RtEvent queue full
    std::atomic<std::uint64_t> xruns{0};
    std::atomic<std::uint64_t> cycles{0};
    std::atomic<std::uint64_t> skippedFrames{0}; // JACK frame time jumped past a whole cycle
    // Cycles whose callback read another cycle's frame time (common/jack_time.hpp).
    std::atomic<std::uint64_t> misreadCycles{0};
    // Blocks never played because a cycle read the next one's time and played its block early.
    std::atomic<std::uint64_t> misplayedBlocks{0};
    // Input cycles copied while JACK began the next one (held a cycle, supervisor/input_hold.hpp),
    // and the frames of them published as silence (their copy held the next cycle's audio).
    std::atomic<std::uint64_t> inputTornCycles{0};
    std::atomic<std::uint64_t> inputDoubtfulFrames{0};
    // Input copies of a callback that read the next cycle's time early, put at their own cycle.
    std::atomic<std::uint64_t> inputMovedCycles{0};
    std::atomic<std::uint64_t> midiMessages{0}; // passed to the control thread
    std::atomic<std::uint64_t> midiIgnored{0};  // SysEx, real-time, stray data bytes
    std::atomic<std::uint64_t> midiDropped{0};  // the queue to the control thread was full
    // Cycles by the output's margin: readyCycles[k] counts cycles in which the readiest
    // publishing slot had k blocks ready from the one played on (0: none, a gap or a
    // failover to a slot not yet verified; 1: only the one played, so its worker was a cycle
    // behind). The last bucket also counts more. --lookahead auto grows on small margins.
    static constexpr std::size_t kReadyBuckets = 10;
    std::array<std::atomic<std::uint64_t>, kReadyBuckets> readyCycles{};
};

// One channel message from the MIDI input port (running status resolved), stamped with the
// timeline frame JACK gave it.
struct MidiMessage {
    std::uint64_t frame = 0;
    std::uint8_t bytes[3] = {};
    std::uint8_t size = 0;
};

// JACK transport as the audio thread last read it (jack_transport_query).
struct JackTransportView {
    bool valid = false;      // a cycle has read it
    bool rolling = false;
    bool bbt = false;        // the timebase master gives bars, beats and tempo
    double bpm = 0.0;
    int beatsPerBar = 4;
    int beatType = 4;
    double bar = 1.0;        // 1-based, fractional
    std::uint64_t frame = 0; // timeline frame of the cycle it was read in
};

class OutputStage {
public:
    // Opens the JACK client and registers out_L/out_R (or out_1..N). Not RT-safe.
    static Expected<std::unique_ptr<OutputStage>> open(const OutputConfig &config);
    ~OutputStage();

    double sampleRate() const;
    std::uint32_t periodFrames() const;
    jack_client_t *client() const { return jack_->get(); }
    const std::string &serverName() const { return jack_->serverName(); }

    // Attaches the segment (before activate) and starts the audio thread.
    Expected<void> activate(shm::Segment &segment);
    // Connects out ports to the system playback ports if they exist (optional), and from
    // then on keeps doing so for playback ports that appear later (keepConnected()).
    void autoConnect();
    // Control thread, every loop: when a physical playback port has (re)appeared since the
    // last call (a USB card plugged in, a NetJACK2 slave whose master came back), connects
    // out_c to the c-th playback port if it is new, and logs it. Playback ports that were
    // there all along are left alone, so connections a user removed stay removed. Does
    // nothing unless autoConnect() was called. Never waits on the audio thread.
    void keepConnected();
    // --master-clock: connects the master clock's port to chronus:master_clock whenever it is
    // not (a slave's capture port comes and goes with the master), and keeps the wall-clock
    // offset the audio thread maps the master's cycle times with. Control thread, often.
    void followMasterClock();
    // Cycles whose timetag mapping came from the master clock (--master-clock).
    std::uint64_t masterClockCycles() const noexcept { return masterCycles_.load(std::memory_order_relaxed); }
    bool masterClockConnected() const;
    bool masterClockWanted() const noexcept { return masterClockPort_ != nullptr; }
    // Control thread: the lookahead in the segment's header moved (--lookahead auto); JACK
    // recomputes the ports' latencies, which say it.
    void lookaheadChanged();
    // Control thread: stem k of every block (model::CompiledPatch::stems) goes out on
    // stem_<nodes[k]>_L/R from now on; ports of nodes no longer listed are unregistered a
    // few cycles later (the audio thread may hold them until then). Never waits. Returns
    // the stems whose ports could not be registered, one sentence, or "".
    std::string setStems(const std::vector<std::string> &nodes);
    // Control thread: unregisters ports set aside by setStems() once the audio thread has
    // moved on. Called every loop.
    void releaseStemPorts();

    // Control thread: publishes a slot's state; the audio thread sees it next cycle.
    void setSlotState(std::uint32_t slot, SlotState state) noexcept
    {
        state_[slot].store(state, std::memory_order_release);
    }
    // True while the audio thread doubts a verified slot (it missed a block or failed).
    bool suspect(std::uint32_t slot) const noexcept { return suspectView_[slot].load(std::memory_order_relaxed); }
    // The slot the audio thread plays, or -1.
    int activeSlot() const noexcept { return active_.load(std::memory_order_acquire); }
    // Next RtEvent, false when none. Control thread only.
    bool popEvent(RtEvent &event) noexcept { return events_.tryPop(event); }
    // Next message from the MIDI input port, false when none. Control thread only.
    bool popMidi(MidiMessage &message) noexcept { return midi_.tryPop(message); }
    // JACK transport as of the latest cycle. Control thread.
    JackTransportView jackTransport() const noexcept;
    // Offers to be JACK's timebase master (fails if another is, unless JACK lets us take
    // over); the callback reports the clock last given to lead(). Control thread.
    bool becomeTimebaseMaster();
    // The clock the timebase callback reports. Control thread.
    void lead(double bpm, int beatsPerBar, int beatType) noexcept
    {
        leadBpm_.store(bpm, std::memory_order_relaxed);
        leadBeats_.store(beatsPerBar, std::memory_order_relaxed);
        leadUnit_.store(beatType, std::memory_order_relaxed);
    }
    // Frames from a MIDI message's frame to the frame it takes effect at: far enough that a
    // message read by the control thread a period late is still ahead of every worker
    // (Timeline::safeFrame() is L + 2 periods ahead of the cycle), and the same for every
    // message, so MIDI keeps its timing exactly. Reported to JACK as the MIDI port's latency.
    std::uint64_t midiDelayFrames() const noexcept { return std::uint64_t{config_.lookahead + 3} * period_; }

    // Timeline frame of the latest cycle's first frame (kNoBlock before the first cycle).
    std::uint64_t cycleFrame() const noexcept { return cycleFrame_.load(std::memory_order_acquire); }
    // Maps a JACK microsecond time to a timeline frame using the latest cycle's times.
    // Returns kNoBlock before the first cycle. Control thread.
    std::uint64_t frameAtJackTime(std::uint64_t jackUsecs) const noexcept;
    // With a master clock (--master-clock) seen within the last second: the frame of a JACK
    // microsecond time through the master's cycles. Every slave of one master maps a time
    // to the same master frame (the same anchor cycle and the master's own wall-clock time
    // for it), then to its own frame by its offset from the master's. Control thread.
    std::optional<std::uint64_t> frameAtMasterTime(std::uint64_t jackUsecs) const noexcept;

    const OutputCounters &counters() const noexcept { return counters_; }
    // The last ~43 s of what the ports played (left and right; mono doubled), for meters and
    // analysis. Written by the audio thread, read by the control thread.
    const TapRing &tap() const noexcept { return tap_; }
    // The last ~2.7 s of stem k (left and right), for meters. Null beyond --stems.
    const TapRing *stemTap(std::size_t k) const noexcept { return k < stemTaps_.size() ? stemTaps_[k].get() : nullptr; }
    bool serverGone() const noexcept { return jack_->serverGone(); }
    std::string shutdownReason() const { return jack_->shutdownReason(); }
    // Set when JACK changed buffer size or sample rate under us.
    bool formatChanged() const noexcept { return formatChanged_.load(std::memory_order_acquire); }

private:
    OutputStage() = default;
    static int processThunk(jack_nframes_t frames, void *arg);
    static int bufferSizeThunk(jack_nframes_t frames, void *arg);
    static int sampleRateThunk(jack_nframes_t rate, void *arg);
    static int xrunThunk(void *arg);
    static void portRegistrationThunk(jack_port_id_t port, int registered, void *arg);
    static void latencyThunk(jack_latency_callback_mode_t mode, void *arg);
    // The audio thread's cycle, in steps.
    CHRONUS_RT int process(jack_nframes_t frames) noexcept;
    // Labels this cycle (common/jack_time.hpp), publishes it and the cycle times; returns
    // its timeline frame.
    CHRONUS_RT std::uint64_t advanceClock(std::uint32_t frames) noexcept;
    // Reads the master clock's cycle (--master-clock) and publishes its anchor for
    // frameAtMasterTime(); `frame` is this cycle's timeline frame, `now` its JACK time.
    CHRONUS_RT void readMasterClock(std::uint32_t frames, std::uint64_t frame, jack_time_t now) noexcept;
    // The slots' states the control thread set, for this cycle.
    CHRONUS_RT std::array<SlotState, shm::kSlots> readStates() noexcept;
    // Counts this cycle in OutputCounters::readyCycles.
    CHRONUS_RT void measureMargin(const std::array<SlotState, shm::kSlots> &states, std::uint64_t frame) noexcept;
    // Reads `slot`'s block for `frame` (copying it to `copyTo` if given) and says its state.
    CHRONUS_RT BlockState readSlot(std::uint32_t slot, std::uint64_t frame, float *const *copyTo,
                                   std::uint64_t &hash) noexcept;
    // Nobody is active: makes the first slot (adoptionOrder) with a good block active.
    CHRONUS_RT void adoptSlot(const std::array<SlotState, shm::kSlots> &states, std::uint64_t frame, float *const *out,
                              FailoverInput &input, std::uint64_t &activeHash) noexcept;
    // Plays what the decision says, counts it and reports it.
    CHRONUS_RT void carryOut(const FailoverDecision &decision, float *const *out, std::uint32_t frames) noexcept;
    CHRONUS_RT void push(const RtEvent &event) noexcept;
    CHRONUS_RT void fadeOut(float *const *out, std::uint32_t frames) noexcept;
    // Hands this cycle's input to the workers (the shm input ring), stamped with the frame
    // their engines take it in.
    CHRONUS_RT void publishInputs(std::uint64_t frame, std::uint32_t frames) noexcept;
    // Publishes JACK's transport state for this cycle.
    CHRONUS_RT void readTransport(std::uint64_t frame) noexcept;
    static void timebaseThunk(jack_transport_state_t state, jack_nframes_t frames, jack_position_t *pos, int newPos,
                              void *arg);
    // Passes this cycle's MIDI channel messages to the control thread.
    CHRONUS_RT void readMidi(std::uint64_t frame, std::uint32_t frames) noexcept;

    OutputConfig config_;
    std::unique_ptr<JackClient> jack_;
    jack_client_t *client_ = nullptr; // the audio thread's copy: jack_ is null while it closes
    std::vector<jack_port_t *> ports_;
    // keepConnected(): ports JACK registered since the last look (its notification thread
    // pushes, the control thread pops; an overflow makes it compare the whole list).
    SpscQueue<jack_port_id_t> registered_{256};
    std::atomic<bool> registeredOverflow_{false};
    bool keepConnected_ = false;
    std::vector<std::string> playbackSeen_;
    std::vector<jack_port_t *> inputPorts_;
    std::uint32_t blockChannels_ = 0; // outputs + 2 x stems
    // Stem k's ports, [2k] left and [2k + 1] right; null: nobody's (played into stemSink_).
    std::array<std::atomic<jack_port_t *>, 2 * shm::kMaxChannels> stemPorts_{};
    std::vector<float> stemSink_;
    std::vector<std::unique_ptr<TapRing>> stemTaps_; // audio thread -> control thread
    // Control thread only: the ports of each stem node, and ports waiting to be unregistered
    // (with the cycle count at which the audio thread stopped seeing them).
    struct StemPorts {
        std::string node;
        jack_port_t *left = nullptr, *right = nullptr;
    };
    std::vector<StemPorts> stemNodes_;
    std::vector<std::pair<jack_port_t *, std::uint64_t>> retiredPorts_;
    jack_port_t *midiPort_ = nullptr;
    jack_port_t *clockPort_ = nullptr; // chronus:clock, the timeline frame of each cycle's block
    jack_port_t *masterClockPort_ = nullptr; // chronus:master_clock (--master-clock), else null
    // Wall-clock µs minus JACK's µs, kept fresh by the control thread (keepConnected()).
    std::atomic<std::int64_t> wallMinusJack_{0};
    std::atomic<std::uint64_t> masterCycles_{0}; // cycles that read the master clock
    // The master clock's anchor (readMasterClock()), published to the control thread under
    // masterSeq_ (odd while written).
    static constexpr std::uint64_t kMasterWindow = 16384;
    std::uint64_t masterWindow_ = UINT64_MAX; // JACK thread only
    std::atomic<std::uint32_t> masterSeq_{0};
    std::atomic<std::uint64_t> masterAnchorFrame_{0};
    std::atomic<std::uint64_t> masterAnchorWall_{0};
    std::atomic<std::uint64_t> masterPrevFrame_{0}; // the anchor before it
    std::atomic<std::uint64_t> masterPrevWall_{0};
    static constexpr double kAnchorSettle = 0.1; // seconds
    std::atomic<std::int64_t> masterOffset_{0};
    std::atomic<std::uint64_t> masterSeenAt_{0}; // our cycle count when the clock was last read
    std::chrono::steady_clock::time_point nextMasterTry_{};
    shm::Segment *segment_ = nullptr;
    std::array<shm::SlotView, shm::kSlots> slots_{};
    std::uint32_t period_ = 0;
    double rate_ = 0;

    std::array<std::atomic<SlotState>, shm::kSlots> state_{};
    std::array<std::atomic<bool>, shm::kSlots> suspectView_{};
    std::atomic<int> active_{-1};
    std::atomic<std::uint64_t> cycleFrame_{shm::kNoBlock};
    // Cycle times for timetag mapping, published with a sequence counter (seqlock).
    std::atomic<std::uint32_t> timesSeq_{0};
    std::atomic<std::uint64_t> timesFrame_{0};
    std::atomic<std::uint64_t> timesUsecs_{0};
    std::atomic<float> timesPeriodUsecs_{0};
    std::atomic<bool> formatChanged_{false};
    SpscQueue<RtEvent> events_{1024}; // audio thread -> control thread
    SpscQueue<MidiMessage> midi_{8192}; // audio thread -> control thread
    TapRing tap_{std::size_t{1} << 21};  // audio thread -> control thread
    OutputCounters counters_;

    // Audio thread only.
    CycleClock clock_;
    FailoverState failover_;
    std::vector<float> lastSample_;
    std::vector<float> scratch_; // the standby's block, read as a copy we may play
    std::uint8_t runningStatus_ = 0;
    std::uint64_t lastInputFrame_ = shm::kNoBlock; // engine frame of the last input published
    jack_nframes_t cycleFrame32_ = 0;               // JACK's frame time as this cycle read it
    CycleClock::Step clockStep_ = CycleClock::Step::First; // how this cycle's label was found
    InputHold inputHold_;
    // JACK transport, published by the audio thread with a sequence counter (seqlock).
    std::atomic<std::uint32_t> transportSeq_{0};
    std::atomic<bool> tpRolling_{false}, tpBbt_{false}, tpValid_{false};
    std::atomic<double> tpBpm_{0.0}, tpBar_{1.0};
    std::atomic<int> tpBeats_{4}, tpType_{4};
    std::atomic<std::uint64_t> tpFrame_{0};
    // Our clock for the timebase callback (lead), from the control thread.
    std::atomic<double> leadBpm_{120.0};
    std::atomic<int> leadBeats_{4}, leadUnit_{4};
};

} // namespace chronus::supervisor
