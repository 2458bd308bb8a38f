// common/osc: real OSC over loopback UDP and TCP, replies to the sender, bundles not held.
#include "common/osc.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace chronus;

namespace {

// A server polled on its own thread that echoes every message back as /done <address> args...
struct EchoServer {
    std::unique_ptr<osc::Server> server;
    std::atomic<bool> stop{false};
    std::atomic<int> received{0};
    std::optional<std::uint64_t> lastTimetag;
    std::thread thread;

    EchoServer()
    {
        auto s = osc::Server::open(0, true, [this](const osc::Message &m) {
            ++received;
            lastTimetag = m.timetag;
            std::vector<osc::Arg> args{m.address};
            args.insert(args.end(), m.args.begin(), m.args.end());
            server->reply(m, "/done", args);
        });
        if (!s)
            throw std::runtime_error(s.error());
        server = std::move(*s);
        thread = std::thread([this] {
            while (!stop)
                server->poll(100);
        });
    }
    ~EchoServer()
    {
        stop = true;
        thread.join();
    }
};

void roundTrip(osc::Protocol protocol)
{
    EchoServer echo;
    auto client = osc::Client::open(protocol, "127.0.0.1", echo.server->port());
    ASSERT_TRUE(client) << client.error();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        auto r = (*client)->request("/x/y", {std::int32_t(i), 2.5f, std::string("name"), 1.25, std::int64_t(1) << 40, true},
                                    2000);
        ASSERT_TRUE(r) << "no reply to message " << i;
        EXPECT_EQ(r->address, "/done");
        EXPECT_EQ(r->types, "sifsdhT");
        EXPECT_EQ(r->stringAt(0), "/x/y");
        EXPECT_EQ(r->intAt(1), i);
        EXPECT_EQ(r->numberAt(2), 2.5);
        EXPECT_EQ(r->stringAt(3), "name");
        EXPECT_EQ(r->numberAt(4), 1.25);
        EXPECT_EQ(r->intAt(5), std::int64_t(1) << 40);
        EXPECT_EQ(std::get<bool>(r->args[6]), true);
    }
    EXPECT_EQ(echo.received, 20);
    // Each reply must come back at once (no Nagle/delayed-ACK 40 ms stall per message).
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
}

} // namespace

TEST(OscProtocol, UdpRequestGetsReplyFromTheServerPort) { roundTrip(osc::Protocol::Udp); }

TEST(OscProtocol, TcpRequestGetsReplyOverTheSameConnection) { roundTrip(osc::Protocol::Tcp); }

TEST(OscProtocol, FutureBundleIsDeliveredAtOnceWithItsTimetag)
{
    EchoServer echo;
    auto client = osc::Client::open(osc::Protocol::Udp, "127.0.0.1", echo.server->port());
    ASSERT_TRUE(client);
    // An NTP time about a year ahead: liblo's queue would hold it; ours must not.
    const std::uint64_t tag = (std::uint64_t(time(nullptr) + 2208988800u + 31536000u) << 32) | 0x80000000u;
    ASSERT_TRUE((*client)->sendBundle(tag, "/later", {std::int32_t(7)}));
    auto r = (*client)->receive(1000);
    ASSERT_TRUE(r) << "bundle was held";
    EXPECT_EQ(r->stringAt(0), "/later");
    ASSERT_TRUE(echo.lastTimetag.has_value());
    EXPECT_EQ(*echo.lastTimetag, tag);
}

TEST(OscProtocol, MalformedPacketsAreIgnoredAndTheServerKeepsAnswering)
{
    EchoServer echo;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(std::uint16_t(echo.server->port()));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const char *junk[] = {"garbage", "/no/typetag\0\0\0\0", "#bundle\0\0\0\0", "/a\0\0,i\0\0\0"};
    const std::size_t sizes[] = {7, 16, 12, 9};
    for (int i = 0; i < 4; ++i)
        sendto(fd, junk[i], sizes[i], 0, reinterpret_cast<sockaddr *>(&to), sizeof to);
    close(fd);
    auto client = osc::Client::open(osc::Protocol::Udp, "127.0.0.1", echo.server->port());
    ASSERT_TRUE(client);
    auto r = (*client)->request("/ping", {}, 2000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->stringAt(0), "/ping");
}

TEST(OscProtocol, PortInUseIsAClearError)
{
    EchoServer echo;
    auto second = osc::Server::open(echo.server->port(), true, [](const osc::Message &) {});
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find("in use"), std::string::npos) << second.error();
    EXPECT_NE(second.error().find(std::to_string(echo.server->port())), std::string::npos) << second.error();
}

TEST(OscProtocol, RequestTimesOutWhenNobodyAnswers)
{
    auto quiet = osc::Server::open(0, true, [](const osc::Message &) {});
    ASSERT_TRUE(quiet);
    auto client = osc::Client::open(osc::Protocol::Udp, "127.0.0.1", (*quiet)->port());
    ASSERT_TRUE(client);
    EXPECT_FALSE((*client)->request("/ping", {}, 200));
}
