// chronus-recorder: wires options, the session (NSM, when NSM_URL is set), the JACK capture,
// the disk thread, the OSC control surface and the service manager's notifications
// together, then runs the control loop until a signal or the JACK server ends it.
#include "common/log.hpp"
#include "common/nsm.hpp"
#include "common/osc.hpp"
#include "common/service_notify.hpp"
#include "recorder/capture.hpp"
#include "recorder/capture_watchdog.hpp"
#include "recorder/disk_writer.hpp"
#include "recorder/options.hpp"
#include "recorder/recorder_surface.hpp"

#include <atomic>
#include <csignal>
#include <filesystem>

using namespace chronus;

namespace {

std::atomic<bool> quit{false};
void onSignal(int) { quit.store(true); }

void installSignalHandlers()
{
    struct sigaction sa{};
    sa.sa_handler = onSignal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN); // a file-size limit becomes EFBIG: a disk error we report
}

// Under NSM the session's client id becomes the JACK client name and its directory the
// recordings directory. Null without NSM_URL.
Expected<std::unique_ptr<NsmClient>> joinSession(rec::Options &options, const char *argv0)
{
    auto client = joinNsmSession(
        {"chronus-recorder", "chronus-recorder", argv0, std::nullopt},
        [&options](const NsmClient::Session &s) -> Expected<void> {
            std::error_code ec;
            std::filesystem::create_directories(s.path, ec);
            if (ec)
                return fail("cannot create " + s.path + ": " + ec.message());
            options.clientName = s.clientId.substr(0, 63);
            options.dir = s.path + "/";
            return {};
        },
        quit);
    if (!client || !*client || !(*client)->session())
        return client;
    log::info("NSM: session ", (*client)->session()->displayName, " opened as ", options.clientName,
              ", recording to ", options.dir);
    // Headers are refreshed every second and finalized on stop: nothing else to save.
    (*client)->onSave([]() -> Expected<void> { return {}; });
    return client;
}

rec::CaptureConfig captureConfig(const rec::Options &o)
{
    rec::CaptureConfig cc;
    cc.clientName = o.clientName;
    cc.serverName = o.jackServer;
    cc.channels = o.channels;
    cc.sources = o.ports;
    cc.ringSeconds = o.ringSeconds;
    cc.clock = o.clock;
    return cc;
}

// The disk writer's settings; creates the recordings directory.
Expected<rec::WriterConfig> writerConfig(const rec::Options &o, rec::Capture &capture)
{
    rec::WriterConfig wc;
    wc.dir = o.dir;
    wc.format = o.format;
    wc.channels = o.channels;
    wc.rate = capture.sampleRate();
    wc.splitFrames = o.splitFrames;
    wc.splitBytes = o.splitBytes;
    wc.sources = o.ports.empty() ? std::vector<std::string>{"chronus:out_*"} : o.ports;
    wc.wallClock = [&capture](std::uint64_t frame) { return capture.wallClockMicros(frame); };
    wc.clock = o.clock;
    wc.jackFrameOf = [&capture](std::uint64_t frame) { return capture.jackFrameOf(frame); };
    std::error_code ec;
    std::filesystem::create_directories(wc.dir, ec);
    if (ec)
        return fail("cannot create recordings directory " + wc.dir.string() + ": " + ec.message());
    return wc;
}

// Serves OSC and the session until a signal or the JACK server ends it; true when the
// server went away.
bool serve(rec::Capture &capture, osc::Server &server, rec::RecorderSurface &control, NsmClient *nsm)
{
    rec::CaptureWatchdog monitor(capture);
    while (!quit.load() && !capture.serverGone()) {
        server.poll(50);
        if (nsm)
            nsm->poll(0);
        control.tick();
        monitor.tick();
    }
    service::stopping();
    if (capture.serverGone())
        log::warn("JACK server shut down: ", capture.shutdownReason());
    return capture.serverGone();
}

} // namespace

int main(int argc, char **argv)
{
    log::init("chronus-recorder");
    auto options = rec::parseOptions(argc, argv);
    if (!options)
        return options.exitStatus();
    installSignalHandlers();
    auto nsm = joinSession(*options, argv[0]);
    if (!nsm) {
        log::error(nsm.error());
        return 1;
    }
    if (quit.load()) // SIGTERM before the session opened: nothing to finalize
        return 0;

    auto capture = rec::Capture::open(captureConfig(*options));
    if (!capture) {
        log::error(capture.error());
        return 1;
    }
    auto wc = writerConfig(*options, **capture);
    if (!wc) {
        log::error(wc.error());
        return 1;
    }
    rec::DiskWriter writer((*capture)->ring(), *wc);
    writer.start();
    rec::RecorderSurface control(**capture, writer,
                                 {options->prerollSeconds, options->maxSeconds, options->ringSeconds, options->dir});
    // Who may talk to us is --allow's to say (liblo binds every interface).
    auto server = osc::Server::open(options->oscPort, false, [&control](const osc::Message &m) { control.handle(m); });
    if (!server) {
        log::error(server.error());
        return 1;
    }
    (*server)->setAllowed(*osc::AllowList::parse(options->allow)); // checked while parsing
    control.attach(**server);
    // jack_connect returns before the graph uses the connection: let two cycles pass so a
    // take started right after READY does not begin with a silent channel.
    if ((*capture)->reconnect(true) > 0)
        (*capture)->awaitCycles(2, 1000);
    log::info("ready: JACK client ", options->clientName, " with ", options->channels, " inputs at ",
              (*capture)->sampleRate(), " Hz, OSC on port ", (*server)->port(), " (UDP and TCP), recording to ",
              options->dir);
    service::ready();
    service::status(log::cat("OSC on port ", (*server)->port(), ", recording to ", options->dir));

    const bool serverGone = serve(**capture, **server, control, nsm->get());
    control.finish(serverGone);
    writer.stop();
    if (serverGone) {
        // Not a clean stop: a service manager (Restart=on-failure) should start us again
        // once the server is back.
        log::error("exiting with status 1: the JACK server went away");
        return 1;
    }
    return 0;
}
