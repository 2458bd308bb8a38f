// common/osc's TCP server, byte by byte from raw sockets: size-prefixed (OSC 1.0, as liblo
// sends) and SLIP (OSC 1.1) framing, packets split and joined across reads, the size cap,
// answers given after the handler returned (and dropped quietly when the peer has gone),
// the allow list, and fairness towards a client that floods or never reads.
#include "common/osc.hpp"

#include <gtest/gtest.h>

#include <lo/lo.h>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <thread>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace chronus;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// One OSC message, encoded by liblo.
std::string encode(const std::string &address, const std::vector<osc::Arg> &args = {})
{
    lo_message m = lo_message_new();
    for (const osc::Arg &a : args) {
        if (const auto *i = std::get_if<std::int32_t>(&a))
            lo_message_add_int32(m, *i);
        else if (const auto *s = std::get_if<std::string>(&a))
            lo_message_add_string(m, s->c_str());
    }
    std::size_t size = lo_message_length(m, address.c_str());
    std::string out(size, '\0');
    lo_message_serialise(m, address.c_str(), out.data(), &size);
    lo_message_free(m);
    return out;
}

std::string sizeFramed(const std::string &packet)
{
    const std::uint32_t n = htonl(std::uint32_t(packet.size()));
    return std::string(reinterpret_cast<const char *>(&n), 4) + packet;
}

std::string slipFramed(const std::string &packet)
{
    std::string out(1, char(0xC0));
    for (const char c : packet) {
        if (static_cast<unsigned char>(c) == 0xC0)
            out += "\xDB\xDC";
        else if (static_cast<unsigned char>(c) == 0xDB)
            out += "\xDB\xDD";
        else
            out += c;
    }
    return out + char(0xC0);
}

// A received answer: its address and arguments (strings and int32s).
struct Answer {
    std::string address;
    std::vector<osc::Arg> args;
    std::string first() const { return args.empty() ? "" : std::holds_alternative<std::string>(args[0]) ? std::get<std::string>(args[0]) : ""; }
};

std::optional<Answer> decode(std::string packet)
{
    int result = 0;
    lo_message m = lo_message_deserialise(packet.data(), packet.size(), &result);
    if (!m)
        return std::nullopt;
    Answer a{packet.c_str(), {}};
    const char *types = lo_message_get_types(m);
    lo_arg **argv = lo_message_get_argv(m);
    for (int i = 0; i < lo_message_get_argc(m); ++i) {
        // liblo's arguments are 4-byte aligned, its lo_arg union 8: read the bytes, not the
        // union's members (UBSan: misaligned member access).
        const char *at = reinterpret_cast<const char *>(argv[i]);
        if (types[i] == 's') {
            a.args.emplace_back(std::string(at));
        } else if (types[i] == 'i') {
            std::int32_t v = 0;
            std::memcpy(&v, at, sizeof v);
            a.args.emplace_back(v);
        } else {
            a.args.emplace_back(std::monostate{});
        }
    }
    lo_message_free(m);
    return a;
}

// A server on any free port, polled by the test itself (one thread: the test may call
// send() between polls, as the control loop does). It echoes `/done <address> args...`
// unless the address is /hold (kept, to be answered later) or /big (answered with `n`
// bytes of text).
struct TcpServer {
    std::unique_ptr<osc::Server> server;
    std::vector<osc::Message> received;
    std::vector<osc::Peer> held;

    TcpServer()
    {
        auto s = osc::Server::open(0, true, [this](const osc::Message &m) {
            received.push_back(m);
            if (m.address == "/hold") {
                held.push_back(m.peer());
            } else if (m.address == "/big") {
                server->reply(m, "/done", {m.address, std::string(std::size_t(m.intAt(0).value_or(0)), 'x')});
            } else {
                std::vector<osc::Arg> args{m.address};
                args.insert(args.end(), m.args.begin(), m.args.end());
                server->reply(m, "/done", args);
            }
        });
        if (!s)
            throw std::runtime_error(s.error());
        server = std::move(*s);
    }
    // Polls for `ms` (at least once).
    void pump(int ms = 20)
    {
        const auto until = Clock::now() + std::chrono::milliseconds(ms);
        do
            server->poll(1);
        while (Clock::now() < until);
    }
};

// A raw TCP client (from `from`, default loopback) that reads answers in either framing.
struct RawClient {
    int fd = -1;
    std::string in;

    explicit RawClient(int port, const char *from = nullptr)
    {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (from) {
            sockaddr_in local{};
            local.sin_family = AF_INET;
            inet_pton(AF_INET, from, &local.sin_addr);
            if (::bind(fd, reinterpret_cast<sockaddr *>(&local), sizeof local) != 0)
                throw std::runtime_error("cannot bind a client to " + std::string(from));
        }
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(std::uint16_t(port));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) != 0)
            throw std::runtime_error("cannot connect");
    }
    ~RawClient() { close(); }
    void close()
    {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
    void write(const std::string &bytes) const { ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size())); }
    // Reads what has arrived without waiting; false at end of stream or on error.
    bool readSome()
    {
        char buffer[65536];
        for (;;) {
            const ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (got > 0)
                in.append(buffer, std::size_t(got));
            else
                return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
    }
    // The next size-framed packet, if one has arrived whole.
    std::optional<std::string> sizePacket()
    {
        if (in.size() < 4)
            return std::nullopt;
        std::uint32_t n = 0;
        std::memcpy(&n, in.data(), 4);
        n = ntohl(n);
        if (in.size() < 4 + n)
            return std::nullopt;
        std::string p = in.substr(4, n);
        in.erase(0, 4 + n);
        return p;
    }
    // The next SLIP packet, if one has arrived whole (END-delimited; empty ones skipped).
    std::optional<std::string> slipPacket()
    {
        std::size_t start = 0;
        while (start < in.size() && static_cast<unsigned char>(in[start]) == 0xC0)
            ++start;
        const auto end = in.find(char(0xC0), start);
        if (start == in.size() || end == std::string::npos)
            return std::nullopt;
        const std::string raw = in.substr(start, end - start);
        in.erase(0, end); // the closing END may open the next packet
        std::string p;
        for (std::size_t i = 0; i < raw.size(); ++i)
            if (static_cast<unsigned char>(raw[i]) == 0xDB && i + 1 < raw.size())
                p += static_cast<unsigned char>(raw[++i]) == 0xDC ? char(0xC0) : char(0xDB);
            else
                p += raw[i];
        return p;
    }
    // Polls `server` until an answer arrives (size framing unless `slip`) or `ms` pass.
    std::optional<Answer> await(TcpServer &server, int ms = 1000, bool slip = false)
    {
        const auto until = Clock::now() + std::chrono::milliseconds(ms);
        while (Clock::now() < until) {
            server.server->poll(1);
            readSome();
            if (auto p = slip ? slipPacket() : sizePacket())
                return decode(*p);
        }
        return std::nullopt;
    }
    // Polls `server` until this connection reaches its end (true) or `ms` pass.
    bool awaitEnd(TcpServer &server, int ms = 3000)
    {
        const auto until = Clock::now() + std::chrono::milliseconds(ms);
        while (Clock::now() < until) {
            server.server->poll(1);
            if (!readSome())
                return true;
        }
        return false;
    }
};

} // namespace

TEST(OscTcp, ASizePrefixedMessageIsAnsweredSizePrefixedOnItsConnection)
{
    TcpServer s;
    RawClient c(s.server->port());
    c.write(sizeFramed(encode("/x/y", {std::int32_t(7), std::string("seven")})));
    auto a = c.await(s);
    ASSERT_TRUE(a) << "no answer";
    EXPECT_EQ(a->address, "/done");
    ASSERT_EQ(a->args.size(), 3u);
    EXPECT_EQ(a->first(), "/x/y");
    EXPECT_EQ(std::get<std::int32_t>(a->args[1]), 7);
    ASSERT_EQ(s.received.size(), 1u);
    EXPECT_EQ(s.received[0].protocol, osc::Protocol::Tcp);
    EXPECT_NE(s.received[0].connection, 0u);
    EXPECT_EQ(s.received[0].senderUrl.rfind("osc.tcp://127.0.0.1:", 0), 0u) << s.received[0].senderUrl;
}

TEST(OscTcp, ASlipFramedStreamIsAnsweredInSlipWithSpecialBytesEscaped)
{
    TcpServer s;
    RawClient c(s.server->port());
    // 0xC0DB00C0 holds both SLIP specials; on the wire they travel escaped both ways.
    const std::int32_t special = std::int32_t(0xC0DB00C0u);
    c.write(slipFramed(encode("/slip", {special})));
    auto a = c.await(s, 1000, true);
    ASSERT_TRUE(a) << "no SLIP answer (got " << c.in.size() << " bytes)";
    EXPECT_EQ(a->first(), "/slip");
    ASSERT_EQ(a->args.size(), 2u);
    EXPECT_EQ(std::get<std::int32_t>(a->args[1]), special);
    // OSC 1.1's double END between packets is no packet.
    c.write(slipFramed(encode("/again")) + char(0xC0) + slipFramed(encode("/more")));
    auto b = c.await(s, 1000, true);
    auto d = c.await(s, 1000, true);
    ASSERT_TRUE(b && d);
    EXPECT_EQ(b->first(), "/again");
    EXPECT_EQ(d->first(), "/more");
    EXPECT_EQ(s.received.size(), 3u);
}

TEST(OscTcp, AMessageSplitAcrossReadsIsDispatchedOnceWhole)
{
    TcpServer s;
    RawClient c(s.server->port());
    const std::string bytes = sizeFramed(encode("/split/message", {std::string("a longer argument")}));
    // Cut inside the size prefix, then inside the body.
    for (const auto &[from, to] : {std::pair<std::size_t, std::size_t>{0, 2}, {2, 9}, {9, bytes.size()}}) {
        EXPECT_TRUE(s.received.empty()) << "dispatched before it was whole";
        c.write(bytes.substr(from, to - from));
        s.pump(30);
    }
    auto a = c.await(s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->first(), "/split/message");
    EXPECT_EQ(s.received.size(), 1u);
}

TEST(OscTcp, TwoMessagesInOneWriteAreBothDispatchedInOrder)
{
    TcpServer s;
    RawClient c(s.server->port());
    c.write(sizeFramed(encode("/one")) + sizeFramed(encode("/two")));
    auto a = c.await(s);
    auto b = c.await(s);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->first(), "/one");
    EXPECT_EQ(b->first(), "/two");
}

TEST(OscTcp, AMessageOverTheLimitIsRefusedWithFailAndItsConnectionClosed)
{
    TcpServer s;
    RawClient c(s.server->port());
    // The size says one byte too many; the first bytes of the body name its address.
    const std::uint32_t n = htonl(std::uint32_t(osc::kMaxTcpMessageBytes + 1));
    c.write(std::string(reinterpret_cast<const char *>(&n), 4) + encode("/patch/load", {std::string(60000, 'j')}));
    auto a = c.await(s);
    ASSERT_TRUE(a) << "no /fail";
    EXPECT_EQ(a->address, "/fail");
    EXPECT_EQ(a->first(), "/patch/load");
    ASSERT_EQ(a->args.size(), 2u);
    EXPECT_NE(std::get<std::string>(a->args[1]).find("over the limit"), std::string::npos);
    EXPECT_TRUE(c.awaitEnd(s)) << "the connection stayed open";
    EXPECT_TRUE(s.received.empty());
    EXPECT_EQ(s.server->malformedPackets(), 1u);
    // Others are served as before.
    RawClient other(s.server->port());
    other.write(sizeFramed(encode("/ping")));
    ASSERT_TRUE(other.await(s));
}

TEST(OscTcp, AMalformedPacketIsAnsweredWithFailAndTheConnectionKeepsWorking)
{
    TcpServer s;
    RawClient c(s.server->port());
    c.write(sizeFramed(std::string("/bad\0\0\0\0,i\0\0", 12)) + sizeFramed(encode("/good")));
    auto a = c.await(s);
    auto b = c.await(s);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->address, "/fail");
    EXPECT_EQ(a->first(), "/bad");
    EXPECT_EQ(b->first(), "/good");
}

TEST(OscTcp, AnAnswerCanGoOutAfterTheHandlerReturnedAndABundleKeepsItsTimetag)
{
    TcpServer s;
    auto client = osc::Client::open(osc::Protocol::Tcp, "127.0.0.1", s.server->port());
    ASSERT_TRUE(client) << client.error();
    const std::uint64_t tag = (std::uint64_t(time(nullptr) + 2208988800u + 3600) << 32) | 0x40000000u;
    ASSERT_TRUE((*client)->sendBundle(tag, "/hold", {std::int32_t(1)}));
    const auto until = Clock::now() + 2s;
    while (s.held.empty() && Clock::now() < until)
        s.server->poll(1);
    ASSERT_EQ(s.held.size(), 1u);
    ASSERT_EQ(s.received.size(), 1u);
    EXPECT_EQ(s.received[0].timetag, tag);
    s.pump(50); // the handler returned long ago
    EXPECT_FALSE((*client)->receive(0));
    ASSERT_TRUE(s.server->send(s.held[0], "/done", {std::string("/hold"), std::int32_t(42)}));
    std::optional<osc::Message> r;
    for (int i = 0; i < 100 && !r; ++i) {
        s.server->poll(1);
        r = (*client)->receive(10);
    }
    ASSERT_TRUE(r) << "the later answer never arrived";
    EXPECT_EQ(r->stringAt(0), "/hold");
    EXPECT_EQ(r->intAt(1), 42);
}

TEST(OscTcp, AnAnswerForAPeerThatHasGoneIsDroppedQuietly)
{
    TcpServer s;
    auto c = std::make_unique<RawClient>(s.server->port());
    c->write(sizeFramed(encode("/hold")));
    s.pump(30);
    ASSERT_EQ(s.held.size(), 1u);
    EXPECT_EQ(s.server->tcpConnections(), 1u);
    c.reset(); // hangs up before its answer
    const auto until = Clock::now() + 2s;
    while (s.server->tcpConnections() > 0 && Clock::now() < until)
        s.server->poll(1);
    EXPECT_EQ(s.server->tcpConnections(), 0u);
    // A newcomer (who may get the same port and descriptor) must not hear the old answer.
    RawClient newcomer(s.server->port());
    s.pump(20);
    EXPECT_FALSE(s.server->send(s.held[0], "/done", {std::string("/hold")}));
    newcomer.write(sizeFramed(encode("/mine")));
    auto a = newcomer.await(s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->first(), "/mine") << "got someone else's answer";
}

TEST(OscTcp, APeerNotOnTheAllowListIsNeitherAnsweredNorHeard)
{
    TcpServer s;
    s.server->setAllowed(*osc::AllowList::parse("127.0.0.2/32"));
    {
        RawClient outsider(s.server->port(), "127.0.0.1");
        outsider.write(sizeFramed(encode("/ping")));
        EXPECT_TRUE(outsider.awaitEnd(s, 1000)) << "the connection was kept";
        EXPECT_TRUE(outsider.in.empty());
    }
    EXPECT_TRUE(s.received.empty());
    EXPECT_EQ(s.server->refusedPackets(), 1u);
    RawClient insider(s.server->port(), "127.0.0.2");
    insider.write(sizeFramed(encode("/ping")));
    ASSERT_TRUE(insider.await(s));
}

TEST(OscTcp, AFloodingConnectionCannotKeepAnotherWaiting)
{
    TcpServer s;
    RawClient flood(s.server->port());
    RawClient quiet(s.server->port());
    s.pump(10);
    std::string burst;
    for (int i = 0; i < 20000; ++i)
        burst += sizeFramed(encode("/flood", {std::int32_t(i)}));
    flood.write(burst.substr(0, 200000)); // as much as the socket takes at once
    quiet.write(sizeFramed(encode("/quiet")));
    // Both arrive before the next poll: the quiet one is among the first round.
    std::this_thread::sleep_for(20ms);
    ASSERT_GT(s.server->poll(0), 0);
    const auto it = std::find_if(s.received.begin(), s.received.end(), [](const auto &m) { return m.address == "/quiet"; });
    ASSERT_NE(it, s.received.end()) << "the quiet client waited behind " << s.received.size() << " flood messages";
    EXPECT_LE(it - s.received.begin(), 2);
    EXPECT_LT(s.received.size(), 200u) << "one poll took the whole flood";
}

TEST(OscTcp, APeerThatNeverReadsItsAnswersIsDroppedWithoutHoldingUpThePoll)
{
    TcpServer s;
    RawClient sink(s.server->port());
    int rcv = 4096;
    ::setsockopt(sink.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    // Answers of 1 MiB each, never read: after kMaxTcpOutputBytes plus what the kernel
    // buffers, the connection goes. Until then every poll returns at once (the work of
    // one answer), never waiting for the reader.
    auto slowest = Clock::duration::zero();
    for (int i = 0; i < 64 && s.server->droppedConnections() == 0; ++i) {
        sink.write(sizeFramed(encode("/big", {std::int32_t(1 << 20)})));
        for (int n = 0; n < 3; ++n) {
            const auto t0 = Clock::now();
            s.server->poll(1);
            slowest = std::max(slowest, Clock::now() - t0);
        }
    }
    EXPECT_EQ(s.server->droppedConnections(), 1u);
    EXPECT_LT(slowest, 250ms) << "a poll waited for the reader (or took far too long over one answer)";
    s.pump(20);
    EXPECT_EQ(s.server->tcpConnections(), 0u);
}
