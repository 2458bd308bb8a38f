// chronus-supervisor under a service manager and a session manager, end to end with a
// private jackd: sd_notify readiness, status, watchdog (withheld while JACK does not run the
// process callback) and stopping over a NOTIFY_SOCKET the test owns; the NSM client
// protocol against a stand-in nsmd built from chronus::osc::Server.
#include "harness/gtest_support.hpp"
#include "harness/live_suite.hpp"
#include "harness/private_jackd.hpp"
#include "harness/standins.hpp"

#include <jack/jack.h>

#include <regex>

using namespace chronus::harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using chronus::osc::Arg;
using chronus::osc::Message;

namespace {

// What the JACK server knows, asked through a probe client of our own.
struct JackProbe {
    jack_client_t *client = nullptr;
    JackProbe()
    {
        jack_status_t st{};
        client = jack_client_open("service-probe", JackNoStartServer, &st);
    }
    ~JackProbe()
    {
        if (client)
            jack_client_close(client);
    }
    bool hasClient(const std::string &name) const
    {
        char *uuid = jack_get_uuid_for_client_name(client, name.c_str());
        if (uuid)
            jack_free(uuid);
        return uuid != nullptr;
    }
    bool hasPort(const std::string &name) const { return jack_port_by_name(client, name.c_str()) != nullptr; }
    // Any port whose name starts with `prefix`.
    bool hasPortsOf(const std::string &prefix) const
    {
        const char **ports = jack_get_ports(client, ("^" + prefix).c_str(), nullptr, 0);
        const bool found = ports && ports[0];
        if (ports)
            jack_free(ports);
        return found;
    }
};

class ServiceTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        CHRONUS_REQUIRE_JACKD();
        ASSERT_TRUE(jack.start(dir.path)) << readText(dir.path / "jackd.log");
    }
    void TearDown() override
    {
        if (pid > 0)
            stopChild(pid);
    }

    // Starts chronus-supervisor with `env` set in its environment only; WATCHDOG_PID, when
    // asked for, is the supervisor's own pid (the shell execs it, keeping its pid).
    void start(const std::vector<std::pair<std::string, std::string>> &env, std::vector<std::string> extra = {},
               bool watchdogPid = false)
    {
        log = dir.path / ("supervisor-" + std::to_string(runs++) + ".log");
        // A state directory of this test's own: a kept live patch of an earlier run under the
        // same instance name (the NSM client id ends in pid % 1000) must not come back here.
        std::string cmd = "CHRONUS_STATE_DIR='" + (dir.path / "state").string() + "' ";
        for (const auto &[k, v] : env)
            cmd += k + "='" + v + "' ";
        if (watchdogPid)
            cmd += "WATCHDOG_PID=$$ ";
        cmd += "exec '" + envOr("CHRONUS_SUPERVISOR", "chronus-supervisor") + "' --osc-port 0 --no-connect";
        for (const auto &e : extra)
            cmd += " '" + e + "'";
        pid = spawn({"/bin/sh", "-c", cmd}, log.string());
        ASSERT_GT(pid, 0);
    }
    // The OSC port from the supervisor's "ready" log line (0 if not there yet).
    int oscPort() const
    {
        std::smatch m;
        const std::string text = readText(log);
        return std::regex_search(text, m, std::regex("ready: OSC on port ([0-9]+)")) ? std::stoi(m[1]) : 0;
    }
    std::unique_ptr<chronus::osc::Client> connect(int timeoutMs = 15000)
    {
        int port = 0;
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        while ((port = oscPort()) == 0 && std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(20ms);
        if (port == 0)
            return nullptr;
        auto c = chronus::osc::Client::open(chronus::osc::Protocol::Udp, "127.0.0.1", port);
        return c ? std::move(*c) : nullptr;
    }
    // SIGTERM and the exit status.
    int terminate()
    {
        const int status = stopChild(pid, SIGTERM, 10000);
        pid = -1;
        return status;
    }
    std::string instance() const { return "svc" + std::to_string(getpid()) + "-" + std::to_string(runs); }

    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    pid_t pid = -1;
    fs::path log;
    int runs = 0;
};

fs::path notifyPath(const char *tag)
{
    // Unix socket paths hold 107 bytes: keep this one short.
    return fs::temp_directory_path() / ("chronus-svc-" + std::to_string(getpid()) + "-" + tag + ".sock");
}

#ifdef CHRONUS_HAVE_SYSTEMD
constexpr bool kNotifies = true;
#else
constexpr bool kNotifies = false; // the systemd feature is off: the supervisor stays silent
#endif

bool exitedZero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

} // namespace

TEST_F(ServiceTest, SaysReadyOnlyOnceOscAnswersAndJackPortsExistThenFeedsTheWatchdogAndSaysStoppingOnSigterm)
{
    NotifySocket notify(notifyPath("ready"));
    ASSERT_TRUE(notify.ok());
    start({{"NOTIFY_SOCKET", notify.path().string()}, {"WATCHDOG_USEC", "400000"}}, {"--instance", instance()},
          true);
    if (!kNotifies) {
        auto client = connect();
        ASSERT_TRUE(client && answers(*client)) << readText(log);
        EXPECT_FALSE(notify.await("=", 500)) << "built without systemd, yet: " << notify.history();
        return;
    }
    ASSERT_TRUE(notify.await("READY=1", 20000)) << "no READY=1: " << notify.history() << "\n" << readText(log);
    // Ready means ready: JACK plays our ports and OSC answers at once, without a retry.
    {
        JackProbe probe;
        ASSERT_TRUE(probe.client);
        EXPECT_TRUE(probe.hasPort("chronus:out_L"));
        EXPECT_TRUE(probe.hasPort("chronus:out_R"));
    }
    auto client = connect(0);
    ASSERT_TRUE(client) << "READY=1 came before the supervisor logged its OSC port";
    auto pong = client->request("/ping", {}, 500);
    ASSERT_TRUE(pong) << "READY=1 came before OSC answered";
    EXPECT_EQ(pong->address, "/pong");

    // The watchdog at half the 400 ms interval: about 10 in two seconds.
    const int watchdogs = notify.count("WATCHDOG=1", 2000);
    EXPECT_GE(watchdogs, 6) << notify.history();
    EXPECT_LE(watchdogs, 14) << notify.history();
    EXPECT_TRUE(notify.sawAny("STATUS=")) << notify.history();
    // Once both workers are verified the status says so.
    if (!notify.sawAny("STATUS=redundant, 2 workers")) {
        EXPECT_TRUE(notify.await("STATUS=redundant, 2 workers", 5000)) << notify.history();
    }

    kill(pid, SIGTERM);
    EXPECT_TRUE(notify.await("STOPPING=1", 5000)) << notify.history();
    EXPECT_TRUE(exitedZero(terminate())) << readText(log);
}

TEST_F(ServiceTest, WithholdsTheWatchdogWhileJackDoesNotRunTheProcessCallback)
{
    NotifySocket notify(notifyPath("stall"));
    ASSERT_TRUE(notify.ok());
    start({{"NOTIFY_SOCKET", notify.path().string()}, {"WATCHDOG_USEC", "400000"}}, {"--instance", instance()},
          true);
    if (!kNotifies)
        GTEST_SKIP() << "built without the systemd feature: there is no watchdog to withhold";
    ASSERT_TRUE(notify.await("READY=1", 20000)) << notify.history() << "\n" << readText(log);
    ASSERT_GE(notify.count("WATCHDOG=1", 1000), 3) << notify.history();

    // Freeze the JACK server: the supervisor's control loop still runs, its audio does not.
    ASSERT_EQ(kill(jack.pid(), SIGSTOP), 0);
    notify.count("WATCHDOG=1", 1600); // the stall limit is 1 s; let it pass
    const int whileStalled = notify.count("WATCHDOG=1", 1500);
    kill(jack.pid(), SIGCONT);
    EXPECT_EQ(whileStalled, 0) << "the watchdog was fed while JACK ran no cycle: " << notify.history();
    EXPECT_TRUE(notify.sawAny("STATUS=audio stalled")) << notify.history();
    EXPECT_TRUE(notify.await("WATCHDOG=1", 5000)) << "the watchdog did not resume: " << notify.history() << "\n"
                                                  << readText(log);
}

TEST_F(ServiceTest, UnderNsmItJoinsTheSessionBeforeJackSavesTheLivePatchThereAndLoadsItNextTime)
{
    FakeNsmd nsmd;
    ASSERT_TRUE(nsmd.server);
    const std::string id = "nCHRT" + std::to_string(getpid() % 1000);
    const fs::path session = dir.path / "session" / ("Chronus." + id);
    const std::string workerPrefix = id + "-worker-";

    start({{"NSM_URL", nsmd.url()}});
    auto announce = nsmd.await("/nsm/server/announce", "", 10000);
    ASSERT_TRUE(announce) << "no announce: " << readText(log);
    EXPECT_EQ(announce->stringAt(0), "Chronus");
    EXPECT_EQ(announce->stringAt(1), "") << "no optional capability is implemented";
    EXPECT_EQ(announce->intAt(3), 1);
    EXPECT_EQ(announce->intAt(5), pid);
    const std::string back = announce->senderUrl;
    ASSERT_TRUE(nsmd.server->sendTo(back, "/reply", {std::string("/nsm/server/announce"), std::string("hello"),
                                                      std::string("fake-nsmd"), std::string(":server-control:")}));
    std::this_thread::sleep_for(700ms);
    {
        JackProbe probe;
        ASSERT_TRUE(probe.client);
        EXPECT_FALSE(probe.hasPortsOf("chronus")) << "a JACK client exists before the session opened";
        EXPECT_FALSE(probe.hasClient("chronus"));
        EXPECT_FALSE(probe.hasClient(id));
        EXPECT_FALSE(probe.hasClient(workerPrefix + "0"));
    }

    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/open", {session.string(), std::string("demo"), id}));
    auto opened = nsmd.await("/reply", "/nsm/client/open", 5000);
    ASSERT_TRUE(opened) << "no reply to open: " << readText(log);
    EXPECT_TRUE(fs::is_directory(session));
    auto client = connect();
    ASSERT_TRUE(client) << readText(log);
    ASSERT_TRUE(answers(*client)) << readText(log);
    ASSERT_TRUE(waitRedundant(*client, 10000ms)) << readText(log);
    {
        JackProbe probe;
        EXPECT_TRUE(probe.hasPort(id + ":out_L"));
        EXPECT_TRUE(probe.hasClient(workerPrefix + "0"));
        EXPECT_TRUE(probe.hasClient(workerPrefix + "1"));
        EXPECT_FALSE(probe.hasClient("chronus"));
        EXPECT_FALSE(probe.hasPortsOf("chronus"));
    }

    for (const auto &[addr, args] : std::vector<std::pair<std::string, std::vector<Arg>>>{
             {"/patch/create", {std::string("nsmsine"), std::string("sine"), std::string("freq"), 330.0f}},
             {"/patch/connect", {std::string("nsmsine"), std::string("output")}},
             {"/patch/commit", {}}}) {
        auto r = command(*client, addr, args, 10000);
        ASSERT_TRUE(r) << addr;
        ASSERT_EQ(r->address, "/done") << addr << ": " << (r->stringAt(1) ? *r->stringAt(1) : "");
    }
    const fs::path patchFile = session / "patch.json";
    EXPECT_FALSE(fs::exists(patchFile)) << "saved before the session manager asked";
    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/save", {}));
    auto saved = nsmd.await("/reply", "/nsm/client/save", 5000);
    ASSERT_TRUE(saved) << "no reply to save: " << readText(log);
    ASSERT_TRUE(fs::exists(patchFile));
    EXPECT_FALSE(fs::exists(session / "patch.json.tmp"));
    const std::string savedText = readText(patchFile);
    EXPECT_NE(savedText.find("nsmsine"), std::string::npos) << savedText;
    EXPECT_NE(savedText.find("330"), std::string::npos) << savedText;
    // NSM quits clients with SIGTERM.
    EXPECT_TRUE(exitedZero(terminate())) << readText(log);

    // The next run of the session plays the saved patch.
    FakeNsmd nsmd2;
    ASSERT_TRUE(nsmd2.server);
    start({{"NSM_URL", nsmd2.url()}});
    auto announce2 = nsmd2.await("/nsm/server/announce", "", 10000);
    ASSERT_TRUE(announce2) << readText(log);
    ASSERT_TRUE(nsmd2.server->sendTo(announce2->senderUrl, "/nsm/client/open",
                                     {session.string(), std::string("demo"), id}));
    ASSERT_TRUE(nsmd2.await("/reply", "/nsm/client/open", 5000)) << readText(log);
    auto client2 = connect();
    ASSERT_TRUE(client2) << readText(log);
    ASSERT_TRUE(answers(*client2)) << readText(log);
    auto dump = command(*client2, "/patch/dump");
    ASSERT_TRUE(dump);
    ASSERT_EQ(dump->address, "/done");
    const std::string live = dump->stringAt(1).value_or("");
    EXPECT_NE(live.find("nsmsine"), std::string::npos) << live;
    EXPECT_NE(live.find("330"), std::string::npos) << live;
    EXPECT_TRUE(exitedZero(terminate())) << readText(log);
}

TEST_F(ServiceTest, UnderNsmWithoutAnOpenItExitsWithAClearMessageAndNoJackClient)
{
    FakeNsmd nsmd;
    ASSERT_TRUE(nsmd.server);
    start({{"NSM_URL", nsmd.url()}}, {"--nsm-open-timeout", "1"});
    ASSERT_TRUE(nsmd.await("/nsm/server/announce", "", 10000)) << readText(log);
    int status = 0;
    pid_t waited = 0;
    for (int i = 0; i < 500 && waited == 0; ++i) {
        waited = waitpid(pid, &status, WNOHANG);
        if (waited == 0)
            std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(waited, pid) << "still waiting after 5 s with a 1 s open timeout";
    pid = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    EXPECT_NE(readText(log).find("no /nsm/client/open within 1 s"), std::string::npos) << readText(log);
    JackProbe probe;
    EXPECT_FALSE(probe.hasPortsOf("chronus"));
}

TEST_F(ServiceTest, UnderNsmSigtermBeforeTheSessionOpensExitsZero)
{
    FakeNsmd nsmd;
    ASSERT_TRUE(nsmd.server);
    start({{"NSM_URL", nsmd.url()}});
    ASSERT_TRUE(nsmd.await("/nsm/server/announce", "", 10000)) << readText(log);
    EXPECT_TRUE(exitedZero(terminate())) << readText(log);
}
