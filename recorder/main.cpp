// chronus-recorder: wires options, the session (NSM, when NSM_URL is set), the JACK capture,
// the disk thread, the OSC control surface and the service manager's notifications
// together, then runs the control loop until a signal or the JACK server ends it.
#include "recorder/capture.hpp"
#include "recorder/recorder_surface.hpp"
#include "recorder/disk_writer.hpp"
#include "common/log.hpp"
#include "common/nsm.hpp"
#include "recorder/options.hpp"
#include "common/osc.hpp"
#include "recorder/capture_watchdog.hpp"
#include "common/service_notify.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>

using namespace chronus;

namespace {
std::atomic<bool> quit{false};
void onSignal(int) { quit.store(true); }

// Under NSM: announce, then wait for /nsm/client/open before any JACK client exists; the
// session's client id becomes the JACK client name and <path>/ the recordings directory.
// Returns the client (null without NSM_URL) or a reason to exit.
Expected<std::unique_ptr<NsmClient>> joinSession(rec::Options &options, const char *argv0)
{
    auto nsm = NsmClient::fromEnvironment();
    if (!nsm)
        return fail("NSM_URL is set but unusable: " + nsm.error());
    std::unique_ptr<NsmClient> client = std::move(*nsm);
    if (!client)
        return client;
    NsmClient *self = client.get(); // outlives the handler: it owns it
    client->onOpen([&options, self](const NsmClient::Session &s) -> Expected<void> {
        if (self->session())
            return self->session()->path == s.path ? Expected<void>{}
                                                     : fail("chronus-recorder cannot switch sessions; restart it");
        std::error_code ec;
        std::filesystem::create_directories(s.path, ec);
        if (ec)
            return fail("cannot create " + s.path + ": " + ec.message());
        options.clientName = s.clientId.substr(0, 63);
        options.dir = s.path + "/";
        return {};
    });
    if (!client->announce("chronus-recorder", "", argv0))
        return fail("cannot send the NSM announce");
    log::info("NSM: announced; waiting for the session to open");
    while (!quit.load() && !client->session() && client->announceError().empty())
        client->waitForOpen(100);
    if (!client->announceError().empty())
        return fail("NSM refused the announce: " + client->announceError());
    if (client->session())
        log::info("NSM: session ", client->session()->displayName, " opened as ", options.clientName, ", recording to ",
                  options.dir);
    return client;
}
} // namespace

int main(int argc, char **argv)
{
    log::init("chronus-recorder");
    auto options = rec::parseOptions(argc, argv);
    if (!options) {
        std::fprintf(stderr, "chronus-recorder: %s\n", options.error().c_str());
        return 2;
    }
    if (options->help) {
        std::fputs(rec::usage().c_str(), stdout);
        return 0;
    }

    struct sigaction sa{};
    sa.sa_handler = onSignal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN); // a file-size limit becomes EFBIG: a disk error we report

    auto nsm = joinSession(*options, argv[0]);
    if (!nsm) {
        log::error(nsm.error());
        return 1;
    }
    if (quit.load()) // SIGTERM before the session opened: nothing to finalize
        return 0;

    rec::CaptureConfig cc;
    cc.clientName = options->clientName;
    cc.serverName = options->jackServer;
    cc.channels = options->channels;
    cc.sources = options->ports;
    cc.ringSeconds = options->ringSeconds;
    auto capture = rec::Capture::open(cc);
    if (!capture) {
        log::error(capture.error());
        return 1;
    }

    rec::WriterConfig wc;
    wc.dir = options->dir;
    wc.format = options->format;
    wc.channels = options->channels;
    wc.rate = (*capture)->sampleRate();
    wc.splitFrames = options->splitFrames;
    wc.splitBytes = options->splitBytes;
    wc.sources = options->ports.empty() ? std::vector<std::string>{"chronus:out_*"} : options->ports;
    rec::Capture *cap = capture->get();
    wc.wallClock = [cap](std::uint64_t frame) { return cap->wallClockMicros(frame); };
    std::error_code ec;
    std::filesystem::create_directories(wc.dir, ec);
    if (ec) {
        log::error("cannot create recordings directory ", wc.dir.string(), ": ", ec.message());
        return 1;
    }
    rec::DiskWriter writer((*capture)->ring(), wc);
    writer.start();
    if (*nsm) // headers are refreshed every second and finalized on stop; nothing else to save
        (*nsm)->onSave([]() -> Expected<void> { return {}; });

    rec::RecorderSurface control(**capture, writer,
                         {options->prerollSeconds, options->maxSeconds, options->ringSeconds, options->dir});
    const bool localOnly = options->oscHost == "127.0.0.1" || options->oscHost == "localhost" || options->oscHost == "::1";
    auto server = osc::Server::open(options->oscPort, localOnly, [&control](const osc::Message &m) { control.handle(m); });
    if (!server) {
        log::error(server.error());
        return 1;
    }
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

    rec::CaptureWatchdog monitor(**capture);
    while (!quit.load() && !(*capture)->serverGone()) {
        (*server)->poll(50);
        if (*nsm)
            (*nsm)->poll(0);
        control.tick();
        monitor.tick();
    }
    service::stopping();
    const bool serverGone = (*capture)->serverGone();
    if (serverGone)
        log::warn("JACK server shut down: ", (*capture)->shutdownReason());
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
