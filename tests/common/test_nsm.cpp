// The NSM client against a stand-in session manager: announce, open, save, errors.
#include "nsm.hpp"
#include "osc.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace chronus;

namespace {

struct FakeNsmd {
    std::vector<osc::Message> received;
    std::unique_ptr<osc::Server> server;
    FakeNsmd()
    {
        auto s = osc::Server::open(0, true, [this](const osc::Message &m) { received.push_back(m); });
        EXPECT_TRUE(s) << (s ? "" : s.error());
        server = std::move(*s);
    }
    std::string url() const { return "osc.udp://127.0.0.1:" + std::to_string(server->port()) + "/"; }
    // Waits for a message at `address`, pumping `client` too.
    std::optional<osc::Message> await(NsmClient &client, const std::string &address)
    {
        for (int i = 0; i < 100; ++i) {
            server->poll(10);
            client.poll(10);
            for (auto it = received.begin(); it != received.end(); ++it)
                if (it->address == address) {
                    auto m = *it;
                    received.erase(it);
                    return m;
                }
        }
        return std::nullopt;
    }
};

} // namespace

TEST(Nsm, AnnouncesWithNameCapabilitiesApiVersionAndPid)
{
    FakeNsmd nsmd;
    auto client = NsmClient::connect(nsmd.url());
    ASSERT_TRUE(client) << client.error();
    ASSERT_TRUE((*client)->announce("Chronus", ":switch:", "chronus-supervisor"));
    auto m = nsmd.await(**client, "/nsm/server/announce");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->types, "sssiii");
    EXPECT_EQ(m->stringAt(0), "Chronus");
    EXPECT_EQ(m->stringAt(1), ":switch:");
    EXPECT_EQ(m->intAt(3), 1);
    EXPECT_EQ(m->intAt(5), getpid());
}

TEST(Nsm, OpenCallsTheHandlerAndRepliesAndSaveReportsFailure)
{
    FakeNsmd nsmd;
    auto client = NsmClient::connect(nsmd.url());
    ASSERT_TRUE(client);
    NsmClient::Session seen;
    bool saveOk = true;
    (*client)->onOpen([&](const NsmClient::Session &s) -> Expected<void> {
        seen = s;
        return {};
    });
    (*client)->onSave([&]() -> Expected<void> {
        if (saveOk)
            return {};
        return fail("disk full");
    });
    ASSERT_TRUE((*client)->announce("Chronus", "", "x"));
    auto announce = nsmd.await(**client, "/nsm/server/announce");
    ASSERT_TRUE(announce);
    // The manager answers to the announcing socket.
    const std::string back = announce->senderUrl;
    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/open", {std::string("/tmp/session/Chronus.nABCD"),
                                                                std::string("demo"), std::string("Chronus.nABCD")}));
    auto reply = nsmd.await(**client, "/reply");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->stringAt(0), "/nsm/client/open");
    EXPECT_EQ(seen.clientId, "Chronus.nABCD");
    EXPECT_EQ(seen.path, "/tmp/session/Chronus.nABCD");
    ASSERT_TRUE((*client)->session());

    saveOk = false;
    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/save", {}));
    auto error = nsmd.await(**client, "/error");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->stringAt(0), "/nsm/client/save");
    EXPECT_EQ(error->intAt(1), -1);
    EXPECT_EQ(error->stringAt(2), "disk full");
}

TEST(Nsm, WithoutNsmUrlTheProgramRunsNormally)
{
    unsetenv("NSM_URL");
    auto client = NsmClient::fromEnvironment();
    ASSERT_TRUE(client);
    EXPECT_EQ(client->get(), nullptr);
    setenv("NSM_URL", "not a url", 1);
    EXPECT_FALSE(NsmClient::fromEnvironment());
    unsetenv("NSM_URL");
}
