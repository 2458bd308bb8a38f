// chronus-recorder: wires options, the JACK capture, the disk thread and the OSC control
// surface together, then runs the control loop until a signal or the JACK server ends it.
#include "capture.hpp"
#include "control.hpp"
#include "disk_writer.hpp"
#include "log.hpp"
#include "options.hpp"
#include "osc.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>

using namespace chronus;

namespace {
std::atomic<bool> quit{false};
void onSignal(int) { quit.store(true); }
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

    rec::Control control(**capture, writer,
                         {options->prerollSeconds, options->maxSeconds, options->ringSeconds, options->dir});
    const bool localOnly = options->oscHost == "127.0.0.1" || options->oscHost == "localhost" || options->oscHost == "::1";
    auto server = osc::Server::open(options->oscPort, localOnly, [&control](const osc::Message &m) { control.handle(m); });
    if (!server) {
        log::error(server.error());
        return 1;
    }
    control.attach(**server);
    (*capture)->reconnect(true);
    log::info("ready: JACK client ", options->clientName, " with ", options->channels, " inputs at ",
              (*capture)->sampleRate(), " Hz, OSC on port ", (*server)->port(), " (UDP and TCP), recording to ",
              options->dir);

    while (!quit.load() && !(*capture)->serverGone()) {
        (*server)->poll(50);
        control.tick();
    }
    if ((*capture)->serverGone())
        log::warn("JACK server shut down: ", (*capture)->shutdownReason());
    control.finish((*capture)->serverGone());
    writer.stop();
    return 0;
}
