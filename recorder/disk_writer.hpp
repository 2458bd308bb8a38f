// The disk thread: reads the FrameRing and its timeline events in order, turns gaps into
// exactly that many silent frames, and writes takes (start/stop at exact JACK frames,
// pre-roll from the ring's history, rotation, header refresh, sidecar). Control threads
// talk to it through blocking calls that return once the disk thread has acted.
#pragma once

#include "recorder/audio_file.hpp"
#include "common/expected.hpp"
#include "recorder/frame_ring.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace chronus::rec {

struct WriterConfig {
    std::filesystem::path dir = "recordings";
    FileFormat format;
    std::size_t channels = 2;
    std::uint32_t rate = 48000;
    std::uint64_t splitFrames = 0; // rotate every N frames (0: off)
    std::uint64_t splitBytes = 0;  // rotate before a file exceeds N bytes (0: off)
    // Makes the Sink for a newly created file descriptor (tests inject slow or full disks).
    std::function<std::unique_ptr<Sink>(int fd)> makeSink;
    // Wall clock (µs since epoch) of a JACK frame, for the sidecar.
    std::function<std::int64_t(std::uint64_t jackFrame)> wallClock;
    std::vector<std::string> sources; // written to the sidecar
    // --clock: the timeline clock port, and the JACK frame of a timeline frame (the frames
    // of a take's events are the timeline's then), for the sidecar.
    std::string clock;
    std::function<std::uint64_t(std::uint64_t frame)> jackFrameOf;
};

struct TakeRequest {
    std::string name;                 // empty: chronus_YYYYMMDD_HHMMSS
    std::optional<Container> container;
    std::uint64_t startFrame = 0;     // first JACK frame of the take (pre-roll: in the past)
    std::uint64_t maxFrames = 0;      // duration limit (0: none)
};

struct Gap {
    std::uint64_t atFrame;  // position in the take
    std::uint64_t frames;
    // The frames right after the gap may belong this many frames earlier (JACK's clock
    // cannot tell; see TimelineEvent::uncertainFrames). 0: certain.
    std::uint64_t uncertainFrames = 0;
};

// A span during which input `channel` had no port connected: the file holds silence on that
// channel there (the sidecar's "input_gaps", reason "no source").
struct InputGap {
    std::uint32_t channel; // 0-based; the input is in_<channel + 1>
    std::uint64_t atFrame; // position in the take
    std::uint64_t frames;
};

// Gaps a take's sidecar lists (a busy 1-hour take on a non-real-time server can have
// thousands), and the first few /record/status and the log show.
inline constexpr std::size_t kMaxGapsKept = 16384;
inline constexpr std::size_t kMaxGapsShown = 64;

struct TakeSummary {
    std::filesystem::path path;       // last file of the take
    std::vector<std::filesystem::path> files;
    std::uint64_t frames = 0;         // frames in all files of the take
    std::uint64_t lostFrames = 0;     // of which silence standing in for lost frames
    std::vector<Gap> gaps;            // the first kMaxGapsKept gaps (status: kMaxGapsShown)
    std::uint64_t gapCount = 0;       // all of them
    std::vector<InputGap> inputGaps;  // the first kMaxGapsKept spans of an input without a source
    std::vector<std::uint64_t> noSourceFrames; // per channel, frames its input had no source
    std::uint64_t firstJackFrame = 0;
    // Where the source's timeline began again inside the take (a new supervisor under
    // --clock): take frame -> the new timeline's frame there. The take runs on, unbroken.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> restarts;
    std::string error;                // non-empty when the take ended on a disk error
};

// Something the control thread should announce (the take ended by itself).
struct WriterEvent {
    enum class Kind { TakeEnded, DiskError } kind;
    TakeSummary summary;
};

struct WriterStatus {
    bool recording = false;
    std::filesystem::path path;
    std::uint64_t takeFrames = 0;
    std::uint64_t lostFrames = 0;     // in the current or last take
    std::vector<Gap> gaps;            // where, in the current or last take
    std::vector<std::uint64_t> noSourceFrames; // per channel, in the current or last take
    std::uint64_t totalGapFrames = 0; // since start-up, including while idle
    std::uint64_t diskErrors = 0;     // since start-up
    std::string lastError;            // the latest disk error, kept after later takes
    bool failed = false;              // the last take ended on a disk error; no take since
    // Disk use of the current take's format (idle: the configured one), for time left:
    // exact for WAV/RF64/W64; for FLAC/Ogg measured from the current file once it holds a
    // second, before that the uncompressed size (an upper bound).
    std::uint64_t bytesPerSecond = 0;
    bool bytesPerSecondMeasured = false;
};

class DiskWriter {
public:
    DiskWriter(FrameRing &ring, WriterConfig config);
    ~DiskWriter();

    // Starts / stops the disk thread (stop finishes any take first).
    void start();
    void stop();

    // Control thread. Creates the take's first file (on the disk thread) and arms it.
    Expected<std::filesystem::path> begin(const TakeRequest &request);
    // Ends the take once every frame before `stopFrame` is written (none: everything now in
    // the ring), finalizes and returns it. Gives up waiting after `timeoutMs`.
    Expected<TakeSummary> end(std::optional<std::uint64_t> stopFrame, int timeoutMs = 3000);
    // Starts the next part at the current position, sample-contiguous; returns its path
    // and the final path of the part it closed (a take's first file is renamed
    // take_0001.wav at its first split, unless splitting was configured up front).
    struct SplitPaths {
        std::filesystem::path next;
        std::filesystem::path closed;
    };
    Expected<SplitPaths> split();
    // Frames of history to keep while idle (pre-roll); must be below the ring size.
    void setPrerollFrames(std::uint64_t frames);
    // The source port each input records ("" while it has none), for the sidecar. Any thread.
    void setInputSources(std::vector<std::string> sources);

    WriterStatus status() const;
    // Per-channel peak since the previous call, over every frame that reached the ring
    // (while recording, and while idle with a pre-roll: otherwise no frames flow).
    std::vector<float> takePeaks();
    // Events for the control thread (take ended by duration limit or disk error).
    std::optional<WriterEvent> pollEvent();

    // Processes what is in the ring now. The disk thread calls this; tests may call it
    // directly instead of start().
    void pump();

private:
    struct Take;
    struct Command;
    void run();
    // Accumulates the peaks of frames that arrived in the ring since the last call.
    void meterArrivals();
    void execute(const std::shared_ptr<Command> &command);
    void beginTake(Command &cmd);
    void endTake(const std::shared_ptr<Command> &command);
    void splitTake(Command &cmd);
    // Writes frames (data null: silence for lost frames, of which the `uncertainFrames`
    // after the gap may belong earlier) at `jackFrame` into the take, within its bounds.
    void deliver(const float *data, std::size_t frames, std::uint64_t jackFrame, std::uint64_t uncertainFrames = 0);
    // The source's timeline began again `back` frames behind where it was (at `frame`) while
    // the take runs: it goes on, its start and stop frames moved back as far.
    void rebase(Take &t, std::uint64_t back, std::uint64_t frame);
    // Frames the current part can still take; nullopt when the take had to end instead.
    std::optional<std::uint64_t> roomInPart(Take &t);
    // Creates the next file of `take` as `wanted` (or a free name near it; `firstOfParts`:
    // as part 1 of such a name) and makes it current.
    bool openPart(Take &take, const std::filesystem::path &wanted, std::string &error, bool firstOfParts = false);
    bool rotate(Take &take);
    void finishTake(const std::string &error);
    // The current part's first frame is about to be written: BWF stamp and sidecar.
    void startPart(Take &take, std::uint64_t jackFrame);
    // Input `channel` has (`missing`: has not) a port connected from the current position.
    void setSourceMissing(std::uint32_t channel, bool missing);
    // `frames` frames are about to be written at the end of the take: the inputs without a
    // source have that many more frames without one.
    void noteMissingSources(Take &take, std::uint64_t frames);
    // (Re)writes <audio>.json for the current part: its first frame's JACK time and wall
    // clock, format, and the gaps so far.
    void writeSidecar(const Take &take, const std::filesystem::path &audio);
    void publish();

    FrameRing &ring_;
    WriterConfig config_;
    std::unique_ptr<Take> take_;
    std::optional<TimelineEvent> nextEvent_;
    bool timelineValid_ = false;
    std::uint64_t nextJackFrame_ = 0;
    std::atomic<std::uint64_t> prerollFrames_{0};
    // Stop frame asked for by end(), visible to deliver() at once: the End command itself
    // waits behind a pump that may be writing (or stalled on) frames past the stop.
    std::atomic<std::uint64_t> requestedStop_{UINT64_MAX};
    bool endedByRequest_ = false; // the take reached requestedStop_; its End command answers
    std::uint64_t totalGapFrames_ = 0;
    std::uint64_t diskErrors_ = 0;
    std::string lastError_;
    bool failed_ = false;
    std::uint64_t meteredFrames_ = 0; // ring frames metered so far
    std::vector<std::uint8_t> sourceMissing_; // per channel, as of the read position
    std::size_t missingCount_ = 0;
    TakeSummary lastSummary_;

    std::thread thread_;
    std::atomic<bool> running_{false};
    mutable std::mutex mutex_; // commands, events, status
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Command>> commands_;
    std::deque<WriterEvent> events_;
    WriterStatus status_;
    std::vector<float> peaks_;
    std::vector<float> localPeaks_;
    std::vector<std::string> inputSources_; // guarded by mutex_
};

} // namespace chronus::rec
