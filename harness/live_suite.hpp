// Drivers for the live suite (chronus-supervisor with its chronus-synth-workers on a
// private jackd, see private_jackd.hpp), shared by the integration tests and the
// benchmarks: the supervisor as a child with its log, OSC helpers for its replies, a JACK
// capture client that records its output with frame stamps, and chronus-render of its
// journal for a bit-exact comparison. The programs come from $CHRONUS_SUPERVISOR and
// $CHRONUS_RENDER (else PATH).
#pragma once

#include "common/expected.hpp"
#include "common/osc.hpp"

#include <jack/jack.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <sys/types.h>

namespace chronus::harness {

// chronus-supervisor as a child (--osc-port 0 --no-connect, its own instance name); the OSC
// port is read from its "ready" log line.
class Supervisor {
public:
    // Starts it with its log in `dir` and `extra` arguments; true once it is ready (up to 6 s).
    bool start(const std::filesystem::path &dir, std::vector<std::string> extra = {},
               const std::string &instance = "");
    // SIGTERM (SIGKILL after 5 s); its exit status.
    int stop();
    ~Supervisor() { stop(); }
    // The caller reaped the process itself.
    void reaped() { pid_ = -1; }
    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string &instance() const { return instance_; }
    std::string log() const;

private:
    static inline int count_ = 0;
    std::filesystem::path log_;
    std::string instance_;
    pid_t pid_ = -1;
    int port_ = 0;
    int exitStatus_ = 0;
};

// /status.reply as key -> value.
using Status = std::map<std::string, osc::Arg>;
// Asks /status; nullopt when no /status.reply comes within timeoutMs.
std::optional<Status> status(osc::Client &client, int timeoutMs = 2000);
// A numeric value of the reply (any OSC number type); -1e300 when missing.
double num(const Status &s, const std::string &key);
// A string value of the reply; "" when missing.
std::string str(const Status &s, const std::string &key);
// Sends a command and returns its /done or /fail reply (nullopt on timeout).
std::optional<osc::Message> command(osc::Client &c, const std::string &address, const std::vector<osc::Arg> &args = {},
                                    int timeoutMs = 3000);
// Waits until both slots are verified (active + standby).
bool waitRedundant(osc::Client &c, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
// True if the server answers /ping within `timeoutMs`. UDP may drop a datagram when the
// server's socket is full after a flood, so the ping is repeated.
bool answers(osc::Client &c, int timeoutMs = 5000);
// A UDP port no socket on this machine holds now (for a recorder or a second server).
int freeUdpPort();
// Waits for a message `address` whose first argument is `first` (an answer or news that
// arrives later, e.g. /done /record/stop after a duration limit); others are dropped.
std::optional<osc::Message> awaitMessage(osc::Client &c, const std::string &address, const std::string &first,
                                         int timeoutMs);
// Sends /sync and waits for /synced.
bool sync(osc::Client &c, int timeoutMs = 3000);

// Records a 2-channel source (`<source>:out_L`, `out_R`) with the JACK frame of each cycle,
// between start() and stop(). Everything the process callback touches is preallocated.
class Capture {
public:
    // Opens "chronus-test-capture" on the current JACK server with room for `maxSeconds`
    // at 48 kHz and connects it. False on any failure.
    bool open(const std::string &source, std::size_t maxSeconds = 90);
    void start() { recording_.store(true); }
    // Stops recording (and waits a little so no callback is still writing).
    void stop();
    jack_client_t *client() const { return client_; }
    ~Capture();

    struct Cycle {
        std::uint32_t frame = 0; // JACK's frame time of the cycle, read before the copy
        std::uint32_t frames = 0;
        // JACK's frame time moved while the callback copied (it ran late and JACK began the
        // next cycle): the copy may hold that cycle's audio, or the label may be early.
        bool torn = false;
        // The supervisor's timeline frame for the block, from `<source>:clock` (read before
        // and after the copy, and the same both times); -1 without one.
        std::int64_t timeline = -1;
    };
    // Recorded cycles and samples (valid after stop()).
    std::size_t cycleCount() const { return nCycles_.load(); }
    const Cycle &cycle(std::size_t i) const { return cycles_[i]; }
    std::size_t frames() const { return nFrames_.load(); }
    const float *channel(int c) const { return data_[c].data(); }
    // True when the recording ran out of room (and stopped).
    bool overflowed() const { return overflow_.load(); }

private:
    static int thunk(jack_nframes_t n, void *arg);
    int process(jack_nframes_t n);

    jack_client_t *client_ = nullptr;
    jack_port_t *ports_[2] = {};
    jack_port_t *clock_ = nullptr; // follows <source>:clock when the source has one
    std::vector<float> data_[2];
    std::vector<Cycle> cycles_;
    std::size_t capacity_ = 0;
    std::atomic<bool> recording_{false};
    std::atomic<bool> overflow_{false};
    std::atomic<std::size_t> nFrames_{0};
    std::atomic<std::size_t> nCycles_{0};
};

// Planar 2-channel audio rendered offline.
using Rendered = std::vector<std::vector<float>>;

// The "# origin N" line of a journal.
std::optional<std::uint64_t> journalOrigin(const std::filesystem::path &journal);

// What the supervisor's journal declares about blocks that did not go out as the render has
// them (timeline frames): "# gap: frames F +N" (silence: no slot had the block) and
// "# uncertain: frames F +P" (JACK's clock jumped to F: block F may stand one cycle early).
struct JournalDeclarations {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps; // [from, to)
    std::set<std::uint64_t> early;
    bool inGap(std::uint64_t frame, std::uint32_t frames) const;
};
JournalDeclarations journalDeclarations(const std::filesystem::path &journal);
// Renders a journal with chronus-render (256-frame blocks, 48 kHz, 2 channels) for `frames`
// frames into `dir` (render.wav, render.log).
std::optional<Rendered> renderJournal(const std::filesystem::path &journal, std::uint64_t frames,
                                      const std::filesystem::path &dir);

// Result of comparing a capture with an offline render, cycle by cycle at each cycle's own
// frame (so a cycle JACK did not run the capture client for shifts nothing).
struct Comparison {
    std::size_t cycles = 0;
    std::size_t captureGaps = 0;    // cycles JACK skipped for the capture client
    std::size_t excused = 0;        // cycles visibly left over from a cycle JACK skipped
    std::size_t repeated = 0;       // of which: a repeat of the previous block (the supervisor
                                    // was not run; it must have counted that as skipped)
    std::size_t torn = 0;           // of which: the capture's own copy was torn (Cycle::torn)
                                    // and holds the neighbouring block
    std::size_t declared = 0;       // cycles that differ where the journal says they may
    std::size_t relabelled = 0;     // cycles JACK's clock placed a cycle off from the block the
                                    // supervisor's clock (chronus:clock) says it played there
    std::size_t mismatchFrames = 0; // frames in cycles that differ for no such reason
    std::uint64_t firstMismatch = UINT64_MAX;
    double rms = 0;
};
// A differing cycle is excused only when JACK visibly did not run the chain: it follows a
// capture gap, or it holds exactly the previous block (the supervisor's port buffer left
// over from a cycle JACK did not run it in). A cycle the journal declares (`declared`) is
// counted apart. `origin`: JACK frame of timeline frame 0.
Comparison compareWithRender(const Capture &cap, const Rendered &rendered, std::uint64_t origin,
                             const JournalDeclarations &declared = {});

// The journal rendered over everything the capture holds, for compareWithRender(); sets
// `origin` from the journal. An error says why it cannot be done.
Expected<Rendered> renderCaptured(const Capture &cap, const std::filesystem::path &journal,
                                  const std::filesystem::path &dir, std::uint64_t &origin);

} // namespace chronus::harness
