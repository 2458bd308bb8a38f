// chronus-ramp-source: a JACK client whose every output frame carries its own JACK frame
// index, for tests and benchmarks of the recorder. Channel c (0-based) at JACK frame n holds
// float((n + c * 65537) mod 2^24), an integer a float represents exactly, so a reader can
// check every frame of a recording: no gap, no shift, no channel swap.
//   chronus-ramp-source [--name chronus] [--channels 2] [--prefix out_] [--reverse] [--stagger-ms N]
// --reverse registers the ports last first; --stagger-ms activates the client first and then
// registers one port every N ms (tests of a recorder that follows ports as they appear).
// Prints "ready" on stdout once active; runs until SIGINT/SIGTERM.
// A cycle whose callback read the next cycle's frame time (a late callback on a loaded
// machine; see common/jack_time.hpp) carries the next cycle's ramp; the ramp source learns
// that one cycle later and prints "misplayed F G N": the N frames JACK took at frame F
// carried the ramp of frame G. A checker of recordings accounts for exactly these.
#include "common/jack_time.hpp"
#include "common/jack_client.hpp"
#include "common/shm_layout.hpp"
#include "common/rt.hpp"

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

namespace {
std::atomic<bool> quit{false};
void onSignal(int) { quit.store(true); }

struct Misplay {
    std::uint64_t frame, played, frames;
};

struct Ramp {
    jack_client_t *client = nullptr;
    // Channel c's port, or null while not registered yet (--stagger-ms registers them while
    // the callback runs): written by the main thread, read by the process thread.
    std::vector<std::atomic<jack_port_t *>> ports;
    chronus::CycleClock clock; // labels cycles as the recorder and the supervisor do
    // Misplayed cycles, from the process thread to the main thread (single producer,
    // single consumer; a full queue drops the report, counted).
    static constexpr std::size_t kQueue = 256;
    std::array<Misplay, kQueue> misplays{};
    std::atomic<std::size_t> written{0}, read{0};
    std::atomic<std::uint64_t> unreported{0};
};

CHRONUS_RT int process(jack_nframes_t frames, void *arg)
{
    auto *r = static_cast<Ramp *>(arg);
    const std::uint32_t read32 = jack_last_frame_time(r->client);
    const std::uint64_t reading = r->clock.started() ? chronus::extendFrame(r->clock.label(), read32) : read32;
    const chronus::CycleClock::Cycle cycle = r->clock.next(reading, frames);
    if (cycle.step == chronus::CycleClock::Step::Repeated) {
        // The previous cycle played this cycle's ramp.
        const std::size_t w = r->written.load(std::memory_order_relaxed);
        if (w - r->read.load(std::memory_order_acquire) < Ramp::kQueue) {
            r->misplays[w % Ramp::kQueue] = {cycle.frame - frames, cycle.frame, frames};
            r->written.store(w + 1, std::memory_order_release);
        } else {
            r->unreported.fetch_add(1, std::memory_order_relaxed);
        }
    }
    const auto t = static_cast<std::uint32_t>(cycle.frame);
    for (std::size_t c = 0; c < r->ports.size(); ++c) {
        jack_port_t *port = r->ports[c].load(std::memory_order_acquire);
        if (!port)
            continue;
        auto *out = static_cast<float *>(jack_port_get_buffer(port, frames));
        const std::uint32_t base = t + std::uint32_t(c) * 65537u;
        for (jack_nframes_t i = 0; i < frames; ++i)
            out[i] = float((base + i) & 0xffffffu);
    }
    return 0;
}
} // namespace

int main(int argc, char **argv)
{
    std::string name = "chronus", prefix = "out_";
    int channels = 2;
    bool reverse = false;
    int staggerMs = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--name" && i + 1 < argc)
            name = argv[++i];
        else if (a == "--channels" && i + 1 < argc)
            channels = std::atoi(argv[++i]);
        else if (a == "--prefix" && i + 1 < argc)
            prefix = argv[++i];
        else if (a == "--reverse")
            reverse = true;
        else if (a == "--stagger-ms" && i + 1 < argc)
            staggerMs = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: chronus-ramp-source [--name N] [--channels C] [--prefix P] [--reverse] "
                                 "[--stagger-ms N]\n");
            return 2;
        }
    }
    if (channels < 1 || channels > 1024) {
        std::fprintf(stderr, "chronus-ramp-source: --channels must be 1..1024\n");
        return 2;
    }
    auto client = chronus::JackClient::open(name);
    if (!client) {
        std::fprintf(stderr, "chronus-ramp-source: %s\n", client.error().c_str());
        return 1;
    }
    Ramp ramp;
    ramp.client = (*client)->get();
    ramp.ports = std::vector<std::atomic<jack_port_t *>>(std::size_t(channels));
    auto registerPorts = [&]() -> bool {
        for (int k = 0; k < channels; ++k) {
            const int c = reverse ? channels - 1 - k : k;
            const std::string p = prefix + std::to_string(c + 1);
            jack_port_t *port = jack_port_register(ramp.client, p.c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
            if (!port) {
                std::fprintf(stderr, "chronus-ramp-source: cannot register %s\n", p.c_str());
                return false;
            }
            ramp.ports[std::size_t(c)].store(port, std::memory_order_release);
            if (staggerMs > 0 && k + 1 < channels)
                usleep(useconds_t(staggerMs) * 1000);
        }
        return true;
    };
    // Staggered ports are registered while the client runs, so that each one is visible
    // (and connectable) on its own.
    if (staggerMs == 0 && !registerPorts())
        return 1;
    jack_set_process_callback(ramp.client, process, &ramp);
    if (jack_activate(ramp.client) != 0) {
        std::fprintf(stderr, "chronus-ramp-source: cannot activate\n");
        return 1;
    }
    if (staggerMs > 0 && !registerPorts())
        return 1;
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::printf("ready\n");
    std::fflush(stdout);
    auto report = [&ramp] {
        const std::size_t w = ramp.written.load(std::memory_order_acquire);
        for (std::size_t i = ramp.read.load(std::memory_order_relaxed); i != w; ++i) {
            const Misplay &m = ramp.misplays[i % Ramp::kQueue];
            std::printf("misplayed %llu %llu %llu\n", static_cast<unsigned long long>(m.frame),
                        static_cast<unsigned long long>(m.played), static_cast<unsigned long long>(m.frames));
            ramp.read.store(i + 1, std::memory_order_release);
        }
        if (const std::uint64_t lost = ramp.unreported.exchange(0))
            std::printf("misplayed-unreported %llu\n", static_cast<unsigned long long>(lost));
        std::fflush(stdout);
    };
    while (!quit.load() && !(*client)->serverGone()) {
        usleep(20000);
        report();
    }
    // Stop the callback before `ramp` goes out of scope.
    if (!(*client)->serverGone())
        jack_deactivate(ramp.client);
    return 0;
}
