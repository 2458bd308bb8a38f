// The NSM client against a stand-in session manager: announce, open, save, errors.
#include "harness/standins.hpp"
#include "common/nsm.hpp"
#include "common/osc.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace chronus;

using chronus::harness::FakeNsmd;

namespace {

// Waits for `address` at the stand-in while the client under test handles its traffic.
std::optional<osc::Message> exchange(FakeNsmd &nsmd, NsmClient &client, const std::string &address)
{
    return nsmd.await(address, "", 1000, [&] { client.poll(10); });
}

} // namespace

TEST(Nsm, AnnouncesWithNameCapabilitiesApiVersionAndPid)
{
    FakeNsmd nsmd;
    auto client = NsmClient::connect(nsmd.url());
    ASSERT_TRUE(client) << client.error();
    ASSERT_TRUE((*client)->announce("Chronus", ":switch:", "chronus-supervisor"));
    auto m = exchange(nsmd, **client, "/nsm/server/announce");
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
    auto announce = exchange(nsmd, **client, "/nsm/server/announce");
    ASSERT_TRUE(announce);
    // The manager answers to the announcing socket.
    const std::string back = announce->senderUrl;
    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/open", {std::string("/tmp/session/Chronus.nABCD"),
                                                                std::string("demo"), std::string("Chronus.nABCD")}));
    auto reply = exchange(nsmd, **client, "/reply");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->stringAt(0), "/nsm/client/open");
    EXPECT_EQ(seen.clientId, "Chronus.nABCD");
    EXPECT_EQ(seen.path, "/tmp/session/Chronus.nABCD");
    ASSERT_TRUE((*client)->session());

    saveOk = false;
    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/save", {}));
    auto error = exchange(nsmd, **client, "/error");
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
