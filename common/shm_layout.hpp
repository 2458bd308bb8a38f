// The shared-memory segment of one Chronus instance (ARCHITECTURE.md decisions 2, 3, 5, 9).
//
// One Boost.Interprocess shared_memory_object per instance ("chronus-<instance>", mode
// 0600), created by the supervisor, opened by its workers. It holds plain, fixed-layout
// data and no locks: a versioned Header, then per slot
//
//   SlotStatus     words the worker publishes (pid, heartbeat, state, load) and the
//                  supervisor's instructions to it (join, snapshot request)
//   audio ring     Geometry::ringBlocks blocks addressed by start frame; each block is stamped with
//                  its 64-bit timeline frame and a hash (a per-block seqlock: the stamp is
//                  cleared before writing and set with release after)
//   event ring     SPSC ring of CommandRecords, supervisor -> worker audio thread
//   control ring   SPSC ring of CommandRecords (patch commits), supervisor -> worker
//                  control thread; the spec text lives in the text ring
//   text ring      SPSC byte ring for commit spec JSON
//   snapshot area  the worker's DSP state at a block boundary, on request
//
// and, shared by both slots, the input ring: Geometry::inputBlocks blocks of the audio at the
// supervisor's JACK inputs, each stamped with the timeline frame at which the workers'
// engines take it in (its capture frame plus inputDelayFrames()), so both read the same.
//
// All frames in the segment are timeline frames: JACK's frame time extended to 64 bits
// minus Header::originAbs, so frame 0 is the supervisor's first cycle and a journal of
// the session renders offline from frame 0.
#pragma once

#include "model/event.hpp" // plain data, header-only
#include "common/expected.hpp"
#include "common/slot_state.hpp" // WorkerState
#include "common/jack_time.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace chronus::shm {

inline constexpr std::uint32_t kMagic = 0x4E524843; // "CHRN" little-endian
inline constexpr std::uint32_t kVersion = 6;
inline constexpr std::uint32_t kSlots = 2;
inline constexpr std::uint64_t kNoBlock = ~std::uint64_t{0};
// Most channels in a block: outputs and stems.
inline constexpr std::uint32_t kMaxChannels = 32;

static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "shm atomics must be address-free");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "shm atomics must be address-free");

// Sizes fixed when the supervisor creates the segment; workers read them from the header.
struct Geometry {
    std::uint32_t channels = 2;             // per block: the outputs, then 2 x stems
    std::uint32_t periodFrames = 256;       // JACK buffer size; blocks are this long
    std::uint32_t ringBlocks = 16;          // power of two
    std::uint32_t eventCapacity = 32768;    // records, power of two
    std::uint32_t controlCapacity = 256;    // records, power of two
    // L: periods the workers render ahead at most (Header::lookahead says how many now); it
    // fixes the input and MIDI delays.
    std::uint32_t lookahead = 1;
    std::uint64_t textBytes = 4u << 20;     // power of two
    std::uint64_t snapshotBytes = 32u << 20;
    double sampleRate = 48000.0;
    std::uint32_t inputs = 0;               // input channels (0: no input ring)
    std::uint32_t inputBlocks = 64;         // power of two
    std::uint32_t stems = 0;                // stereo stems, the last 2 x stems channels of a block
};

// Frames from the capture of an input sample to the frame the engines take it in: L + 2
// periods, so the supervisor has published it at least two cycles before any worker renders
// that frame. Fixed for a geometry; reported to JACK as latency.
inline std::uint64_t inputDelayFrames(const Geometry &g) noexcept
{
    return std::uint64_t{g.lookahead + 2} * g.periodFrames;
}

// Events a worker's engine holds scheduled ahead of the block it renders; the supervisor
// bounds what clients may schedule ahead by it (supervisor/control_surface.hpp).
inline constexpr std::uint32_t kWorkerPendingEvents = 1u << 16;

// How a worker joins the timeline (SlotStatus::joinKind).
enum class JoinKind : std::uint32_t {
    Fresh = 1,    // empty engine (no patch yet): every empty engine is identical
    Snapshot = 2, // load slot joinSourceSlot's snapshot taken at joinFrame, then replay
};

// CommandRecord::kind
enum class RecordKind : std::uint32_t {
    Event = 1,  // `event` at event.frame
    Commit = 2, // patch spec text [textOffset, +textLength) of `generation`: build it now; it goes
                // live with its Activate event
};

// One fixed-size command. Events go to the event ring, commits to the control ring.
struct CommandRecord {
    RecordKind kind = RecordKind::Event;
    std::uint32_t crossfadeFrames = 0;
    std::uint64_t frame = 0;      // commit frame (events carry their own)
    std::uint64_t textOffset = 0; // monotonic byte offset in the text ring
    std::uint32_t textLength = 0;
    std::uint32_t generation = 0; // generation of the committed patch
    model::Event event{};
};
static_assert(sizeof(CommandRecord) == 64);
static_assert(std::is_trivially_copyable_v<CommandRecord>);

struct alignas(64) Header {
    std::uint32_t magic;
    std::uint32_t version;
    std::uint64_t totalBytes;
    Geometry geometry;
    std::int32_t supervisorPid;
    char instance[64];
    std::uint64_t originAbs; // extended JACK frame of timeline frame 0
    // Extended JACK frame of the supervisor's latest cycle (written by its audio thread):
    // the reference a late-starting worker unwraps JACK's 32-bit frame time against.
    alignas(64) std::atomic<std::uint64_t> cycleAbs;
    std::atomic<std::uint32_t> supervisorHeartbeat;
    // Periods the workers render ahead now, 1..geometry.lookahead: fixed, or moved by the
    // supervisor's control thread (--lookahead auto, supervisor/lookahead.hpp). The workers
    // read it each cycle; the supervisor stamps commands after what they may have rendered.
    std::atomic<std::uint32_t> lookahead;
};

struct alignas(64) SlotStatus {
    // Worker -> supervisor.
    std::atomic<std::int32_t> pid;
    std::atomic<WorkerState> workerState;       // common/slot_state.hpp
    std::atomic<LostReason> lostReason;         // set before workerState becomes Lost
    std::atomic<std::uint64_t> heartbeat;       // cycles run
    std::atomic<std::uint64_t> lastBlock;       // frame of the last published block
    std::atomic<std::uint32_t> dspLoadPpm;      // render time / period, smoothed, parts per million
    std::atomic<std::uint32_t> generation;      // live patch generation
    std::atomic<std::uint64_t> eventsApplied;
    std::atomic<std::uint64_t> eventsLate;      // arrived after their frame was rendered: not applied
    // Start frame of the block whose events the worker takes from the event ring next (or is
    // rendering now); kNoBlock while it renders nothing. Stored seq_cst before each drain, so
    // a supervisor that pushes, fences and then reads a value V knows a record stamped at or
    // after V + period is taken before its frame is rendered (Timeline::apply).
    std::atomic<std::uint64_t> drainFrame;
    std::atomic<std::uint64_t> commitsMissed;   // commit not built by its frame
    std::atomic<std::uint32_t> preparedGeneration; // latest commit whose patch is built (Worker::drainControl)
    std::atomic<std::uint64_t> commitErrors;    // spec that failed to compile or build
    std::atomic<std::uint64_t> inputsMissing;   // blocks rendered with silent input (never published)
    std::atomic<std::uint32_t> snapshotServed;  // == snapshotRequest once written
    std::atomic<std::uint32_t> joinDone;        // == joinSeq once the join is complete
    std::uint64_t snapshotFrame;                // block boundary the snapshot holds
    std::uint64_t snapshotBytesUsed;
    // Supervisor -> worker.
    alignas(64) std::atomic<std::uint32_t> snapshotRequest;
    std::atomic<std::uint32_t> joinSeq;         // set last, after the fields below
    JoinKind joinKind;
    std::uint32_t joinSourceSlot;
    std::uint64_t joinFrame;
    std::uint64_t joinSnapshotBytes;
    std::atomic<std::uint32_t> faultInjection;  // test hook: FaultKind, consumed by the worker
};

// Test hook: faults a worker's audio thread injects on request (SlotStatus::faultInjection).
// DelayEvents: the worker leaves its event ring alone for a few blocks, so commands reach it
// after their frames (as if the records had been held up on the way).
// Starve: the worker's audio thread stands still for 1.2 s without being stopped, as on a
// machine that gives it no CPU (JACK runs the other clients on).
enum class FaultKind : std::uint32_t { None = 0, NaN = 1, Stall = 2, DelayEvents = 3, Starve = 4 };

// Header of one audio block in a ring; channel data (channels x periodFrames floats,
// planar) follows at blockDataOffset.
struct alignas(64) BlockHeader {
    std::atomic<std::uint64_t> stamp; // timeline start frame, kNoBlock while being written
    std::uint64_t hash;               // blockHash() of the data
    std::uint32_t frames;
    std::uint32_t generation;         // patch generation live at the block's end
};

// Indices of one SPSC ring: monotonic counters (they never wrap in practice).
struct alignas(64) RingIndices {
    alignas(64) std::atomic<std::uint64_t> head; // producer
    alignas(64) std::atomic<std::uint64_t> tail; // consumer
};

// Byte offsets of every part, computed from the Geometry alone (same on both sides).
struct Layout {
    std::size_t blockStride;
    std::size_t slotStatus[kSlots];
    std::size_t audioRing[kSlots];
    std::size_t eventIdx[kSlots], eventRecords[kSlots];
    std::size_t controlIdx[kSlots], controlRecords[kSlots];
    std::size_t textIdx[kSlots], textData[kSlots];
    std::size_t snapshot[kSlots];
    std::size_t inputStride;
    std::size_t inputRing;
    std::size_t totalBytes;
};
Layout computeLayout(const Geometry &geometry);
// Checks sizes (powers of two, non-zero, sane bounds). Errors name the field.
Expected<void> validate(const Geometry &geometry);

// 64-bit hash of planar float data (FNV-1a over the sample bits); `nonFinite` is set when
// any sample is NaN or Inf. RT-safe.
std::uint64_t blockHash(const float *const *channels, std::uint32_t channelCount, std::uint32_t frames,
                        bool &nonFinite) noexcept;

// SPSC ring of CommandRecords over shm indices. Producer and consumer are different
// processes; each side calls only its own functions. RT-safe, lock-free.
class RecordRing {
public:
    RecordRing() = default;
    RecordRing(RingIndices *idx, CommandRecord *records, std::uint32_t capacity) noexcept
        : idx_(idx), records_(records), mask_(capacity - 1) {}
    // Producer. False when full.
    bool tryPush(const CommandRecord &record) const noexcept;
    // Consumer. False when empty.
    bool tryPop(CommandRecord &out) const noexcept;
    // Consumer (or a thread of the consumer's process watching it): the oldest record
    // without removing it. False when empty.
    bool peek(CommandRecord &out) const noexcept;
    std::uint64_t size() const noexcept;
    std::uint64_t capacity() const noexcept { return mask_ + 1; }

private:
    RingIndices *idx_ = nullptr;
    CommandRecord *records_ = nullptr;
    std::uint64_t mask_ = 0;
};

// SPSC byte ring holding commit spec text; a record names [offset, offset + length).
// Not used on any audio thread.
class TextRing {
public:
    TextRing() = default;
    TextRing(RingIndices *idx, char *data, std::uint64_t bytes) noexcept : idx_(idx), data_(data), mask_(bytes - 1) {}
    // Producer: appends text; returns its offset, or kNoBlock when it does not fit.
    std::uint64_t write(std::string_view text) const noexcept;
    // Consumer: copies [offset, offset + length) out and frees everything before its end.
    std::string read(std::uint64_t offset, std::uint32_t length) const;
    std::uint64_t capacity() const noexcept { return mask_ + 1; }

private:
    RingIndices *idx_ = nullptr;
    char *data_ = nullptr;
    std::uint64_t mask_ = 0;
};

// Non-owning view of one slot's parts.
struct SlotView {
    SlotStatus *status = nullptr;
    std::byte *audio = nullptr; // ringBlocks x blockStride
    RecordRing events;
    RecordRing control;
    TextRing text;
    std::byte *snapshot = nullptr;
    std::size_t snapshotBytes = 0;
    std::size_t blockStride = 0;
    std::uint32_t ringBlocks = 0;
    std::uint32_t channels = 0;
    std::uint32_t periodFrames = 0;

    BlockHeader &block(std::uint64_t frame) const noexcept
    {
        const std::uint64_t index = (frame / periodFrames) & (ringBlocks - 1);
        return *reinterpret_cast<BlockHeader *>(audio + index * blockStride);
    }
    float *blockChannel(BlockHeader &header, std::uint32_t channel) const noexcept
    {
        return reinterpret_cast<float *>(reinterpret_cast<std::byte *>(&header) + sizeof(BlockHeader)) +
               std::size_t{channel} * periodFrames;
    }
};

// The mapped segment. The creator (supervisor) removes it when destroyed.
class Segment {
public:
    // Creates "chronus-<instance>" with mode 0600. A segment whose supervisor is still
    // alive is an error naming it ("instance 'x' is already running (pid N)"); one left
    // by a dead supervisor is removed and recreated (`staleRemoved` says so).
    static Expected<std::unique_ptr<Segment>> create(const std::string &instance, const Geometry &geometry,
                                                     bool *staleRemoved = nullptr);
    // The part of create() that checks for another instance: fails if a live supervisor
    // owns "chronus-<instance>", removes a dead one's segment. Call early for a clear error.
    static Expected<void> claim(const std::string &instance, bool *staleRemoved = nullptr);
    // Opens an existing segment and checks magic, version and size.
    static Expected<std::unique_ptr<Segment>> open(const std::string &instance);
    // Removes the name (creator only); mapped views stay valid until unmapped.
    ~Segment();
    Segment(const Segment &) = delete;
    Segment &operator=(const Segment &) = delete;

    Header &header() const noexcept { return *reinterpret_cast<Header *>(base_); }
    // The input block for engine frame `frame` (its stamp says whether it holds that frame),
    // and its channel data. Null when the geometry has no inputs.
    BlockHeader *inputBlock(std::uint64_t frame) const noexcept;
    float *inputChannel(BlockHeader &block, std::uint32_t channel) const noexcept
    {
        return reinterpret_cast<float *>(reinterpret_cast<std::byte *>(&block) + sizeof(BlockHeader)) +
               std::size_t{channel} * geometry().periodFrames;
    }
    const Geometry &geometry() const noexcept { return header().geometry; }
    SlotView slot(std::uint32_t index) const noexcept;
    const std::string &name() const noexcept { return name_; }

private:
    Segment() = default;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::byte *base_ = nullptr;
    std::string name_;
    bool owner_ = false;
};

// "chronus-<instance>": the segment's name (under /dev/shm).
std::string segmentName(std::string_view instance);

// Writes one block: clears the stamp, lets `fill` write the channels, hashes, then
// publishes the stamp with release. Producer (worker) only. RT-safe if `fill` is.
template <typename Fill>
void publishBlock(const SlotView &slot, std::uint64_t frame, std::uint32_t generation, Fill &&fill) noexcept
{
    BlockHeader &b = slot.block(frame);
    b.stamp.store(kNoBlock, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    float *channels[kMaxChannels];
    for (std::uint32_t c = 0; c < slot.channels && c < kMaxChannels; ++c)
        channels[c] = slot.blockChannel(b, c);
    fill(static_cast<float *const *>(channels));
    bool nonFinite = false;
    b.hash = blockHash(channels, slot.channels, slot.periodFrames, nonFinite);
    b.frames = slot.periodFrames;
    b.generation = generation;
    b.stamp.store(frame, std::memory_order_release);
}

// Publishes one period of input for engine frame `frame` (supervisor's audio thread), unless
// a reader has given that frame up already. `in[c]` may be null (silence). RT-safe, wait-free.
void publishInput(const Segment &segment, std::uint64_t frame, const float *const *in) noexcept;
// Copies the input for engine frame `frame` into `out` (inputs x periodFrames); false, with
// `out` silent, when the frame is not published. A reader that finds it missing (the
// supervisor ran late or not at all) gives it up for every reader, atomically, so the
// supervisor cannot publish it afterwards: both workers and the journal hear the same, the
// input or silence. Workers' render threads, the journal's writer. RT-safe, wait-free.
bool readInput(const Segment &segment, std::uint64_t frame, float *const *out) noexcept;

// Result of reading one block.
struct BlockRead {
    bool present = false;   // stamped with the frame asked for, and not overwritten meanwhile
    bool nonFinite = false;
    bool hashOk = false;    // the data hashes to the stamped hash
    std::uint64_t hash = 0; // hash of the data as read
};

// Reads the block for `frame`: hashes it and, if `copyTo` is given, copies the channels
// out (planar, periodFrames each). Consumer (supervisor) only. RT-safe.
BlockRead readBlock(const SlotView &slot, std::uint64_t frame, float *const *copyTo) noexcept;

} // namespace chronus::shm
