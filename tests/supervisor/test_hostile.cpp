// A control loop that never waits on anyone: while one sender floods the supervisor with
// 20,000 hostile datagrams (random bytes, truncated and mistyped OSC, 8 KB strings, NaN and
// Inf, broken bundles) and 100 /record/start for a recorder that is not running, another
// client's /ping is answered within 50 ms, every time.
#include "harness/gtest_support.hpp"
#include "harness/live_suite.hpp"
#include "harness/private_jackd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <limits>
#include <random>

using namespace chronus::harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace chronus::osc;

namespace {

std::string pad(std::string s)
{
    s.push_back('\0');
    while (s.size() % 4)
        s.push_back('\0');
    return s;
}

std::string be32(std::uint32_t v)
{
    v = htonl(v);
    return std::string(reinterpret_cast<const char *>(&v), 4);
}

std::string floatArg(float f)
{
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return be32(bits);
}

// One hostile datagram of kind k.
std::string hostile(std::mt19937 &rng, int k)
{
    switch (k % 8) {
    case 0: { // random bytes
        std::string s(1 + rng() % 200, '\0');
        for (char &c : s)
            c = char(rng());
        return s;
    }
    case 1: { // truncated OSC: address and a typetag promising more than follows
        return pad("/mod/a/freq") + pad(",fff") + floatArg(1.0f);
    }
    case 2: // mistyped: a string where a number belongs
        return pad("/mod/a/freq") + pad(",s") + pad("loud");
    case 3: // 8 KB string
        return pad("/patch/create") + pad(",s") + pad(std::string(8192, 'x'));
    case 4: // NaN
        return pad("/mod/a/freq") + pad(",f") + floatArg(std::numeric_limits<float>::quiet_NaN());
    case 5: // Inf
        return pad("/mod/a/gain") + pad(",f") + floatArg(std::numeric_limits<float>::infinity());
    case 6: // a bundle whose element claims more bytes than it has
        return pad("#bundle") + be32(0) + be32(1) + be32(1000) + pad("/ping");
    default: // an address nobody knows
        return pad("/no/such/thing") + pad(",i") + be32(7);
    }
}

} // namespace

TEST(LiveHostile, PingIsAnsweredWithin50msWhileAnotherSenderFloodsTheSupervisor)
{
    CHRONUS_REQUIRE_JACKD();
    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
    Supervisor sup;
    // The recorder port points where nobody listens.
    ASSERT_TRUE(sup.start(dir.path, {"--recorder-port", "9"})) << sup.log();
    auto client = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
    ASSERT_TRUE(client);
    Client &c = **client;
    ASSERT_TRUE(waitRedundant(c, 5s));
    ASSERT_TRUE(command(c, "/patch/create", {"a", "sine", "freq", 220.0f}));

    std::atomic<bool> flooding{true};
    std::thread flooder([&] {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(std::uint16_t(sup.port()));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        std::mt19937 rng(5);
        const std::string record = pad("/record/start") + pad(",s") + pad("take.wav");
        for (int i = 0; i < 20000; ++i) {
            const std::string d = i % 200 == 0 ? record : hostile(rng, i);
            ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to);
            if (i % 500 == 0) // in bursts, over a second or so
                std::this_thread::sleep_for(20ms);
        }
        ::close(fd);
        flooding = false;
    });

    std::vector<double> rttMs;
    int unanswered = 0;
    const auto until = std::chrono::steady_clock::now() + 2500ms;
    while (flooding || std::chrono::steady_clock::now() < until) {
        const auto t0 = std::chrono::steady_clock::now();
        auto pong = c.request("/ping", {std::int32_t(rttMs.size())}, 1000);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!pong || pong->address != "/pong")
            ++unanswered;
        else
            rttMs.push_back(ms);
        std::this_thread::sleep_for(10ms);
    }
    flooder.join();
    ASSERT_GT(rttMs.size(), 50u);
    std::sort(rttMs.begin(), rttMs.end());
    std::printf("ping during the flood: %zu answered, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", rttMs.size(),
                rttMs[rttMs.size() / 2], rttMs[rttMs.size() * 99 / 100], rttMs.back());
    EXPECT_EQ(unanswered, 0);
    EXPECT_LT(rttMs.back(), 50.0) << "a ping waited behind the flood";

    // And it still works: a valid command is done, the flood was counted.
    auto done = command(c, "/mod/a/freq", {330.0f});
    ASSERT_TRUE(done);
    EXPECT_EQ(done->address, "/done");
    const auto st = status(c);
    ASSERT_TRUE(st);
    EXPECT_GT(num(*st, "rejected"), 100) << "hostile commands and recorder requests were answered /fail";
    EXPECT_EQ(sup.stop(), 0) << sup.log();
}

namespace {

// A blocking TCP connection to the supervisor; -1 when it cannot connect.
int connectTcp(int port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(std::uint16_t(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) == 0)
        return fd;
    if (fd >= 0)
        ::close(fd);
    return -1;
}

void sendAll(int fd, const std::string &bytes) { (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

} // namespace

// The same over TCP: one connection floods hostile size-framed packets (and /record/start
// for a recorder that is not running, which wait for it) without reading a single answer,
// another asks for the module catalogue again and again and never reads either, a third
// announces a 2 GB message, a fourth sends SLIP garbage. Pings over UDP and over TCP are
// answered within 50 ms all along.
TEST(LiveHostile, PingIsAnsweredWithin50msWhileTcpClientsFloodStallAndLie)
{
    CHRONUS_REQUIRE_JACKD();
    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
    Supervisor sup;
    ASSERT_TRUE(sup.start(dir.path, {"--recorder-port", "9"})) << sup.log();
    auto udp = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
    auto tcp = Client::open(Protocol::Tcp, "127.0.0.1", sup.port());
    ASSERT_TRUE(udp && tcp);
    ASSERT_TRUE(waitRedundant(**udp, 5s));
    ASSERT_TRUE(command(**udp, "/patch/create", {"a", "sine", "freq", 220.0f}));

    std::atomic<bool> flooding{true};
    std::thread flooder([&] {
        const int fd = connectTcp(sup.port());
        std::mt19937 rng(7);
        const std::string record = pad("/record/start") + pad(",s") + pad("take.wav");
        for (int i = 0; i < 20000 && fd >= 0; ++i) {
            const std::string d = i % 200 == 0 ? record : hostile(rng, i);
            sendAll(fd, be32(std::uint32_t(d.size())) + d);
            if (i % 500 == 0)
                std::this_thread::sleep_for(20ms);
        }
        if (fd >= 0)
            ::close(fd);
        flooding = false;
    });
    std::thread others([&] {
        const int sink = connectTcp(sup.port());
        const std::string modules = pad("/modules") + pad(",");
        for (int i = 0; i < 300 && sink >= 0; ++i) {
            sendAll(sink, be32(std::uint32_t(modules.size())) + modules);
            std::this_thread::sleep_for(2ms);
        }
        const int liar = connectTcp(sup.port());
        sendAll(liar, be32(0x7fffffffu) + pad("/patch/load") + std::string(4096, 'j'));
        const int slip = connectTcp(sup.port());
        std::mt19937 rng(11);
        std::string garbage = "\xC0";
        for (int i = 0; i < 20000; ++i)
            garbage.push_back(char(rng()));
        sendAll(slip, garbage);
        std::this_thread::sleep_for(1500ms);
        for (int fd : {sink, liar, slip})
            if (fd >= 0)
                ::close(fd);
    });

    std::vector<double> udpMs, tcpMs;
    int unanswered = 0;
    const auto until = std::chrono::steady_clock::now() + 2500ms;
    while (flooding || std::chrono::steady_clock::now() < until) {
        for (auto *c : {&**udp, &**tcp}) {
            const auto t0 = std::chrono::steady_clock::now();
            auto pong = c->request("/ping", {std::int32_t(udpMs.size())}, 1000);
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (!pong || pong->address != "/pong")
                ++unanswered;
            else
                (c == &**udp ? udpMs : tcpMs).push_back(ms);
        }
        std::this_thread::sleep_for(10ms);
    }
    flooder.join();
    others.join();
    ASSERT_GT(udpMs.size(), 50u);
    ASSERT_GT(tcpMs.size(), 50u);
    for (auto *v : {&udpMs, &tcpMs}) {
        std::sort(v->begin(), v->end());
        std::printf("%s ping during the TCP flood: %zu answered, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                    v == &udpMs ? "UDP" : "TCP", v->size(), (*v)[v->size() / 2], (*v)[v->size() * 99 / 100], v->back());
        EXPECT_LT(v->back(), 50.0) << "a ping waited behind the TCP flood";
    }
    EXPECT_EQ(unanswered, 0);

    auto done = command(**tcp, "/mod/a/freq", {330.0f});
    ASSERT_TRUE(done);
    EXPECT_EQ(done->address, "/done");
    const auto st = status(**udp);
    ASSERT_TRUE(st);
    EXPECT_GT(num(*st, "rejected"), 100) << "hostile commands were answered /fail";
    EXPECT_EQ(sup.stop(), 0) << sup.log();
}
