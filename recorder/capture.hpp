// The recorder's JACK side: client "chronus-recorder" with inputs in_1..N, a process
// callback that only copies whole frames into the FrameRing and counts (and notes which
// inputs have a port connected), and the connection logic that binds each input to one
// source port (recorder/port_binding.hpp) and reconnects it whenever that port appears.
#pragma once

#include "common/expected.hpp"
#include "common/jack_client.hpp"
#include "common/jack_time.hpp"
#include "recorder/frame_ring.hpp"
#include "recorder/port_binding.hpp"
#include "recorder/ring_feeder.hpp"
#include "common/rt.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chronus::rec {

struct CaptureConfig {
    std::string clientName = "chronus-recorder";
    std::string serverName;             // empty: $JACK_DEFAULT_SERVER or "default"
    std::size_t channels = 2;
    std::vector<std::string> sources;   // port names or globs (* ?); empty: "chronus:out_*"
    double ringSeconds = 8.0;
    // A timeline clock port (common/timeline_clock.hpp, e.g. "chronus:clock"): cycles are
    // placed by the frame it carries instead of JACK's frame time. Empty: JACK's frame time.
    std::string clock;
};

class Capture {
public:
    // Opens the client, registers ports, allocates the ring (ringSeconds at the server's
    // rate, at least 4 periods) and activates. Fails with one sentence.
    static Expected<std::unique_ptr<Capture>> open(const CaptureConfig &config);
    ~Capture();

    FrameRing &ring() noexcept { return *ring_; }
    const CaptureCounters &counters() const noexcept { return counters_; }
    std::uint32_t sampleRate() const noexcept { return rate_; }
    std::uint32_t periodFrames() const;
    std::size_t channels() const noexcept { return ports_.size(); }
    bool serverGone() const noexcept { return client_->serverGone(); }
    std::string shutdownReason() const { return client_->shutdownReason(); }

    // Control thread: start or stop feeding the ring. Takes effect at the next cycle.
    void setFeeding(bool on) noexcept { feeding_.store(on, std::memory_order_release); }
    bool feeding() const noexcept { return feeding_.load(std::memory_order_acquire); }
    // Number of cycles the JACK thread has run with feeding on (for "first frame captured").
    std::uint64_t fedCycles() const noexcept { return feeder_ ? feeder_->fedCycles() : 0; }
    // Number of process callbacks run so far, feeding or not (is JACK running us?).
    std::uint64_t cycles() const noexcept { return cycles_.load(std::memory_order_acquire); }
    // True while JACK freewheels (runs cycles as fast as it can, off the clock).
    bool freewheeling() const noexcept { return freewheeling_.load(std::memory_order_acquire); }
    // The frame now as the recorder places cycles: JACK's (64-bit, extended from JACK's
    // 32-bit clock), or with --clock the timeline's (0 until the clock gave a frame). Any
    // non-RT thread.
    std::uint64_t nowFrame() const;
    // Wall-clock time (µs since the epoch) of a frame near now (as nowFrame() counts). Any
    // non-RT thread.
    std::int64_t wallClockMicros(std::uint64_t frame) const;

    // Control thread: binds inputs to newly appeared source ports (once the port graph has
    // been still for a moment, or at once with `force`), connects each input to its bound
    // port whenever that port exists, and logs inputs that lose or regain their source.
    // Works only when JACK said the graph changed (or `force`); JACK's callbacks only set
    // a flag for it. Returns the number of connections made.
    int reconnect(bool force = false);
    // Increments whenever an input is bound to a port (see boundSources()).
    std::uint64_t bindingVersion() const noexcept { return bindingVersion_; }
    // The port each input is bound to ("" while unbound); control thread.
    std::vector<std::string> boundSources() const;
    // Waits until the JACK thread has run `cycles` more cycles (connections made before
    // this are then live in the graph); false after timeoutMs. Control thread.
    bool awaitCycles(int cycles, int timeoutMs) const;
    // Every port connected to each input (ours or made by someone else); control thread.
    std::vector<std::vector<std::string>> connections() const;
    // The timeline clock port followed ("" when cycles are placed by JACK's frame time).
    const std::string &clockSource() const noexcept { return clockSource_; }
    // The JACK frame of a frame as the recorder places it: a timeline frame with --clock
    // (as of the latest clocked cycle), else the frame itself. Any thread.
    std::uint64_t jackFrameOf(std::uint64_t frame) const noexcept
    {
        return frame + clockToJack_.load(std::memory_order_relaxed);
    }

private:
    Capture() = default;
    static int onProcess(jack_nframes_t frames, void *arg);
    static void onRegistration(jack_port_id_t, int, void *arg);
    static void onConnect(jack_port_id_t, jack_port_id_t, int, void *arg);
    static void onClientRegistration(const char *, int, void *arg);
    static int onXrun(void *arg);
    static void onFreewheel(int starting, void *arg);
    CHRONUS_RT int process(jack_nframes_t frames) noexcept;

    std::unique_ptr<JackClient> client_;
    std::vector<jack_port_t *> ports_;
    std::string clockSource_;             // --clock
    jack_port_t *clockPort_ = nullptr;    // our input "clock" (null without --clock)
    std::atomic<std::uint64_t> clockToJack_{0}; // JACK frame minus timeline frame, latest clocked cycle
    std::atomic<bool> clockSeen_{false};        // a clocked cycle has been seen
    bool clockHad_ = false;               // control thread: the clock was connected at the last pass
    std::unique_ptr<FrameRing> ring_;
    std::uint32_t rate_ = 0;
    CaptureCounters counters_;
    std::atomic<bool> feeding_{false};
    std::atomic<bool> graphChanged_{true};
    std::atomic<std::uint64_t> cycleFrame_{0}; // extended frame time of the latest cycle
    std::atomic<std::uint32_t> cycleFrame32_{0};
    std::atomic<std::uint64_t> cycles_{0};
    std::atomic<bool> freewheeling_{false};

    // Control thread only.
    std::unique_ptr<PortBinding> binding_;
    std::uint64_t bindingVersion_ = 0;
    struct InputLog {
        bool hadSource = false;           // as last logged
        bool lost = false;                // it lost its source at least once
        bool refused = false;             // JACK refused the connection (logged once)
        std::vector<std::string> foreign; // connections someone else made, already logged
    };
    std::vector<InputLog> inputLog_;
    std::vector<std::string> knownPorts_; // source ports at the last pass (sorted)
    bool firstPass_ = true;
    bool passPending_ = true;             // a pass is due at nextPass_
    std::chrono::steady_clock::time_point lastChange_{}, nextPass_{};

    // JACK thread only.
    std::unique_ptr<RingFeeder> feeder_;
    std::vector<const float *> buffers_;
    std::vector<std::uint8_t> connected_; // per input: a port is connected this cycle
    std::vector<std::uint8_t> wasConnected_;  // per input: a port was connected last cycle
    std::vector<std::uint8_t> justConnected_; // per input: connected this cycle, not the last
    // Each cycle's input, copied before it is judged (see process()): channels x stageFrames_.
    std::vector<float> stage_;
    std::size_t stageFrames_ = 0;
    FrameTime frameTime_; // JACK's frame time, extended to 64 bits
};

} // namespace chronus::rec
