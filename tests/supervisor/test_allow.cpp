// --allow on a live supervisor: a sender outside the allowed networks (127.0.0.2 stands for
// another host) gets no answer and changes nothing; it is counted in /status. The unit half
// checks the networks themselves.
#include "live_fixture.hpp"

#include <arpa/inet.h>
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
