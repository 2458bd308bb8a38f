#include "common/jack_client.hpp"

#include "common/log.hpp"

#include <cstdlib>
#include <ctime>
#include <limits>
#include <cstring>

namespace chronus {

namespace {
// libjack prints its own chatter on stderr; keep it out of our logs unless debugging.
void quietJackInfo(const char *) {}
void jackError(const char *msg) { log::debug("jack: ", msg); }
} // namespace

Expected<std::unique_ptr<JackClient>> JackClient::open(const std::string &name, const std::string &serverName)
{
    std::unique_ptr<JackClient> c(new JackClient());
    c->server_ = serverName;
    if (c->server_.empty())
        if (const char *env = std::getenv("JACK_DEFAULT_SERVER"); env && *env)
            c->server_ = env;
    if (c->server_.empty())
        c->server_ = "default";

    jack_set_info_function(quietJackInfo);
    jack_set_error_function(jackError);
    jack_status_t status{};
    c->client_ = jack_client_open(name.c_str(), jack_options_t(JackNoStartServer | JackServerName | JackUseExactName),
                                  &status, c->server_.c_str());
    if (!c->client_) {
        if (status & JackNameNotUnique)
            return fail(log::cat("a JACK client named '", name, "' already exists on server '", c->server_, "'"));
        if (status & (JackServerFailed | JackServerError))
            return fail(log::cat("no JACK server named '", c->server_, "' is running (set JACK_DEFAULT_SERVER or start jackd)"));
        return fail(log::cat("cannot open JACK client '", name, "' on server '", c->server_, "' (status 0x", std::hex,
                             int(status), ")"));
    }
    jack_on_info_shutdown(c->client_, &JackClient::onShutdown, c.get());
    return c;
}

JackClient::~JackClient()
{
    if (client_) {
        if (!serverGone())
            jack_deactivate(client_);
        jack_client_close(client_);
    }
}

void JackClient::onShutdown(jack_status_t, const char *reason, void *arg)
{
    // Runs like a signal handler: copy and flag, nothing else.
    auto *self = static_cast<JackClient *>(arg);
    if (reason)
        std::strncpy(self->reason_, reason, sizeof self->reason_ - 1);
    self->gone_.store(true, std::memory_order_release);
}

std::string JackClient::shutdownReason() const { return reason_; }

std::int64_t wallMinusJackMicros()
{
    std::int64_t best = 0, tightest = std::numeric_limits<std::int64_t>::max();
    for (int attempt = 0; attempt < 5 && tightest > 20; ++attempt) {
        timespec ts{};
        const auto j0 = static_cast<std::int64_t>(jack_get_time());
        ::clock_gettime(CLOCK_REALTIME, &ts);
        const auto j1 = static_cast<std::int64_t>(jack_get_time());
        if (j1 - j0 < tightest) {
            tightest = j1 - j0;
            best = std::int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000 - (j0 + (j1 - j0) / 2);
        }
    }
    return best;
}

} // namespace chronus
