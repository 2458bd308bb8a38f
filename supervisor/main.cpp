// chronus-supervisor: the JACK client `chronus` that plays one of two lockstep workers and
// fails over to the other inside the same cycle. Wires options, the session (NSM, when
// NSM_URL is set) and the supervisor's parts (SupervisorApp), then runs the control loop.
#include "common/log.hpp"
#include "supervisor/options.hpp"
#include "supervisor/session.hpp"
#include "supervisor/supervisor_app.hpp"

#include <atomic>
#include <csignal>

namespace {

std::atomic<bool> quit{false};
void onQuit(int) { quit.store(true); }

void installSignalHandlers()
{
    struct sigaction sa{};
    sa.sa_handler = onQuit;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

} // namespace

int main(int argc, char **argv)
{
    using namespace chronus;
    using namespace chronus::supervisor;
    log::init("chronus-supervisor");
    auto options = parseOptions(argc, argv);
    if (!options)
        return options.exitStatus();
    installSignalHandlers();

    // Under NSM no JACK client may exist before the session opens; the session then names
    // the JACK client and holds the patch.
    auto nsm = joinSession(*options, argv[0], quit);
    if (!nsm) {
        log::error(nsm.error());
        return 1;
    }
    if (quit.load()) // SIGTERM before the session opened: nothing was started
        return 0;

    auto app = SupervisorApp::open(*options, std::move(*nsm));
    if (!app) {
        log::error(app.error());
        return 1;
    }
    return (*app)->run(quit);
}
