// chronus-clock: a master clock for suites on NetJACK2 slaves. A JACK client with one output,
// `out`, that carries every cycle's JACK frame and the wall-clock time of the cycle's start
// (common/timeline_clock.hpp). Run on the NetJACK2 master and connected to each slave's
// `<slave>:to_slave_N`, it reaches every slave's `system:capture_N` in the same master cycle;
// a supervisor given `--master-clock system:capture_N` maps bundles' timetags through the
// master's cycle times instead of its own slave's estimate, so one bundle sent to every slave
// starts their sound on the same master frame (docs/scaling.md).
#include "common/jack_client.hpp"
#include "common/jack_time.hpp"
#include "common/log.hpp"
#include "common/options.hpp"
#include "common/rt.hpp"
#include "common/timeline_clock.hpp"

#include <jack/jack.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace chronus;

std::atomic<bool> quit{false};
void onQuit(int) { quit.store(true); }

struct Options {
    std::string clientName = "chronus-clock";
    std::string jackServer;
    std::vector<std::string> connect; // ports to feed, connected whenever they exist
};

cli::Parsed<Options> parseOptions(int argc, char **argv)
{
    Options o;
    cli::CommandLine cl("chronus-clock", "chronus-clock [options]",
                        "Writes the NetJACK2 master's frame and wall-clock time on the port out, every cycle, for the "
                        "supervisors on its slaves (--master-clock): one bundle then starts every slave's sound on "
                        "the same master frame.",
                        "The port carries no audio: keep it away from speakers. On the master:\n"
                        "  chronus-clock --connect boxa:to_slave_1 --connect boxb:to_slave_1\n"
                        "and on each slave: chronus-supervisor --master-clock system:capture_1");
    cl.value("--client-name", "NAME", o.clientName, "JACK client name (default chronus-clock)",
             "a name of 1 to 63 characters", cli::name(63));
    cl.value("--jack-server", "NAME", o.jackServer, "JACK server name (default \"default\")", "a server name")
        .env("JACK_DEFAULT_SERVER");
    cl.list("--connect", "PORT", o.connect, "ports to feed (each slave's <slave>:to_slave_N); connected whenever "
                                            "they appear",
            "at least one port name");
    if (auto status = cl.parse(argc, argv))
        return cli::Parsed<Options>::exit(*status);
    return o;
}

// The wall clock's microseconds minus JACK's, kept fresh by the main thread; the JACK thread
// only reads it.
std::atomic<std::int64_t> wallMinusJack{0};

constexpr int kSettlePasses = 5; // of 200 ms

struct Writer {
    jack_client_t *client = nullptr;
    jack_port_t *port = nullptr;
    FrameTime frames;

    CHRONUS_RT int process(jack_nframes_t n) noexcept
    {
        jack_nframes_t frame32 = 0;
        jack_time_t now = 0, next = 0;
        float periodUsecs = 0;
        jack_get_cycle_times(client, &frame32, &now, &next, &periodUsecs);
        auto *out = static_cast<float *>(jack_port_get_buffer(port, n));
        timeline_clock::open(out, n);
        const std::int64_t wall = std::int64_t(now) + wallMinusJack.load(std::memory_order_relaxed);
        timeline_clock::close(out, n, frames.extend(frame32), std::uint64_t(std::max<std::int64_t>(0, wall)));
        return 0;
    }
    static int thunk(jack_nframes_t n, void *arg) { return static_cast<Writer *>(arg)->process(n); }
};

} // namespace

int main(int argc, char **argv)
{
    log::init("chronus-clock");
    auto options = parseOptions(argc, argv);
    if (!options)
        return options.exitStatus();
    struct sigaction sa{};
    sa.sa_handler = onQuit;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    auto jack = JackClient::open(options->clientName, options->jackServer);
    if (!jack) {
        log::error(jack.error());
        return 1;
    }
    Writer writer;
    writer.client = (*jack)->get();
    writer.port = jack_port_register(writer.client, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!writer.port) {
        log::error("cannot register JACK port out");
        return 1;
    }
    wallMinusJack.store(wallMinusJackMicros());
    jack_set_process_callback(writer.client, &Writer::thunk, &writer);
    if (jack_activate(writer.client) != 0) {
        log::error("cannot activate JACK client ", options->clientName);
        return 1;
    }
    log::info("ready: ", jack_port_name(writer.port), " carries the master's frame and wall-clock time each cycle");
    std::vector<bool> connected(options->connect.size(), false);
    // A port is connected once it has been there for a second: a NetJACK2 slave's ports appear
    // while the master's side of it is still starting, and a connection made then can break
    // the slave's join.
    std::vector<int> seenFor(options->connect.size(), 0);
    while (!quit.load() && !(*jack)->serverGone()) {
        wallMinusJack.store(wallMinusJackMicros(), std::memory_order_relaxed);
        for (std::size_t k = 0; k < options->connect.size(); ++k) {
            const std::string &to = options->connect[k];
            const bool there = jack_port_by_name(writer.client, to.c_str()) != nullptr;
            seenFor[k] = there ? seenFor[k] + 1 : 0;
            const bool now = there && jack_port_connected_to(writer.port, to.c_str());
            if (there && !now && seenFor[k] > kSettlePasses) {
                const int r = jack_connect(writer.client, jack_port_name(writer.port), to.c_str());
                if (r != 0 && r != EEXIST)
                    log::warn("cannot connect ", jack_port_name(writer.port), " to ", to, " (", r, ")");
            }
            const bool is = there && jack_port_connected_to(writer.port, to.c_str());
            if (is != connected[k])
                log::info(is ? "feeding " : "not feeding (gone) ", to);
            connected[k] = is;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if ((*jack)->serverGone()) {
        log::error("the JACK server went away: ", (*jack)->shutdownReason());
        return 1;
    }
    jack_deactivate(writer.client);
    return 0;
}
