#include "common/nsm.hpp"

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

} // namespace chronus
