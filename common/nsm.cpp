#include "common/nsm.hpp"

#include "common/log.hpp"
#include "common/service_notify.hpp"

#include <lo/lo.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace chronus {

namespace {
constexpr int kApiMajor = 1;
constexpr int kApiMinor = 1;
// API 1.1 names ERR_SAVE_FAILED without giving it a number, so failures answer ERR_GENERAL.
constexpr int kErrGeneral = -1;

void quietError(int, const char *, const char *) {}
} // namespace

Expected<std::unique_ptr<NsmClient>> NsmClient::fromEnvironment()
{
    const char *url = std::getenv("NSM_URL");
    if (!url || !*url)
        return std::unique_ptr<NsmClient>();
    return connect(url);
}

Expected<std::unique_ptr<NsmClient>> NsmClient::connect(const std::string &url)
{
    std::unique_ptr<NsmClient> c(new NsmClient);
    lo_address target = lo_address_new_from_url(url.c_str());
    if (!target)
        return fail("NSM_URL '" + url + "' is not an OSC URL");
    c->nsmd_ = target;
    lo_server srv = lo_server_new_with_proto(nullptr, LO_UDP, quietError);
    if (!srv)
        return fail("cannot open a UDP socket to talk to the session manager");
    lo_server_enable_queue(srv, 0, 1);
    c->server_ = srv;
    lo_server_add_method(srv, nullptr, nullptr, reinterpret_cast<lo_method_handler>(&NsmClient::dispatch), c.get());
    return c;
}

NsmClient::~NsmClient()
{
    if (server_)
        lo_server_free(static_cast<lo_server>(server_));
    if (nsmd_)
        lo_address_free(static_cast<lo_address>(nsmd_));
}

bool NsmClient::announce(const std::string &appName, const std::string &capabilities, const std::string &executable)
{
    return lo_send_from(static_cast<lo_address>(nsmd_), static_cast<lo_server>(server_), LO_TT_IMMEDIATE,
                        "/nsm/server/announce", "sssiii", appName.c_str(), capabilities.c_str(), executable.c_str(),
                        kApiMajor, kApiMinor, static_cast<int>(getpid())) >= 0;
}

void NsmClient::poll(int timeoutMs)
{
    lo_server_recv_noblock(static_cast<lo_server>(server_), timeoutMs);
    while (lo_server_recv_noblock(static_cast<lo_server>(server_), 0) > 0) {
    }
}

std::optional<NsmClient::Session> NsmClient::waitForOpen(int timeoutMs)
{
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (!session_ && std::chrono::steady_clock::now() < end)
        poll(50);
    return session_;
}

int NsmClient::dispatch(const char *path, const char *types, void **argv, int argc, void *, void *selfPtr)
{
    auto *self = static_cast<NsmClient *>(selfPtr);
    auto *srv = static_cast<lo_server>(self->server_);
    auto *to = static_cast<lo_address>(self->nsmd_);
    auto *args = reinterpret_cast<lo_arg **>(argv);
    const std::string p = path;
    auto str = [&](int i) { return i < argc && types[i] == 's' ? std::string(reinterpret_cast<const char *>(args[i])) : std::string(); };

    if (p == "/nsm/client/open" && argc >= 3) {
        Session s{str(0), str(1), str(2)};
        auto result = self->open_ ? self->open_(s) : Expected<void>{};
        if (result) {
            self->session_ = s;
            lo_send_from(to, srv, LO_TT_IMMEDIATE, "/reply", "ss", "/nsm/client/open", "opened");
        } else {
            lo_send_from(to, srv, LO_TT_IMMEDIATE, "/error", "sis", "/nsm/client/open", kErrGeneral,
                         result.error().c_str());
        }
    } else if (p == "/nsm/client/save") {
        auto result = self->save_ ? self->save_() : Expected<void>{};
        if (result)
            lo_send_from(to, srv, LO_TT_IMMEDIATE, "/reply", "ss", "/nsm/client/save", "saved");
        else
            lo_send_from(to, srv, LO_TT_IMMEDIATE, "/error", "sis", "/nsm/client/save", kErrGeneral,
                         result.error().c_str());
    } else if (p == "/reply" && str(0) == "/nsm/server/announce") {
        self->serverName_ = str(2).empty() ? "nsm" : str(2);
    } else if (p == "/error" && str(0) == "/nsm/server/announce") {
        self->announceError_ = argc >= 3 && types[2] == 's' ? str(2) : "refused";
    }
    return 0;
}

Expected<std::unique_ptr<NsmClient>> joinNsmSession(const NsmJoinConfig &config, NsmClient::OpenHandler open,
                                                    const std::atomic<bool> &quit)
{
    auto nsm = NsmClient::fromEnvironment();
    if (!nsm)
        return fail("NSM_URL is set but unusable: " + nsm.error());
    std::unique_ptr<NsmClient> client = std::move(*nsm);
    if (!client)
        return client;

    NsmClient *self = client.get(); // the client owns the handlers, so it outlives them
    // One session per run: the same one again is fine (a manager may re-send it), another
    // one is refused.
    auto sameSessionOnly = [self, refusal = config.program + " cannot switch sessions; restart it"](
                               const NsmClient::Session &s) -> Expected<void> {
        if (self->session() && self->session()->path == s.path)
            return {};
        return fail(refusal);
    };
    std::string openError;
    client->onOpen([&, sameSessionOnly](const NsmClient::Session &s) -> Expected<void> {
        if (self->session())
            return sameSessionOnly(s);
        auto opened = open(s);
        if (!opened)
            openError = opened.error();
        return opened;
    });
    if (!client->announce(config.appName, "", config.executable))
        return fail("cannot send the announce to the session manager at $NSM_URL");
    if (config.openTimeout)
        log::info("NSM: announced; waiting up to ", config.openTimeout->count(), " s for the session to open");
    else
        log::info("NSM: announced; waiting for the session to open");
    service::status("waiting for the session manager to open a session");

    const auto deadline = config.openTimeout ? std::chrono::steady_clock::now() + *config.openTimeout
                                             : std::chrono::steady_clock::time_point::max();
    while (!quit.load() && !client->session() && client->announceError().empty() && openError.empty() &&
           std::chrono::steady_clock::now() < deadline)
        client->waitForOpen(100);
    // The handler above refers to this frame; from now on only the session is checked.
    client->onOpen(sameSessionOnly);
    if (quit.load())
        return client;
    if (!client->announceError().empty())
        return fail("the session manager refused the announce: " + client->announceError());
    if (!openError.empty())
        return fail("cannot open the session: " + openError);
    if (!client->session())
        return fail(log::cat("NSM_URL is set but the session manager sent no /nsm/client/open within ",
                             config.openTimeout->count(), " s; exiting"));
    return client;
}

} // namespace chronus
