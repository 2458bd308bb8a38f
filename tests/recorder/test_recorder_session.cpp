// chronus-recorder under a service manager and a session manager, end to end with a private
// jackd: sd_notify readiness, watchdog and stopping over a NOTIFY_SOCKET the test owns, and
// the NSM client protocol against a stand-in nsmd built from chronus::osc::Server.
#include "tests/recorder/jack_fixture.hpp"
#include "harness/standins.hpp"
#include "common/osc.hpp"

#include <gtest/gtest.h>


using namespace chronus;
using namespace testing_rec;
using namespace std::chrono_literals;

namespace {

class SessionTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        REQUIRE_JACKD();
        dir_ = chronus::harness::freshTestDir("chronus-rec-session");
        ASSERT_TRUE(jack_.start(dir_)) << jack_.failure();
        ramp_ = spawn({envOr("CHRONUS_RAMP", "chronus-ramp-source"), "--channels", "2"}, (dir_ / "ramp.log").string());
    }
    void TearDown() override
    {
        if (recorder_ > 0)
            stopChild(recorder_);
        if (ramp_ > 0)
            stopChild(ramp_);
        if (!HasFailure())
            fs::remove_all(dir_);
    }
    // Starts the recorder with extra environment variables (set in the child only).
    void startRecorder(std::vector<std::pair<std::string, std::string>> env)
    {
        port_ = freeUdpPort();
        recorder_ = spawn({envOr("CHRONUS_RECORDER", "chronus-recorder"), "--osc-port", std::to_string(port_), "--dir",
                           (dir_ / "rec").string()},
                          (dir_ / "recorder.log").string(), [env] {
                              for (const auto &[k, v] : env)
                                  setenv(k.c_str(), v.c_str(), 1);
                          });
        auto c = osc::Client::open(osc::Protocol::Udp, "127.0.0.1", port_);
        ASSERT_TRUE(c) << c.error();
        client_ = std::move(*c);
    }
    // Whether JACK knows `port`, asked through a probe client of our own.
    static bool portExists(const std::string &port)
    {
        jack_status_t st{};
        jack_client_t *probe = jack_client_open("session-probe", JackNoStartServer, &st);
        if (!probe)
            return false;
        const bool found = jack_port_by_name(probe, port.c_str()) != nullptr;
        jack_client_close(probe);
        return found;
    }
    static bool jackClientWithPrefix(const std::string &prefix)
    {
        jack_status_t st{};
        jack_client_t *probe = jack_client_open("session-probe", JackNoStartServer, &st);
        if (!probe)
            return false;
        const char **ports = jack_get_ports(probe, ("^" + prefix).c_str(), nullptr, 0);
        const bool found = ports && ports[0];
        if (ports)
            jack_free(ports);
        jack_client_close(probe);
        return found;
    }

    fs::path dir_;
    JackServer jack_;
    pid_t ramp_ = -1, recorder_ = -1;
    int port_ = 0;
    std::unique_ptr<osc::Client> client_;
};

using chronus::harness::FakeNsmd;
using chronus::harness::NotifySocket;

} // namespace

TEST_F(SessionTest, TellsSystemdItIsReadyOnceJackAndOscServeFeedsTheWatchdogAndSaysStopping)
{
    // Unix socket paths are limited to 107 bytes: keep this one short.
    const fs::path sock = fs::temp_directory_path() / ("chronus-notify-" + std::to_string(getpid()) + ".sock");
    NotifySocket notify(sock);
    ASSERT_TRUE(notify.ok());
    startRecorder({{"NOTIFY_SOCKET", sock.string()}, {"WATCHDOG_USEC", "200000"}});
#ifndef CHRONUS_HAVE_SYSTEMD
    // Built without the systemd feature: the recorder serves but never notifies.
    std::optional<osc::Message> pong;
    for (int i = 0; i < 100 && !pong; ++i)
        pong = client_->request("/ping", {}, 100);
    ASSERT_TRUE(pong);
    EXPECT_FALSE(notify.await("=", 500)) << notify.history();
    return;
#endif
    ASSERT_TRUE(notify.await("READY=1", 10000)) << "no READY=1; see " << dir_ << "/recorder.log";
    // Ready means ready: the JACK inputs exist and OSC answers at once.
    EXPECT_TRUE(portExists("chronus-recorder:in_1"));
    EXPECT_TRUE(client_->request("/ping", {}, 200)) << "READY=1 came before OSC answered";
    // Watchdog at half the 200 ms interval: about 10 in a second; ask for at least 5.
    int watchdogs = 0;
    const auto end = std::chrono::steady_clock::now() + 1000ms;
    bool statusSeen = false;
    while (std::chrono::steady_clock::now() < end) {
        const std::string m = notify.receive(50);
        watchdogs += m.find("WATCHDOG=1") != std::string::npos;
        statusSeen = statusSeen || m.find("STATUS=OSC on port " + std::to_string(port_)) != std::string::npos;
    }
    statusSeen = statusSeen || notify.sawAny("STATUS=OSC on port " + std::to_string(port_));
    EXPECT_TRUE(statusSeen) << notify.history();
    EXPECT_GE(watchdogs, 5);
    EXPECT_LE(watchdogs, 15);
    kill(recorder_, SIGTERM);
    EXPECT_TRUE(notify.await("STOPPING=1", 5000));
    int status = 0;
    waitpid(recorder_, &status, 0);
    recorder_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(SessionTest, WithholdsTheWatchdogWhileJackDoesNotRunTheProcessCallback)
{
    const fs::path sock = fs::temp_directory_path() / ("chronus-notify-" + std::to_string(getpid()) + "-stall.sock");
    NotifySocket notify(sock);
    ASSERT_TRUE(notify.ok());
    startRecorder({{"NOTIFY_SOCKET", sock.string()}, {"WATCHDOG_USEC", "400000"}});
#ifndef CHRONUS_HAVE_SYSTEMD
    GTEST_SKIP() << "built without the systemd feature: there is no watchdog to withhold";
#endif
    ASSERT_TRUE(notify.await("READY=1", 10000)) << "no READY=1; see " << dir_ << "/recorder.log";
    ASSERT_GE(notify.count("WATCHDOG=1", 1000), 3) << notify.history();

    // Freeze the JACK server: the recorder's control loop still runs, its audio does not.
    ASSERT_EQ(kill(jack_.pid(), SIGSTOP), 0);
    notify.count("WATCHDOG=1", 2600); // the stall limit is 2 s; let it pass
    const int whileStalled = notify.count("WATCHDOG=1", 1500);
    const bool answered = bool(client_->request("/ping", {}, 500));
    kill(jack_.pid(), SIGCONT);
    EXPECT_EQ(whileStalled, 0) << "the watchdog was fed while JACK ran no cycle: " << notify.history();
    EXPECT_TRUE(answered) << "the control loop itself should keep running";
    EXPECT_TRUE(notify.sawAny("STATUS=audio stalled")) << notify.history();
    EXPECT_TRUE(notify.await("WATCHDOG=1", 5000)) << "the watchdog did not resume: " << notify.history();
    EXPECT_TRUE(alive(recorder_));
}

TEST_F(SessionTest, UnderNsmItWaitsForOpenThenUsesTheSessionNameAndDirectoryAndQuitsCleanlyOnSigterm)
{
    FakeNsmd nsmd;
    ASSERT_TRUE(nsmd.server);
    startRecorder({{"NSM_URL", nsmd.url()}});
    auto announce = nsmd.await("/nsm/server/announce", "", 10000);
    ASSERT_TRUE(announce) << "no announce; see " << dir_ << "/recorder.log";
    EXPECT_EQ(announce->stringAt(0), "chronus-recorder");
    EXPECT_EQ(announce->intAt(5), recorder_);
    const std::string back = announce->senderUrl;
    ASSERT_TRUE(nsmd.server->sendTo(back, "/reply", {std::string("/nsm/server/announce"), std::string("hello"),
                                                      std::string("fake-nsmd"), std::string(":server-control:")}));
    // No JACK client and no OSC before the session is open.
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(jackClientWithPrefix("chronus-recorder"));
    EXPECT_FALSE(jackClientWithPrefix("Recorder.nXYZ"));
    EXPECT_FALSE(client_->request("/ping", {}, 100));

    const fs::path sessionPath = dir_ / "session" / "Recorder.nXYZ";
    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/open", {sessionPath.string(), std::string("demo"),
                                                                std::string("Recorder.nXYZ")}));
    auto opened = nsmd.await("/reply", "/nsm/client/open", 5000);
    ASSERT_TRUE(opened) << "no reply to open; see " << dir_ << "/recorder.log";
    EXPECT_TRUE(fs::is_directory(sessionPath));
    std::optional<osc::Message> pong;
    for (int i = 0; i < 50 && !pong; ++i)
        pong = client_->request("/ping", {}, 100);
    ASSERT_TRUE(pong) << "recorder never answered /ping after open";
    EXPECT_TRUE(portExists("Recorder.nXYZ:in_1"));
    EXPECT_FALSE(jackClientWithPrefix("chronus-recorder"));

    auto started = client_->request("/record/start", {std::string("take")}, 5000);
    ASSERT_TRUE(started);
    ASSERT_EQ(started->address, "/done") << osc::toString(*started);
    const fs::path path = *started->stringAt(1);
    EXPECT_EQ(path.parent_path(), fs::canonical(sessionPath));

    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/save", {}));
    auto saved = nsmd.await("/reply", "/nsm/client/save", 5000);
    EXPECT_TRUE(saved) << "no reply to save";
    std::this_thread::sleep_for(700ms);

    // NSM quits clients with SIGTERM: the take is finalized and the process exits 0.
    const int status = stopChild(recorder_, SIGTERM);
    recorder_ = -1;
    expectFinalizedTake(status, path, 48000 / 2, dir_ / "ramp.log");
}
