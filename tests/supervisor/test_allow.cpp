// --allow on a live supervisor: a sender outside the allowed networks (127.0.0.2 stands for
// another host) gets no answer and changes nothing; it is counted in /status. The unit half
// checks the networks themselves.
#include "live_fixture.hpp"

#include <fstream>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace chronus::harness;
using namespace std::chrono_literals;
using chronus::osc::AllowList;

// Sends "/ping" from a UDP socket bound to `from`; true when "/pong" comes back in time.
bool pingFrom(const char *from, int port)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, from, &local.sin_addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&local), sizeof local) != 0) {
        if (fd >= 0)
            ::close(fd);
        return false;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(std::uint16_t(port));
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    static const char ping[] = {'/', 'p', 'i', 'n', 'g', 0, 0, 0, ',', 0, 0, 0};
    ::sendto(fd, ping, sizeof ping, 0, reinterpret_cast<sockaddr *>(&to), sizeof to);
    pollfd p{fd, POLLIN, 0};
    char reply[256];
    const bool answered = ::poll(&p, 1, 1000) == 1 && ::recv(fd, reply, sizeof reply, 0) >= 5 &&
                          std::string(reply, 5) == "/pong";
    ::close(fd);
    return answered;
}

class LiveAllow : public LiveSuiteTest {
protected:
    std::vector<std::string> supervisorArgs() const override { return {"--allow", "127.0.0.1/32"}; }
};

} // namespace

TEST(AllowList, NetworksAdmitTheirAddressesOnly)
{
    auto list = AllowList::parse("127.0.0.1/32,192.168.1.0/24");
    ASSERT_TRUE(list) << list.error();
    EXPECT_TRUE(list->allows("127.0.0.1"));
    EXPECT_TRUE(list->allows("::1")) << "IPv6 loopback is 127.0.0.1";
    EXPECT_TRUE(list->allows("192.168.1.200"));
    EXPECT_FALSE(list->allows("127.0.0.2"));
    EXPECT_FALSE(list->allows("192.168.2.1"));
    EXPECT_FALSE(list->allows(nullptr));
    EXPECT_TRUE(AllowList::loopback().allows("127.3.4.5"));
    EXPECT_TRUE(AllowList::parse("0.0.0.0/0")->allows("8.8.8.8"));
    for (const char *bad : {"", "10.0.0.0/33", "10.0.0/8", "example.org", "10.0.0.0/8,", "1.2.3.4/x"})
        EXPECT_FALSE(AllowList::parse(bad)) << bad;
}

TEST_F(LiveAllow, ASenderOutsideTheAllowedNetworksIsNeitherAnsweredNorObeyed)
{
    EXPECT_TRUE(pingFrom("127.0.0.1", sup.port())) << "the allowed address is answered";
    EXPECT_FALSE(pingFrom("127.0.0.2", sup.port())) << "another address was answered";
    EXPECT_FALSE(pingFrom("127.0.0.2", sup.port()));
    const auto st = status(*client);
    ASSERT_TRUE(st);
    EXPECT_GE(num(*st, "refused_packets"), 2);
    EXPECT_NE(sup.log().find("ignoring packets from 127.0.0.2"), std::string::npos) << "logged once";
}

namespace {

// This machine's first IPv4 address that is not loopback ("" when it has none): a sender
// bound to it counts as another machine.
std::string outsideAddress()
{
    ifaddrs *list = nullptr;
    if (::getifaddrs(&list) != 0)
        return "";
    std::string found;
    for (ifaddrs *i = list; i && found.empty(); i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
            char text[INET_ADDRSTRLEN] = {};
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr, text, sizeof text);
            if (std::string(text).rfind("127.", 0) != 0)
                found = text;
        }
    ::freeifaddrs(list);
    return found;
}

// One OSC message with string arguments, encoded by hand.
std::string encode(const std::string &address, const std::vector<std::string> &args)
{
    auto padded = [](std::string s) {
        s.push_back('\0');
        while (s.size() % 4)
            s.push_back('\0');
        return s;
    };
    std::string out = padded(address) + padded("," + std::string(args.size(), 's'));
    for (const auto &a : args)
        out += padded(a);
    return out;
}

// Sends a message from a socket bound to `from` and returns the reply's address and its
// second argument (the reason of a /fail), or "" when nothing came back.
std::string commandFrom(const std::string &from, int port, const std::string &address,
                        const std::vector<std::string> &args)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, from.c_str(), &local.sin_addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&local), sizeof local) != 0) {
        if (fd >= 0)
            ::close(fd);
        return "";
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(std::uint16_t(port));
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    const std::string packet = encode(address, args);
    ::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to);
    std::string got;
    pollfd p{fd, POLLIN, 0};
    char reply[4096];
    if (::poll(&p, 1, 6000) == 1) {
        const ssize_t n = ::recv(fd, reply, sizeof reply, 0);
        if (n > 0) {
            const std::string data(reply, std::size_t(n));
            got = data.substr(0, data.find('\0'));
            // The reason: the printable text after the echoed address, if any.
            const auto at = data.find("from another machine");
            if (at != std::string::npos) // up to where it names the directory
                got += " " + data.substr(at, std::min(data.find('\0', at), data.find(" (", at)) - at);
        }
    }
    ::close(fd);
    return got;
}

class LiveRemote : public LiveSuiteTest {
protected:
    std::vector<std::string> supervisorArgs() const override
    {
        return {"--allow", "127.0.0.0/8," + outsideAddress() + "/32", "--patch-dir", (dir.path / "patches").string()};
    }
};

} // namespace

// Another machine may play, and load and save patches in the patch directory; it cannot make
// the supervisor read any other file (a patch, a sample, a voice template), however named.
TEST_F(LiveRemote, AnotherMachineReadsOnlyFilesInThePatchDirectory)
{
    const std::string outside = outsideAddress();
    ASSERT_FALSE(outside.empty()) << "this machine has no IPv4 address besides loopback to send from";
    const int port = sup.port();
    const auto st = status(*client);
    ASSERT_TRUE(st);
    EXPECT_EQ(str(*st, "allowed"), "127.0.0.0/8," + outside + "/32");

    // A file outside the patch directory, readable by the supervisor.
    const auto secret = dir.path / "secret.json";
    std::ofstream(secret) << R"({"nodes":[{"id":"s","type":"sine"}],"connections":[{"from":"s","to":"output"}]})";
    EXPECT_EQ(commandFrom(outside, port, "/ping", {}), "/pong");
    EXPECT_EQ(commandFrom(outside, port, "/patch/load", {secret.string()}),
              "/fail from another machine, /patch/load reads only files in the patch directory");
    EXPECT_EQ(commandFrom(outside, port, "/patch/load", {"../secret.json"}),
              "/fail from another machine, /patch/load reads only files in the patch directory");
    EXPECT_EQ(commandFrom(outside, port, "/buffer/load", {"hit", secret.string()}),
              "/fail from another machine, /buffer/load reads only files in the patch directory");
    const std::string withVoice = R"({"nodes":[{"id":"p","type":"poly","voice":")" + secret.string() +
                                  R"("}],"connections":[{"from":"p","to":"output"}]})";
    EXPECT_EQ(commandFrom(outside, port, "/patch/load", {withVoice}),
              "/fail from another machine, a voice template reads only files in the patch directory");
    // The same from this machine is obeyed.
    auto local = command(*client, "/patch/load", {secret.string(), 0.0f}, 6000);
    ASSERT_TRUE(local);
    EXPECT_EQ(local->address, "/done") << toString(*local);
    // Saved and loaded back by name, from the other machine.
    EXPECT_EQ(commandFrom(outside, port, "/patch/save", {"mine"}), "/done");
    EXPECT_EQ(commandFrom(outside, port, "/patch/load", {"mine"}), "/done");
}
