// chronusctl: the command-line client for people and agents. Turns a command into OSC,
// sends it to the supervisor (or the recorder), waits for the reply and prints it. Wires
// the options, the connections and the command table (commands.hpp).
// Exit codes: 0 done, 1 the server answered /fail, 2 usage error, 3 no reply / no server.
#include "common/osc.hpp"
#include "tools/chronusctl/commands.hpp"
#include "tools/chronusctl/exchange.hpp"
#include "tools/chronusctl/options.hpp"

#include <csignal>
#include <cstdio>

namespace {

void onStop(int) { chronus::ctl::stopRequested = 1; }

} // namespace

int main(int argc, char **argv)
{
    using namespace chronus;
    auto options = ctl::parseOptions(argc, argv);
    if (!options)
        return options.exitStatus();
    const ctl::Command *command = ctl::findCommand(options->words[0]);
    if (!command) {
        std::fprintf(stderr, "chronusctl: unknown command '%s' (try --help)\n", options->words[0].c_str());
        return 2;
    }
    std::signal(SIGINT, onStop);
    std::signal(SIGTERM, onStop);

    const auto protocol = options->tcp ? osc::Protocol::Tcp : osc::Protocol::Udp;
    auto supervisor = osc::Client::open(protocol, options->host, options->port);
    if (!supervisor) {
        std::fprintf(stderr, "chronusctl: cannot reach %s:%d: %s\n", options->host.c_str(), options->port,
                     supervisor.error().c_str());
        return 3;
    }
    std::unique_ptr<osc::Client> recorder;
    if (options->recorderPort) {
        auto r = osc::Client::open(protocol, options->host, options->recorderPort);
        if (!r) {
            std::fprintf(stderr, "chronusctl: cannot reach the recorder at %s:%d: %s\n", options->host.c_str(),
                         options->recorderPort, r.error().c_str());
            return 3;
        }
        recorder = std::move(*r);
    }
    ctl::Session session{*options, **supervisor, recorder.get()};
    return command->run(session, options->words);
}
